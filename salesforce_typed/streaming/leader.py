"""One active consumer per channel group: leader election on a `LeaseStore`, fenced checkpoints.

Replicas of a listener share a lease (`LeaderElection.name`). The holder consumes; the others
stand by and open no CometD session (Salesforce caps concurrent clients per org). The leader
renews its lease every third of the TTL and writes replay checkpoints fenced by its epoch.

What must stay true:
- A standby polls for the lease every `poll_every_s`; when a leader dies its lease lapses
  after `ttl_s`, so a standby takes over within about `ttl_s + poll_every_s` (< 2 TTLs)
  and resumes from the last checkpoint (`aread_checkpoint`).
- The leader steps down at once, cancelling the consumer and writing nothing more, when a
  renewal is refused (the epoch moved) or when it cannot renew before its own deadline
  (`ttl_s` after the last successful renewal was *requested*, on the local monotonic clock).
- Checkpoints are written only after the handler succeeded (at-least-once) and only under the
  current epoch: a refused write means another replica leads, and consuming stops.
- Waits use the injected clock; cancelling `run` releases a held lease (best effort).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, runtime_checkable

from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.stores.base import Lease, LeaseStore, ReplayPosition, check_replay_position
from salesforce_typed.streaming.errors import LeadershipLostError

__all__ = [
    "CheckpointStore",
    "FencedCheckpoints",
    "LeaderElection",
    "MemoryCheckpoints",
    "ReplayPosition",
    "cometd_replay_id",
    "default_owner",
]

logger = logging.getLogger("salesforce_typed.streaming")


@runtime_checkable
class CheckpointStore(Protocol):
    """Where a consumer keeps the replay id of the last event its handlers finished.

    A replay id is a `ReplayPosition`: `int` for CometD, opaque `bytes` for Pub/Sub. It reads
    back as written, same type and byte for byte; the last write wins, whatever its kind.
    `awrite` returns False when the write was refused (fenced out): the caller must stop.
    """

    async def aread(self, channel: str) -> ReplayPosition | None: ...

    async def awrite(self, channel: str, replay_id: ReplayPosition) -> bool: ...


def cometd_replay_id(stored: ReplayPosition | None) -> int | None:
    """A stored checkpoint as a CometD replay id; `TypeError` for a Pub/Sub (bytes) one,
    which no CometD channel can resume from (the two APIs share channel names)."""
    if isinstance(stored, bytes):
        raise TypeError("the checkpoint holds a Pub/Sub replay id, not a CometD one")
    return stored


class MemoryCheckpoints:
    """Checkpoints for one process without leader election (lost on restart)."""

    def __init__(self, initial: Mapping[str, ReplayPosition] | None = None) -> None:
        self.positions: dict[str, ReplayPosition] = {
            channel: check_replay_position(replay_id)
            for channel, replay_id in (initial or {}).items()
        }

    async def aread(self, channel: str) -> ReplayPosition | None:
        return self.positions.get(channel)

    async def awrite(self, channel: str, replay_id: ReplayPosition) -> bool:
        self.positions[channel] = check_replay_position(replay_id)
        return True

    def __repr__(self) -> str:
        return f"MemoryCheckpoints({self.positions!r})"


class FencedCheckpoints:
    """The leader's view of a `LeaseStore`: every write carries the lease name and epoch."""

    def __init__(self, store: LeaseStore, *, lease_name: str, epoch: int) -> None:
        self.store = store
        self.lease_name = lease_name
        self.epoch = epoch

    async def aread(self, channel: str) -> ReplayPosition | None:
        return await self.store.aread_checkpoint(channel)

    async def awrite(self, channel: str, replay_id: ReplayPosition) -> bool:
        return await self.store.awrite_checkpoint(
            channel, replay_id, lease_name=self.lease_name, epoch=self.epoch
        )

    def __repr__(self) -> str:
        return f"FencedCheckpoints(lease={self.lease_name!r}, epoch={self.epoch})"


