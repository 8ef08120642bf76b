"""`ReplayPosition` in the streaming checkpoints: `MemoryCheckpoints` and `FencedCheckpoints`
keep int (CometD) and bytes (Pub/Sub) replay ids as written, the fence holds for both, and a
CometD listener refuses to resume from a Pub/Sub position."""

from __future__ import annotations

import asyncio

import pytest
from streaming_mock import CHANNEL, MockOrg, make_listener

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.stores import ReplayPosition as StoresReplayPosition
from salesforce_typed.stores.memory_lease import MemoryLeaseStore
from salesforce_typed.streaming import (
    CheckpointStore,
    FencedCheckpoints,
    LeadershipLostError,
    MemoryCheckpoints,
    ReplayPosition,
)
from salesforce_typed.streaming.leader import cometd_replay_id

POSITIONS: tuple[ReplayPosition, ...] = (b"", 0, b"\x00\xff", -1, bytes(range(256)) * 4, 5, b"5")


def test_replay_position_is_one_alias_of_int_or_bytes() -> None:
    assert ReplayPosition is StoresReplayPosition
    assert ReplayPosition == int | bytes


async def test_memory_checkpoints_keep_each_kind_as_written() -> None:
    checkpoints = MemoryCheckpoints({"/data/A": b"\x00start", "/data/B": 12})
    assert isinstance(checkpoints, CheckpointStore)
    assert await checkpoints.aread("/data/A") == b"\x00start"
    for position in POSITIONS:
        assert await checkpoints.awrite("/data/A", position)
        stored = await checkpoints.aread("/data/A")
        assert type(stored) is type(position) and stored == position
    assert await checkpoints.aread("/data/B") == 12
    assert "b'5'" in repr(checkpoints)


async def test_memory_checkpoints_refuse_what_would_not_read_back() -> None:
    checkpoints = MemoryCheckpoints()
    for bad in (True, bytearray(b"\x01"), "5"):
        with pytest.raises(UsageError, match="replay id is int or bytes"):
            await checkpoints.awrite("/data/A", bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        MemoryCheckpoints({"/data/A": memoryview(b"\x01")})  # type: ignore[dict-item]
    assert checkpoints.positions == {}


async def test_fenced_checkpoints_fence_bytes_like_ints() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock=clock)
    old_lease = store.try_acquire_lease("group", "old", 10.0)
    assert old_lease is not None
    old = FencedCheckpoints(store, lease_name="group", epoch=old_lease.epoch)
    for position in POSITIONS:
        assert await old.awrite("/data/A", position)
        stored = await old.aread("/data/A")
        assert type(stored) is type(position) and stored == position
    clock.advance(11.0)
    new_lease = store.try_acquire_lease("group", "new", 10.0)
    assert new_lease is not None
    new = FencedCheckpoints(store, lease_name="group", epoch=new_lease.epoch)
    assert not await old.awrite("/data/A", b"\x00late")
    assert not await old.awrite("/data/A", 99)
    assert await new.aread("/data/A") == b"5"
    assert await new.awrite("/data/A", b"\x00new")
    assert store.read_checkpoint("/data/A") == b"\x00new"


def test_cometd_replay_id_passes_ints_and_refuses_bytes() -> None:
    assert cometd_replay_id(None) is None
    assert cometd_replay_id(4711) == 4711
    with pytest.raises(TypeError, match="Pub/Sub replay id"):
        cometd_replay_id(b"\x00\x01")


async def test_cometd_listener_does_not_resume_from_a_bytes_checkpoint() -> None:
    org = MockOrg()
    errors: list[Exception] = []
    checkpoints = MemoryCheckpoints({CHANNEL: b"\x00\x00\x01"})
    listener, _auth, _store = make_listener(org, checkpoints=checkpoints, on_error=errors.append)
    listener.channel(CHANNEL)
    with pytest.raises(LeadershipLostError, match="unreadable \\(TypeError\\)"):
        await asyncio.wait_for(listener.run(), 30)
    assert org.sent("/meta/subscribe") == []  # nothing subscribed from a wrong position
    assert checkpoints.positions == {CHANNEL: b"\x00\x00\x01"}  # left for its owner
