"""Who the client talks to and as whom: the auth flow and the instance URL.

A grant's token response names the instance URL, so a client built from a grant learns it
from the first token; an explicit `instance_url` wins (a raw access token needs one).

Clients built from the same grant object (and the same store) share one `SalesforceAuth`,
hence one token state: under Refresh Token Rotation a second client with its own state would
refresh with the seed token the first one already spent, and revoke the family.
"""

from __future__ import annotations

import threading
import weakref

import attrs
import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant
from salesforce_typed.auth.token import TokenStore
from salesforce_typed.core.clock import Clock
from salesforce_typed.core.errors import UsageError

# grant object -> {id(store) or None: its SalesforceAuth}; an entry goes with its grant.
_BY_GRANT: weakref.WeakKeyDictionary[object, dict[int | None, SalesforceAuth]] = (
    weakref.WeakKeyDictionary()
)
_BY_GRANT_MUTEX = threading.Lock()


def _shared_auth(
    grant: TokenGrant | AccessTokenAuth, store: TokenStore | None, clock: Clock
) -> SalesforceAuth:
    """The one `SalesforceAuth` of `grant` on `store` in this process."""
    if isinstance(grant, AccessTokenAuth):
        return SalesforceAuth(grant, store=store, clock=clock)
    with _BY_GRANT_MUTEX:
        try:
            by_store = _BY_GRANT.setdefault(grant, {})
        except TypeError:  # a grant that cannot be weakly referenced: not shared
            return SalesforceAuth(grant, store=store, clock=clock)
        slot = None if store is None else id(store)
        auth = by_store.get(slot)
        if auth is None or (store is not None and auth.store is not store):
            auth = by_store[slot] = SalesforceAuth(grant, store=store, clock=clock)
        return auth


@attrs.define(kw_only=True)
class Connection:
    auth: httpx.Auth
    instance_url: str | None = None

    @classmethod
    def create(
        cls,
        auth: SalesforceAuth | TokenGrant | AccessTokenAuth | httpx.Auth,
        *,
        instance_url: str | None,
        token_store: TokenStore | None,
        clock: Clock,
    ) -> Connection:
        """A grant or raw token gets a `SalesforceAuth` (with `token_store`); a
        `SalesforceAuth` is shared as it is; any other httpx.Auth needs `instance_url`."""
        if isinstance(auth, AccessTokenAuth):
            instance_url = instance_url or auth.instance_url
        if isinstance(auth, httpx.Auth) and not isinstance(auth, SalesforceAuth):
            if instance_url is None:
                raise UsageError("a plain httpx.Auth needs instance_url=")
            return cls(auth=auth, instance_url=instance_url.rstrip("/"))
        flow = auth if isinstance(auth, SalesforceAuth) else _shared_auth(auth, token_store, clock)
        return cls(auth=flow, instance_url=instance_url.rstrip("/") if instance_url else None)

    def get_instance_url(self, client: httpx.Client) -> str:
        if self.instance_url is None and isinstance(self.auth, SalesforceAuth):
            self.instance_url = self.auth.get_token(client).instance_url.rstrip("/")
        if not self.instance_url:
            raise UsageError("no instance URL: pass instance_url= or use a grant")
        return self.instance_url

    async def aget_instance_url(self, client: httpx.AsyncClient) -> str:
        if self.instance_url is None and isinstance(self.auth, SalesforceAuth):
            self.instance_url = (await self.auth.aget_token(client)).instance_url.rstrip("/")
        if not self.instance_url:
            raise UsageError("no instance URL: pass instance_url= or use a grant")
        return self.instance_url
