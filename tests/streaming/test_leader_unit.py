"""Leader election and fenced checkpoints on the in-memory LeaseStore and a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from streaming_mock import CHANNEL, MockOrg, cdc, make_listener

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.stores.memory_lease import MemoryLeaseStore
from salesforce_typed.streaming import (
    FencedCheckpoints,
    LeaderElection,
    LeadershipLostError,
)

NAME = "cdc:accounts"


async def bounded(coro: Any) -> Any:
    return await asyncio.wait_for(coro, 30)  # a bound on a hung test only


class Consumer:
    """A consume() that records its terms and runs until told to finish."""

    def __init__(self) -> None:
        self.terms: list[FencedCheckpoints] = []
        self.started = asyncio.Event()
        self.finish = asyncio.Event()
        self.cancelled = 0

    async def __call__(self, checkpoints: FencedCheckpoints) -> None:
        self.terms.append(checkpoints)
        self.started.set()
        try:
            await self.finish.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def test_one_leader_renews_and_a_standby_waits() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock=clock)
    a = LeaderElection(store, name=NAME, owner="a", ttl_s=9, clock=clock)
    b = LeaderElection(store, name=NAME, owner="b", ttl_s=9, clock=clock)
    ca, cb = Consumer(), Consumer()
    errors: list[Exception] = []

    async def report(error: Exception) -> None:
        errors.append(error)

    ta = asyncio.create_task(a.run(ca, report))
    await bounded(ca.started.wait())
    tb = asyncio.create_task(b.run(cb, report))
    start = clock.monotonic()
    while clock.monotonic() < start + 60:  # many TTLs pass on the fake clock
        await asyncio.sleep(0)
    assert a.is_leader and not b.is_leader and not cb.terms
    assert ca.terms[0].epoch == 1 and a.terms == 1
    ca.finish.set()  # the leader's consumer ends by itself: the lease is released
    await bounded(ta)
    await bounded(cb.started.wait())
    assert cb.terms[0].epoch == 2 and b.is_leader
    cb.finish.set()
    await bounded(tb)
    assert errors == []


async def test_leader_steps_down_when_its_epoch_moves() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock=clock)
    a = LeaderElection(store, name=NAME, owner="a", ttl_s=9, clock=clock)
    ca = Consumer()
    errors: list[Exception] = []

    async def report(error: Exception) -> None:
        errors.append(error)

    ta = asyncio.create_task(a.run(ca, report))
    await bounded(ca.started.wait())
    # Someone else takes over (e.g. A was paused past its TTL): the epoch moves.
    assert store.release_lease(NAME, "a", 1)
    taken = store.try_acquire_lease(NAME, "intruder", 9)
    assert taken is not None and taken.epoch == 2
    while not errors:
        await asyncio.sleep(0)
    assert isinstance(errors[0], LeadershipLostError)
    assert ca.cancelled == 1 and not a.is_leader  # stopped consuming at once
    # The deposed leader's checkpoints are fenced out.
    assert not await ca.terms[0].awrite(CHANNEL, 42)
    assert store.read_checkpoint(CHANNEL) is None
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)


async def test_leader_steps_down_when_the_store_is_unreachable_past_its_ttl() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock=clock)
    a = LeaderElection(store, name=NAME, owner="a", ttl_s=9, clock=clock)
    ca = Consumer()
    errors: list[Exception] = []

    async def report(error: Exception) -> None:
        errors.append(error)

    ta = asyncio.create_task(a.run(ca, report))
    await bounded(ca.started.wait())
    started = clock.monotonic()

    async def down(*args: Any) -> bool:
        raise ConnectionError("store down")

    store.arenew_lease = down  # type: ignore[method-assign]
    store.atry_acquire_lease = down  # type: ignore[method-assign,assignment]
    while not errors:
        await asyncio.sleep(0)
    assert isinstance(errors[0], LeadershipLostError)
    assert clock.monotonic() - started <= 9  # before the lease could lapse elsewhere
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)


async def test_cancelling_a_leader_releases_its_lease() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock=clock)
    a = LeaderElection(store, name=NAME, owner="a", ttl_s=9, clock=clock)
    ca = Consumer()

    async def report(error: Exception) -> None:
        pass

    ta = asyncio.create_task(a.run(ca, report))
    await bounded(ca.started.wait())
    ta.cancel()
    await asyncio.gather(ta, return_exceptions=True)
    again = store.try_acquire_lease(NAME, "b", 9)
    assert again is not None and again.epoch == 2


def test_election_arguments_are_checked() -> None:
    store = MemoryLeaseStore()
    with pytest.raises(ValueError):
        LeaderElection(store, name=NAME, ttl_s=0)
    with pytest.raises(ValueError):
        LeaderElection(store, name=NAME, ttl_s=3, renew_every_s=3)
    election = LeaderElection(store, name=NAME)
    assert ":" in election.owner and NAME in repr(election)


async def test_standby_listener_opens_no_session_and_takes_over_from_the_checkpoint() -> None:
    clock = FakeClock()
    leases = MemoryLeaseStore(clock=clock)
    org_a, org_b = MockOrg(), MockOrg()
    seen: dict[str, list[int | None]] = {"a": [], "b": []}

    def make(org: MockOrg, owner: str) -> Any:
        election = LeaderElection(leases, name=NAME, owner=owner, ttl_s=9, clock=clock)
        listener, _auth, _store = make_listener(org, clock=clock, election=election)
        listener.channel(CHANNEL, replay=-2, on_update=lambda e: seen[owner].append(e.replay_id))
        return listener

    a = make(org_a, "a")
    org_a.push(cdc(1), cdc(2))
    ta = asyncio.create_task(a.run())
    while leases.read_checkpoint(CHANNEL) != 2:
        await asyncio.sleep(0)
    b = make(org_b, "b")
    org_b.on_empty_connect = b.stop
    tb = asyncio.create_task(b.run())
    start = clock.monotonic()
    while clock.monotonic() < start + 30:
        await asyncio.sleep(0)
    assert org_b.messages == []  # the standby opened no CometD session
    await bounded(a.aclose())  # the leader goes away (its lease is released)
    await bounded(tb)
    assert seen["a"] == [1, 2]
    subscribe = org_b.sent("/meta/subscribe")[0]
    assert subscribe["ext"]["replay"][CHANNEL] == 2  # from A's checkpoint, not -2
    assert ta.done()
