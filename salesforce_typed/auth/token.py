"""The token a client holds, and the store protocol replicas share it through.

What must stay true:
- Tokens never reach a repr, a log line or an exception message: `TokenData.__repr__`
  shows fingerprints (a hash prefix), which is enough to tell two tokens apart in logs.
- `version` fences writes: a replica writes only over the version it read
  (`set_token_data(expected_version=...)`), so a stale refresher cannot overwrite a newer
  rotated refresh token.
- Salesforce sends no `expires_in`: `expires_at` is an estimate from the org's session
  timeout, which the grant is configured with.

One `TokenStore` protocol carries sync methods and their async twins (`a`-prefixed, like
httpx's `close`/`aclose`): the sync client and the async CDC listener share one store object,
and a Redis/PostgreSQL store implements both over its sync and asyncio drivers.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs

__all__ = ["KEY_PREFIX", "TokenData", "TokenStore", "fingerprint", "token_key"]

KEY_PREFIX = "salesforce-typed:token"


def fingerprint(secret: str | None) -> str:
    """A short, stable, non-reversible tag for a secret, for logs and reprs."""
    if secret is None:
        return "None"
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:10]


def token_key(instance_or_login_url: str, client_id: str, username_or_subject: str) -> str:
    """The store key for one (login or instance URL, connected app, user).

    Salesforce allows one in-flight refresh per such triple, so every replica sharing a
    refresh token must compute the same key and unrelated users or apps must never collide.
    The URL is reduced to scheme and host (a token URL and its login URL give the same key)
    and kept readable for operators; client id and subject are hashed to a fixed length.
    """
    raw = instance_or_login_url.strip()
    parts = urlsplit(raw if "//" in raw else f"https://{raw}")
    host = (parts.hostname or raw).lower()
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    scheme = (parts.scheme or "https").lower()
    identity = "\n".join((f"{scheme}://{host}", client_id, username_or_subject))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{host}:{digest}"


@attrs.frozen(kw_only=True, slots=True)
class TokenData:
    """An access token, the refresh token that goes with it, and when they were issued.

    Times are wall-clock seconds since the epoch. `version` increases by one on every write
    to a store (the first stored token is version 1).
    """

    access_token: str = attrs.field(repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    instance_url: str
    issued_at: float
    expires_at: float
    last_refreshed_at: float
    version: int = 0

    def expires_within(self, seconds: float, now: float) -> bool:
        """True when the token is expired or will be within `seconds` of `now`."""
        return now >= self.expires_at - seconds

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping for stores that serialise (it holds the secrets)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "instance_url": self.instance_url,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "last_refreshed_at": self.last_refreshed_at,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenData:
        refresh = data.get("refresh_token")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=None if refresh is None else str(refresh),
            instance_url=str(data["instance_url"]),
            issued_at=float(data["issued_at"]),
            expires_at=float(data["expires_at"]),
            last_refreshed_at=float(data["last_refreshed_at"]),
            version=int(data["version"]),
        )

    def __repr__(self) -> str:
        return (
            f"TokenData(access_token={fingerprint(self.access_token)}, "
            f"refresh_token={fingerprint(self.refresh_token)}, "
            f"instance_url={self.instance_url!r}, issued_at={self.issued_at!r}, "
            f"expires_at={self.expires_at!r}, last_refreshed_at={self.last_refreshed_at!r}, "
            f"version={self.version!r})"
        )


@runtime_checkable
class TokenStore(Protocol):
    """Shared token state and a leased lock, keyed by `stores.token_key(...)`.

    Contract (checked by `tests/stores/contract.py` for every implementation):
    - `acquire_lock` succeeds only when no unexpired lock exists for `key`, whoever holds it
      (not re-entrant); the lease ends by itself after `ttl_s`.
    - `release_lock` deletes the lock only if `owner` still holds it, and says whether it did.
    - `renew_lock` extends the lease to `ttl_s` from now only if `owner` still holds an
      unexpired lock, and says whether it did: a refresher heartbeats while its token call
      and store write are in flight, and one that lost its lock stops before writing.
    - `set_token_data` is a compare-and-set on `version`: it writes `data` as given only when
      the stored version equals `expected_version` (`None`: only when nothing is stored),
      and returns False otherwise. Callers bump `data.version` themselves.
    - A lock and the token stored under the same key never affect each other.
    - Async twins behave exactly like their sync methods.
    """

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool: ...

    def release_lock(self, key: str, owner: str) -> bool: ...

    def renew_lock(self, key: str, owner: str, ttl_s: float) -> bool: ...

    def get_token_data(self, key: str) -> TokenData | None: ...

    def set_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool: ...

    def clear_token_data(self, key: str) -> None: ...

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool: ...

    async def arelease_lock(self, key: str, owner: str) -> bool: ...

    async def arenew_lock(self, key: str, owner: str, ttl_s: float) -> bool: ...

    async def aget_token_data(self, key: str) -> TokenData | None: ...

    async def aset_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool: ...

    async def aclear_token_data(self, key: str) -> None: ...
