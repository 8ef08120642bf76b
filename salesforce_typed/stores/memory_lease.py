"""`MemoryLeaseStore`: leader leases and fenced checkpoints inside one process.

For tests and single-process listeners: it elects among threads and tasks of one process only.
Replicas on several machines need the Redis or PostgreSQL store. Leases expire on the injected
clock's monotonic time, so tests move TTLs without sleeping; `Lease.expires_at` is reported on
its wall time.
"""

from __future__ import annotations

import threading

import attrs

from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.stores.base import Lease, ReplayPosition, check_replay_position

__all__ = ["MemoryLeaseStore"]


@attrs.frozen(slots=True)
class _LeaseState:
    epoch: int
    owner: str | None  # None once released: the epoch stays, nobody holds it
    until: float  # monotonic deadline
    expires_at: float  # the same deadline on wall time, for `Lease`


def _check_ttl(ttl_s: float) -> None:
    if ttl_s <= 0:
        raise UsageError(f"lease TTL must be positive, got {ttl_s}")


class MemoryLeaseStore:
    """Thread-safe in-memory `LeaseStore`; async methods call the sync ones (no I/O to await)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._mutex = threading.Lock()
        self._leases: dict[str, _LeaseState] = {}
        self._checkpoints: dict[str, ReplayPosition] = {}

    def _holds(self, name: str, owner: str | None, epoch: int) -> bool:
        state = self._leases.get(name)
        return state is not None and state.owner == owner and state.epoch == epoch

    def try_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        _check_ttl(ttl_s)
        mono, wall = self._clock.monotonic(), self._clock.now()
        with self._mutex:
            state = self._leases.get(name)
            if state is not None and state.owner is not None and state.until > mono:
                return None
            epoch = (state.epoch if state is not None else 0) + 1
            self._leases[name] = _LeaseState(epoch, owner, mono + ttl_s, wall + ttl_s)
            return Lease(owner=owner, epoch=epoch, expires_at=wall + ttl_s)

    def renew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        _check_ttl(ttl_s)
        mono, wall = self._clock.monotonic(), self._clock.now()
        with self._mutex:
            if not self._holds(name, owner, epoch):
                return False
            self._leases[name] = _LeaseState(epoch, owner, mono + ttl_s, wall + ttl_s)
            return True

    def release_lease(self, name: str, owner: str, epoch: int) -> bool:
        mono, wall = self._clock.monotonic(), self._clock.now()
        with self._mutex:
            if not self._holds(name, owner, epoch):
                return False
            self._leases[name] = _LeaseState(epoch, None, mono, wall)
            return True

    def write_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        check_replay_position(replay_id)
        with self._mutex:
            state = self._leases.get(lease_name)
            if state is None or state.owner is None or state.epoch != epoch:
                return False
            self._checkpoints[channel] = replay_id
            return True

    def read_checkpoint(self, channel: str) -> ReplayPosition | None:
        with self._mutex:
            return self._checkpoints.get(channel)

    async def atry_acquire_lease(self, name: str, owner: str, ttl_s: float) -> Lease | None:
        return self.try_acquire_lease(name, owner, ttl_s)

    async def arenew_lease(self, name: str, owner: str, epoch: int, ttl_s: float) -> bool:
        return self.renew_lease(name, owner, epoch, ttl_s)

    async def arelease_lease(self, name: str, owner: str, epoch: int) -> bool:
        return self.release_lease(name, owner, epoch)

    async def awrite_checkpoint(
        self, channel: str, replay_id: ReplayPosition, *, lease_name: str, epoch: int
    ) -> bool:
        return self.write_checkpoint(channel, replay_id, lease_name=lease_name, epoch=epoch)

    async def aread_checkpoint(self, channel: str) -> ReplayPosition | None:
        return self.read_checkpoint(channel)

    def __repr__(self) -> str:
        return f"MemoryLeaseStore(leases={len(self._leases)}, checkpoints={len(self._checkpoints)})"
