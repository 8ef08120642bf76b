"""Who the client talks to and as whom: the auth flow and the instance URL.

A grant's token response names the instance URL, so a client built from a grant learns it
from the first token; an explicit `instance_url` wins (a raw access token needs one).
"""

from __future__ import annotations

import attrs
import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant
from salesforce_typed.auth.token import TokenStore
from salesforce_typed.core.clock import Clock
from salesforce_typed.core.errors import UsageError


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
        flow = (
            auth
            if isinstance(auth, SalesforceAuth)
            else SalesforceAuth(auth, store=token_store, clock=clock)
        )
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
