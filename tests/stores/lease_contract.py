"""The `LeaseStore` contract, as checks every lease store must pass.

Like `contract.py`: each check takes a factory returning a fresh `LeaseHarness` (the store and
an `advance(seconds)` that lets leases run out: a fake clock in memory, a real sleep on a
server) and uses unique names, so a shared server needs no cleanup. Parametrise over
`LEASE_SYNC_CHECKS` and `LEASE_ASYNC_CHECKS`.

Timing rule: a lease that must still be held when asserted is taken with `HOLD` (long), so a
stalled machine cannot let it expire mid-check; only leases meant to run out use `SHORT`, and
`advance(PAST_SHORT)` waits at least that long, so their expiry is certain too.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable

import attrs

from salesforce_typed.stores.base import Lease, LeaseStore, ReplayPosition


@attrs.frozen
class LeaseHarness:
    store: LeaseStore
    advance: Callable[[float], None]


LeaseFactory = Callable[[], LeaseHarness]
LeaseCheck = Callable[[LeaseFactory], None]
AsyncLeaseCheck = Callable[[LeaseFactory], Awaitable[None]]

HOLD = 60.0
SHORT = 0.3
PAST_SHORT = 0.6


def new_name(kind: str = "lease") -> str:
    return f"lease-contract:{kind}:{uuid.uuid4().hex}"


def lease_check_id(check: Callable[..., object]) -> str:
    return check.__name__.removeprefix("check_").removeprefix("acheck_")


def _granted(lease: Lease | None) -> Lease:
    assert lease is not None, "the lease was refused"
    return lease


def _race(n: int, attempt: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


# --- sync checks ------------------------------------------------------------------------------


def check_first_holder_gets_epoch_one(make: LeaseFactory) -> None:
    lease = _granted(make().store.try_acquire_lease(new_name(), "a", HOLD))
    assert (lease.owner, lease.epoch) == ("a", 1)
    assert isinstance(lease.expires_at, float)


def check_held_lease_refuses_everyone(make: LeaseFactory) -> None:
    store, name = make().store, new_name()
    _granted(store.try_acquire_lease(name, "a", HOLD))
    assert store.try_acquire_lease(name, "b", HOLD) is None
    assert store.try_acquire_lease(name, "a", HOLD) is None  # not re-entrant: renew instead


def check_release_is_fenced_and_next_holder_bumps_epoch(make: LeaseFactory) -> None:
    store, name = make().store, new_name()
    first = _granted(store.try_acquire_lease(name, "a", HOLD))
    assert not store.release_lease(name, "b", first.epoch)
    assert not store.release_lease(name, "a", first.epoch + 1)
    assert store.try_acquire_lease(name, "b", HOLD) is None  # the wrong releases freed nothing
    assert store.release_lease(name, "a", first.epoch)
    assert not store.release_lease(name, "a", first.epoch)  # already released
    assert not store.renew_lease(name, "a", first.epoch, HOLD)  # released means gone
    second = _granted(store.try_acquire_lease(name, "b", HOLD))
    assert second.epoch == first.epoch + 1


def check_expired_lease_is_taken_over_with_next_epoch(make: LeaseFactory) -> None:
    harness = make()
    store, name = harness.store, new_name()
    old = _granted(store.try_acquire_lease(name, "old", SHORT))
    harness.advance(PAST_SHORT)
    new = _granted(store.try_acquire_lease(name, "new", HOLD))
    assert new.epoch == old.epoch + 1
    assert not store.renew_lease(name, "old", old.epoch, HOLD)
    assert not store.release_lease(name, "old", old.epoch)
    assert store.try_acquire_lease(name, "third", HOLD) is None  # the new holder kept it
    assert store.renew_lease(name, "new", new.epoch, HOLD)


def check_renew_extends_the_lease(make: LeaseFactory) -> None:
    harness = make()
    store, name = harness.store, new_name()
    lease = _granted(store.try_acquire_lease(name, "a", SHORT))
    assert store.renew_lease(name, "a", lease.epoch, HOLD)
    harness.advance(PAST_SHORT)
    assert store.try_acquire_lease(name, "b", HOLD) is None
    assert not store.renew_lease(name, "b", lease.epoch, HOLD)
    assert not store.renew_lease(name, "a", lease.epoch + 1, HOLD)


def check_lapsed_lease_renews_when_nobody_took_over(make: LeaseFactory) -> None:
    harness = make()
    store, name, channel = harness.store, new_name(), new_name("channel")
    lease = _granted(store.try_acquire_lease(name, "a", SHORT))
    harness.advance(PAST_SHORT)
    # No takeover bumped the epoch, so nobody else can have led: the holder may carry on.
    assert store.renew_lease(name, "a", lease.epoch, HOLD)
    assert store.try_acquire_lease(name, "b", HOLD) is None
    assert store.write_checkpoint(channel, 7, lease_name=name, epoch=lease.epoch)


def check_checkpoint_round_trip(make: LeaseFactory) -> None:
    store, name, channel = make().store, new_name(), new_name("channel")
    assert store.read_checkpoint(channel) is None
    lease = _granted(store.try_acquire_lease(name, "a", HOLD))
    for replay_id in (4711, 2**62, 12):  # big ids survive; a smaller one is not refused
        assert store.write_checkpoint(channel, replay_id, lease_name=name, epoch=lease.epoch)
        assert store.read_checkpoint(channel) == replay_id


def check_checkpoint_is_fenced_by_epoch(make: LeaseFactory) -> None:
    harness = make()
    store, name, channel = harness.store, new_name(), new_name("channel")
    assert not store.write_checkpoint(channel, 1, lease_name=name, epoch=1)  # no such lease
    old = _granted(store.try_acquire_lease(name, "old", SHORT))
    assert store.write_checkpoint(channel, 100, lease_name=name, epoch=old.epoch)
    assert not store.write_checkpoint(channel, 101, lease_name=name, epoch=old.epoch + 1)
    harness.advance(PAST_SHORT)
    new = _granted(store.try_acquire_lease(name, "new", HOLD))
    assert new.epoch == old.epoch + 1
    # The paused old leader wakes up: its write is refused and the checkpoint stays put.
    assert not store.write_checkpoint(channel, 999, lease_name=name, epoch=old.epoch)
    assert store.read_checkpoint(channel) == 100
    assert store.write_checkpoint(channel, 200, lease_name=name, epoch=new.epoch)
    assert store.release_lease(name, "new", new.epoch)
    assert not store.write_checkpoint(channel, 300, lease_name=name, epoch=new.epoch)
    assert store.read_checkpoint(channel) == 200


# Pub/Sub replay ids are opaque bytes: the awkward ones, and bytes that look like the other kind
# or like a store's own encoding of it.
BYTE_IDS: tuple[bytes, ...] = (
    b"",
    b"\x00",
    b"\x00\xff\x00",
    b"\xff" * 3,
    b"123",
    b"-1",
    b"x00",
    b"i:5",
    bytes(range(256)) * 4,  # 1 KiB, every byte value
    b"\x00\x00\x00\x00\x00\x01\xe2\x40",  # the shape of a real Pub/Sub id
)


def _assert_reads_back(store: LeaseStore, channel: str, expected: ReplayPosition) -> None:
    stored = store.read_checkpoint(channel)
    assert type(stored) is type(expected), (stored, expected)
    assert stored == expected


def check_bytes_checkpoint_round_trip(make: LeaseFactory) -> None:
    store, name, channel = make().store, new_name(), new_name("channel")
    lease = _granted(store.try_acquire_lease(name, "a", HOLD))
    for replay_id in BYTE_IDS:
        assert store.write_checkpoint(channel, replay_id, lease_name=name, epoch=lease.epoch)
        _assert_reads_back(store, channel, replay_id)


def check_checkpoint_switches_kind_and_last_write_wins(make: LeaseFactory) -> None:
    store, name, channel = make().store, new_name(), new_name("channel")
    lease = _granted(store.try_acquire_lease(name, "a", HOLD))
    sequence: tuple[ReplayPosition, ...] = (0, b"", -2, b"\x00", 2**63 - 1, b"0", 5, b"5", 7)
    for replay_id in sequence:
        assert store.write_checkpoint(channel, replay_id, lease_name=name, epoch=lease.epoch)
        _assert_reads_back(store, channel, replay_id)


def check_bytes_checkpoint_is_fenced_by_epoch(make: LeaseFactory) -> None:
    harness = make()
    store, name, channel = harness.store, new_name(), new_name("channel")
    assert not store.write_checkpoint(channel, b"\x01", lease_name=name, epoch=1)  # no lease
    assert store.read_checkpoint(channel) is None
    old = _granted(store.try_acquire_lease(name, "old", SHORT))
    assert store.write_checkpoint(channel, b"\x00old", lease_name=name, epoch=old.epoch)
    assert not store.write_checkpoint(channel, b"\xff", lease_name=name, epoch=old.epoch + 1)
    harness.advance(PAST_SHORT)
    new = _granted(store.try_acquire_lease(name, "new", HOLD))
    # The paused old leader wakes up: neither kind of write moves the checkpoint.
    assert not store.write_checkpoint(channel, b"\x00late", lease_name=name, epoch=old.epoch)
    assert not store.write_checkpoint(channel, 999, lease_name=name, epoch=old.epoch)
    _assert_reads_back(store, channel, b"\x00old")
    assert store.write_checkpoint(channel, b"\x00new", lease_name=name, epoch=new.epoch)
    assert store.release_lease(name, "new", new.epoch)
    assert not store.write_checkpoint(channel, b"\x00gone", lease_name=name, epoch=new.epoch)
    _assert_reads_back(store, channel, b"\x00new")


# Values that would not read back as written (a bool as an int, a bytearray as bytes, ...).
NOT_REPLAY_IDS: tuple[object, ...] = (
    True,
    False,
    "5",
    bytearray(b"\x01"),
    memoryview(b"\x01"),
    1.0,
    None,
)


def check_checkpoint_refuses_other_types(make: LeaseFactory) -> None:
    store, name, channel = make().store, new_name(), new_name("channel")
    lease = _granted(store.try_acquire_lease(name, "a", HOLD))
    assert store.write_checkpoint(channel, b"\x07", lease_name=name, epoch=lease.epoch)
    for bad in NOT_REPLAY_IDS:
        try:
            store.write_checkpoint(channel, bad, lease_name=name, epoch=lease.epoch)  # type: ignore[arg-type]
        except ValueError:  # UsageError
            pass
        else:
            raise AssertionError(f"{bad!r} was accepted as a replay id")
    _assert_reads_back(store, channel, b"\x07")


def check_names_and_channels_are_isolated(make: LeaseFactory) -> None:
    store = make().store
    a, b, ch_a, ch_b = new_name(), new_name(), new_name("channel"), new_name("channel")
    lease_a = _granted(store.try_acquire_lease(a, "x", HOLD))
    lease_b = _granted(store.try_acquire_lease(b, "x", HOLD))
    assert lease_a.epoch == lease_b.epoch == 1
    assert store.write_checkpoint(ch_a, 1, lease_name=a, epoch=1)
    assert store.read_checkpoint(ch_b) is None
    assert store.release_lease(a, "x", 1)
    assert store.write_checkpoint(ch_b, 2, lease_name=b, epoch=1)  # b is still held
    assert store.read_checkpoint(ch_a) == 1


def check_ttl_must_be_positive(make: LeaseFactory) -> None:
    store, name = make().store, new_name()
    for bad in (0.0, -1.0):
        try:
            store.try_acquire_lease(name, "a", bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"TTL {bad} was accepted")
    lease = _granted(store.try_acquire_lease(name, "a", HOLD))
    try:
        store.renew_lease(name, "a", lease.epoch, 0.0)
    except ValueError:
        pass
    else:
        raise AssertionError("renew with TTL 0 was accepted")


def check_concurrent_acquire_has_one_winner(make: LeaseFactory) -> None:
    store, name = make().store, new_name()
    results = _race(16, lambda i: store.try_acquire_lease(name, f"o{i}", HOLD))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert isinstance(winners[0], Lease) and winners[0].epoch == 1


def check_concurrent_takeover_has_one_winner(make: LeaseFactory) -> None:
    harness = make()
    store, name = harness.store, new_name()
    _granted(store.try_acquire_lease(name, "old", SHORT))
    harness.advance(PAST_SHORT)
    results = _race(16, lambda i: store.try_acquire_lease(name, f"o{i}", HOLD))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert isinstance(winners[0], Lease) and winners[0].epoch == 2


LEASE_SYNC_CHECKS: tuple[LeaseCheck, ...] = (
    check_first_holder_gets_epoch_one,
    check_held_lease_refuses_everyone,
    check_release_is_fenced_and_next_holder_bumps_epoch,
    check_expired_lease_is_taken_over_with_next_epoch,
    check_renew_extends_the_lease,
    check_lapsed_lease_renews_when_nobody_took_over,
    check_checkpoint_round_trip,
    check_checkpoint_is_fenced_by_epoch,
    check_bytes_checkpoint_round_trip,
    check_checkpoint_switches_kind_and_last_write_wins,
    check_bytes_checkpoint_is_fenced_by_epoch,
    check_checkpoint_refuses_other_types,
    check_names_and_channels_are_isolated,
    check_ttl_must_be_positive,
    check_concurrent_acquire_has_one_winner,
    check_concurrent_takeover_has_one_winner,
)


# --- async twins ------------------------------------------------------------------------------


async def acheck_lease_cycle(make: LeaseFactory) -> None:
    store, name, channel = make().store, new_name(), new_name("channel")
    assert await store.aread_checkpoint(channel) is None
    lease = _granted(await store.atry_acquire_lease(name, "a", HOLD))
    assert lease.epoch == 1
    assert await store.atry_acquire_lease(name, "b", HOLD) is None
    assert store.try_acquire_lease(name, "b", HOLD) is None  # one state behind both faces
    assert await store.arenew_lease(name, "a", lease.epoch, HOLD)
    assert not await store.arenew_lease(name, "b", lease.epoch, HOLD)
    assert await store.awrite_checkpoint(channel, 42, lease_name=name, epoch=lease.epoch)
    assert await store.aread_checkpoint(channel) == 42
    assert store.read_checkpoint(channel) == 42
    assert not await store.arelease_lease(name, "a", lease.epoch + 1)
    assert await store.arelease_lease(name, "a", lease.epoch)
    assert not await store.awrite_checkpoint(channel, 43, lease_name=name, epoch=lease.epoch)
    assert _granted(await store.atry_acquire_lease(name, "b", HOLD)).epoch == 2


async def acheck_takeover_fences_checkpoint(make: LeaseFactory) -> None:
    harness = make()
    store, name, channel = harness.store, new_name(), new_name("channel")
    old = _granted(await store.atry_acquire_lease(name, "old", SHORT))
    assert await store.awrite_checkpoint(channel, 1, lease_name=name, epoch=old.epoch)
    harness.advance(PAST_SHORT)
    new = _granted(await store.atry_acquire_lease(name, "new", HOLD))
    assert new.epoch == old.epoch + 1
    assert not await store.awrite_checkpoint(channel, 2, lease_name=name, epoch=old.epoch)
    assert not await store.arenew_lease(name, "old", old.epoch, HOLD)
    assert await store.aread_checkpoint(channel) == 1


async def acheck_bytes_checkpoint_cycle(make: LeaseFactory) -> None:
    harness = make()
    store, name, channel = harness.store, new_name(), new_name("channel")
    old = _granted(await store.atry_acquire_lease(name, "old", SHORT))
    positions: tuple[ReplayPosition, ...] = (*BYTE_IDS, 12, b"\x00\xff")
    for replay_id in positions:
        assert await store.awrite_checkpoint(channel, replay_id, lease_name=name, epoch=old.epoch)
        stored = await store.aread_checkpoint(channel)
        assert type(stored) is type(replay_id) and stored == replay_id
    _assert_reads_back(store, channel, b"\x00\xff")  # one state behind both faces
    harness.advance(PAST_SHORT)
    new = _granted(await store.atry_acquire_lease(name, "new", HOLD))
    assert not await store.awrite_checkpoint(channel, b"\x01", lease_name=name, epoch=old.epoch)
    assert await store.aread_checkpoint(channel) == b"\x00\xff"
    assert await store.awrite_checkpoint(channel, 3, lease_name=name, epoch=new.epoch)
    assert await store.aread_checkpoint(channel) == 3
    try:
        await store.awrite_checkpoint(channel, True, lease_name=name, epoch=new.epoch)
    except ValueError:
        pass
    else:
        raise AssertionError("a bool was accepted as a replay id")


async def acheck_concurrent_acquire_has_one_winner(make: LeaseFactory) -> None:
    store, name = make().store, new_name()
    results = await asyncio.gather(
        *(store.atry_acquire_lease(name, f"o{i}", HOLD) for i in range(16))
    )
    assert [r.epoch for r in results if r is not None] == [1]


LEASE_ASYNC_CHECKS: tuple[AsyncLeaseCheck, ...] = (
    acheck_lease_cycle,
    acheck_takeover_fences_checkpoint,
    acheck_bytes_checkpoint_cycle,
    acheck_concurrent_acquire_has_one_winner,
)
