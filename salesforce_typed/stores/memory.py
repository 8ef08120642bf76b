"""`MemoryTokenStore`: the token store for one process (tests, scripts, single replicas).

It serialises threads, not processes: replicas that share a refresh token need a shared store
(Redis, PostgreSQL), or Refresh Token Rotation will revoke them. Lock leases expire on the
injected clock's monotonic time, so tests move TTLs without sleeping.
"""

from __future__ import annotations

import threading

import attrs

from salesforce_typed.auth.token import TokenData
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import UsageError

__all__ = ["MemoryTokenStore"]


@attrs.frozen(slots=True)
class _Lease:
    owner: str
    until: float


class MemoryTokenStore:
    """Thread-safe in-memory `TokenStore`; async methods call the sync ones (no I/O to await)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._mutex = threading.Lock()
        self._tokens: dict[str, TokenData] = {}
        self._leases: dict[str, _Lease] = {}

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        if ttl_s <= 0:
            raise UsageError(f"lock TTL must be positive, got {ttl_s}")
        now = self._clock.monotonic()
        with self._mutex:
            lease = self._leases.get(key)
            if lease is not None and lease.until > now:
                return False
            self._leases[key] = _Lease(owner, now + ttl_s)
            return True

    def release_lock(self, key: str, owner: str) -> bool:
        now = self._clock.monotonic()
        with self._mutex:
            lease = self._leases.get(key)
            if lease is None or lease.owner != owner:
                return False
            del self._leases[key]
            return lease.until > now

    def renew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        if ttl_s <= 0:
            raise UsageError(f"lock TTL must be positive, got {ttl_s}")
        now = self._clock.monotonic()
        with self._mutex:
            lease = self._leases.get(key)
            if lease is None or lease.owner != owner or lease.until <= now:
                return False
            self._leases[key] = _Lease(owner, now + ttl_s)
            return True

    def get_token_data(self, key: str) -> TokenData | None:
        with self._mutex:
            return self._tokens.get(key)

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        with self._mutex:
            current = self._tokens.get(key)
            stored_version = None if current is None else current.version
            if stored_version != expected_version:
                return False
            self._tokens[key] = data
            return True

    def clear_token_data(self, key: str) -> None:
        with self._mutex:
            self._tokens.pop(key, None)

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        return self.acquire_lock(key, owner, ttl_s)

    async def arelease_lock(self, key: str, owner: str) -> bool:
        return self.release_lock(key, owner)

    async def arenew_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        return self.renew_lock(key, owner, ttl_s)

    async def aget_token_data(self, key: str) -> TokenData | None:
        return self.get_token_data(key)

    async def aset_token_data(
        self, key: str, data: TokenData, *, expected_version: int | None
    ) -> bool:
        return self.set_token_data(key, data, expected_version=expected_version)

    async def aclear_token_data(self, key: str) -> None:
        self.clear_token_data(key)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._tokens)}, locks={len(self._leases)})"