def default_owner() -> str:
    """host:pid:random: unique per replica, and readable in the store for operators."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


Consume = Callable[[FencedCheckpoints], Awaitable[None]]
Report = Callable[[Exception], Awaitable[None]]


class LeaderElection:
    """Runs `consume` only while this replica holds the lease `name`.

    `terms` counts the times this replica became leader; `lease` is the current one (None
    while standing by).
    """

    def __init__(
        self,
        store: LeaseStore,
        *,
        name: str,
        owner: str | None = None,
        ttl_s: float = 15.0,
        renew_every_s: float | None = None,
        poll_every_s: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise UsageError(f"ttl_s must be positive, got {ttl_s}")
        self.store = store
        self.name = name
        self.owner = owner or default_owner()
        self.ttl_s = ttl_s
        self.renew_every_s = renew_every_s if renew_every_s is not None else ttl_s / 3
        self.poll_every_s = poll_every_s if poll_every_s is not None else ttl_s / 3
        if self.renew_every_s >= ttl_s:
            raise UsageError("renew_every_s must be shorter than ttl_s")
        self.clock: Clock = clock or SystemClock()
        self.lease: Lease | None = None
        self.terms = 0

    def __repr__(self) -> str:
        return f"LeaderElection(name={self.name!r}, owner={self.owner!r}, ttl_s={self.ttl_s})"

    @property
    def is_leader(self) -> bool:
        return self.lease is not None

    async def run(self, consume: Consume, report: Report) -> None:
        """Stand by, lead, step down, repeat; returns when `consume` returns, raises its
        terminal errors (after releasing the lease)."""
        while True:
            lease, asked = await self._acquire()
            self.lease = lease
            self.terms += 1
            logger.info("leader of %s (epoch %d, %s)", self.name, lease.epoch, self.owner)
            try:
                finished = await self._lead(lease, asked, consume)
            except LeadershipLostError as lost:
                logger.warning("stepped down from %s: %s (leadership_lost)", self.name, lost)
                self.lease = None
                await report(lost)
                continue
            except BaseException:
                await self._release(lease)
                raise
            if finished:
                await self._release(lease)
                return

    async def _acquire(self) -> tuple[Lease, float]:
        """The lease, and the monotonic time we asked for it (its deadline counts from there)."""
        while True:
            asked = self.clock.monotonic()
            try:
                lease = await self.store.atry_acquire_lease(self.name, self.owner, self.ttl_s)
            except Exception as exc:  # the store is down: stay a standby and try again
                logger.warning("lease store unavailable (%s); standing by", type(exc).__name__)
                lease = None
            if lease is not None:
                return lease, asked
            await self.clock.asleep(self.poll_every_s)

    async def _lead(self, lease: Lease, asked: float, consume: Consume) -> bool:
        """Consume while renewing; True when `consume` returned by itself."""
        checkpoints = FencedCheckpoints(self.store, lease_name=self.name, epoch=lease.epoch)
        consumer = asyncio.ensure_future(consume(checkpoints))
        renewer = asyncio.ensure_future(self._renew(lease, asked + self.ttl_s))
        try:
            done, _pending = await asyncio.wait(
                {consumer, renewer}, return_when=asyncio.FIRST_COMPLETED
            )
            if consumer in done:
                consumer.result()  # raises LeadershipLostError (a fenced write) or terminal
                return True
            renewer.result()  # raises LeadershipLostError
            raise AssertionError("the renewer only ends by raising")  # pragma: no cover
        finally:
            for task in (consumer, renewer):
                task.cancel()
            await asyncio.gather(consumer, renewer, return_exceptions=True)

    async def _renew(self, lease: Lease, deadline: float) -> None:
        # The store's own expiry is at least `ttl_s` after it received the request, so a
        # deadline counted from when we *asked* is never later than the real one.
        while True:
            remaining = deadline - self.clock.monotonic()
            await self.clock.asleep(max(min(self.renew_every_s, remaining), 0.0))
            asked = self.clock.monotonic()
            if asked >= deadline:
                raise LeadershipLostError(f"lease {self.name} lapsed before it could be renewed")
            try:
                renewed = await self.store.arenew_lease(
                    self.name, self.owner, lease.epoch, self.ttl_s
                )
            except Exception as exc:
                logger.warning("lease renewal failed (%s); retrying", type(exc).__name__)
                continue
            if not renewed:
                raise LeadershipLostError(
                    f"lease {self.name} epoch {lease.epoch} was taken over or released"
                )
            deadline = asked + self.ttl_s

    async def _release(self, lease: Lease) -> None:
        self.lease = None
        try:
            await self.store.arelease_lease(self.name, self.owner, lease.epoch)
        except Exception as exc:  # it lapses by itself after the TTL
            logger.warning("could not release lease %s (%s)", self.name, type(exc).__name__)
