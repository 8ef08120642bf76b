"""Listener dispatch, typed decoding, dedupe, handler failures, checkpoints and the sync
facade, against the scripted org (MockTransport, FakeClock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import pytest
from streaming_mock import CHANNEL, MockOrg, cdc, make_listener

import salesforce_typed_std as std
from salesforce_typed.core.change_events import ChangeType
from salesforce_typed.streaming import (
    AsyncListener,
    ChangeDataEvent,
    EventDecoder,
    GenericChangeEvent,
    GenericEvent,
    HandlerError,
    Listener,
    MemoryCheckpoints,
    PlatformEvent,
    PushTopicEvent,
    StreamEvent,
)


def stop_when_idle(org: MockOrg, listener: AsyncListener) -> None:
    org.on_empty_connect = listener.stop


async def run(listener: AsyncListener) -> None:
    await asyncio.wait_for(listener.run(), 30)  # a bound on a hung test only


# --- decoding --------------------------------------------------------------------------------


def test_cdc_payload_decodes_into_the_generated_model_with_real_types() -> None:
    message = cdc(
        5120,
        "UPDATE",
        Rating="Hot",
        AnnualRevenue=12.5,
        LastModifiedDate="2024-05-01T12:00:00.000Z",
    )
    header = message["data"]["payload"]["ChangeEventHeader"]
    header.update(recordIds=["001A", "001B"], nulledFields=["Phone"], diffFields=["Description"])
    event = EventDecoder(strict=True).decode(message)
    assert isinstance(event, ChangeDataEvent)
    assert isinstance(event.record, std.AccountChangeEvent)
    assert event.record.Rating is std.AccountRatingPicklist.HOT
    assert event.record.AnnualRevenue == 12.5
    assert event.record.LastModifiedDate == dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    h = event.header
    assert h.changeType is ChangeType.UPDATE and h.recordIds == ["001A", "001B"]
    assert h.changedFields == ["AnnualRevenue", "LastModifiedDate", "Rating"]
    assert h.nulledFields == ["Phone"] and h.diffFields == ["Description"]
    assert (h.transactionKey, h.sequenceNumber, h.commitNumber) == ("txn-5120", 1, 11657372707552)
    assert h.commitTimestamp == 1714564800000 and h.commitUser.startswith("005")
    assert h.changeOrigin.startswith("com/salesforce/api/rest")
    assert event.key == (CHANNEL, 5120) and event.record_ids == ["001A", "001B"]
    assert set(event.changed_values()) == {"Rating", "AnnualRevenue", "LastModifiedDate"}
    assert event.to_json()["changeType"] == "UPDATE"


def test_unknown_entity_falls_back_to_the_generic_model() -> None:
    message = cdc(1, "CREATE", entity="Invoice__c", Amount__c=3)
    event = EventDecoder().decode(message)
    assert isinstance(event, ChangeDataEvent)
    assert isinstance(event.record, GenericChangeEvent)
    assert event.record.extra_fields == {"Amount__c": 3}
    assert event.entity_name == "Invoice__c"


def test_a_bad_value_falls_back_untyped_instead_of_stopping() -> None:
    message = cdc(2, "UPDATE", LastModifiedDate="not a date")
    event = EventDecoder().decode(message)
    assert isinstance(event, ChangeDataEvent) and isinstance(event.record, GenericChangeEvent)
    assert event.record.extra_fields["LastModifiedDate"] == "not a date"
    with pytest.raises(Exception, match="not a Salesforce datetime"):
        EventDecoder(strict=True).decode(message)


def test_a_bad_datetime_falls_back_even_once_the_shape_is_compiled() -> None:
    """Rows of a key order seen before take a compiled decoder that keeps datetimes as sent;
    the event decoder must still find a bad one before a handler does."""
    decoder = EventDecoder()
    for n in range(3):  # the shape becomes a compiled one after the first rows
        good = decoder.decode(
            cdc(10 + n, "UPDATE", LastModifiedDate="2024-01-01T00:00:00.000+0000")
        )
        assert isinstance(good, ChangeDataEvent)
        assert not isinstance(good.record, GenericChangeEvent)
    event = decoder.decode(cdc(20, "UPDATE", LastModifiedDate="not a date"))
    assert isinstance(event, ChangeDataEvent) and isinstance(event.record, GenericChangeEvent)
    assert event.record.extra_fields["LastModifiedDate"] == "not a date"


def test_other_channel_kinds() -> None:
    decoder = EventDecoder()
    pe = decoder.decode(
        {
            "channel": "/event/Order__e",
            "data": {
                "schema": "s",
                "payload": {
                    "Total__c": 3.5,
                    "EventUuid": "u-1",
                    "CreatedDate": "2024-01-01T00:00:00.000Z",
                },
                "event": {"replayId": "17"},
            },
        }
    )
    assert isinstance(pe, PlatformEvent) and pe.event_uuid == "u-1" and pe.replay_id == 17
    topic = decoder.decode(
        {
            "channel": "/topic/Hot",
            "data": {"event": {"replayId": 3, "type": "created"}, "sobject": {"Id": "001"}},
        }
    )
    assert isinstance(topic, PushTopicEvent) and topic.event_type == "created"
    generic = decoder.decode(
        {"channel": "/u/Notes", "data": {"event": {"replayId": 4}, "payload": "hello"}}
    )
    assert isinstance(generic, GenericEvent) and generic.payload == "hello"
    odd = decoder.decode({"channel": "/u/X", "data": 42})
    assert type(odd) is StreamEvent and odd.replay_id is None


# --- dispatch --------------------------------------------------------------------------------


async def test_dispatch_by_change_type_with_sync_and_async_handlers() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    got: dict[str, list[int | None]] = {}

    def record(name: str) -> Any:
        def handler(event: ChangeDataEvent) -> None:
            got.setdefault(name, []).append(event.replay_id)

        return handler

    svc = listener.channel(CHANNEL)
    svc.on_create(record("create"))
    svc.on_delete(record("delete"))
    svc.on_undelete(record("undelete"))
    svc.on_gap(record("gap"))

    @svc.on_update
    async def updated(event: ChangeDataEvent) -> None:
        await asyncio.sleep(0)
        got.setdefault("update", []).append(event.replay_id)

    @svc.on_message
    def anything(event: StreamEvent) -> None:
        got.setdefault("message", []).append(event.replay_id)

    org.push(
        cdc(1, "CREATE"),
        cdc(2, "UPDATE"),
        cdc(3, "DELETE"),
        cdc(4, "UNDELETE"),
        cdc(5, "GAP_UPDATE"),
        cdc(6, "GAP_OVERFLOW"),  # no on_overflow: goes to on_gap
        cdc(7, "SOMETHING_NEW"),  # unknown change type: on_message
    )
    stop_when_idle(org, listener)
    await run(listener)
    assert got == {
        "create": [1],
        "update": [2],
        "delete": [3],
        "undelete": [4],
        "gap": [5, 6],
        "message": [7],
    }
    assert listener.delivered == 7


async def test_overflow_handler_and_message_fallback() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    overflow: list[ChangeDataEvent] = []
    messages: list[StreamEvent] = []
    listener.channel(CHANNEL, on_overflow=overflow.append, on_message=messages.append)
    gap = cdc(9, "GAP_OVERFLOW")
    gap["data"]["payload"]["ChangeEventHeader"]["recordIds"] = []
    org.push(cdc(8, "CREATE"), gap)
    stop_when_idle(org, listener)
    await run(listener)
    assert [e.replay_id for e in overflow] == [9] and overflow[0].is_gap
    assert overflow[0].record_ids == []
    assert [e.replay_id for e in messages] == [8]  # no on_create: the catch-all


def test_unknown_handler_names_and_bad_channels_are_refused() -> None:
    listener, _auth, _store = make_listener(MockOrg())
    with pytest.raises(TypeError, match="on_creat"):
        listener.channel(CHANNEL, on_creat=print)
    with pytest.raises(ValueError, match="subscribable"):
        listener.channel("/meta/connect")


async def test_run_without_channels_is_refused() -> None:
    listener, _auth, _store = make_listener(MockOrg())
    with pytest.raises(ValueError, match="no channel"):
        await listener.run()


async def test_duplicates_after_a_replay_reach_no_handler() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    seen: list[int | None] = []
    listener.channel(CHANNEL, on_update=lambda e: seen.append(e.replay_id))
    org.push(cdc(1), cdc(2))
    org.push(cdc(2), cdc(3))  # 2 replayed (e.g. after a re-handshake)
    stop_when_idle(org, listener)
    await run(listener)
    assert seen == [1, 2, 3] and listener.duplicates == 1


async def test_dedupe_window_is_bounded() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org, dedupe_window=2)
    seen: list[int | None] = []
    listener.channel(CHANNEL, on_update=lambda e: seen.append(e.replay_id))
    org.push(cdc(1), cdc(2), cdc(3))
    org.push(cdc(1))  # beyond the window: delivered again (at-least-once, bounded memory)
    stop_when_idle(org, listener)
    await run(listener)
    assert seen == [1, 2, 3, 1]


async def test_handler_failures_are_retried_reported_then_stop_before_the_checkpoint() -> None:
    org = MockOrg()
    errors: list[Exception] = []
    checkpoints = MemoryCheckpoints()
    listener, _auth, _store = make_listener(
        org, on_error=errors.append, checkpoints=checkpoints, handler_attempts=3
    )
    calls: list[int | None] = []

    def flaky(event: ChangeDataEvent) -> None:
        calls.append(event.replay_id)
        if event.replay_id == 2:
            raise RuntimeError("database down")

    listener.channel(CHANNEL, on_update=flaky)
    org.push(cdc(1), cdc(2), cdc(3))
    with pytest.raises(HandlerError) as info:
        await run(listener)
    assert calls == [1, 2, 2, 2]
    assert checkpoints.positions == {CHANNEL: 1}  # 2 was never handled: it is replayed next time
    assert [type(e) for e in errors] == [RuntimeError] * 3 + [HandlerError]
    assert info.value.replay_id == 2 and isinstance(info.value.__cause__, RuntimeError)


async def test_a_handler_that_recovers_is_not_an_error() -> None:
    org = MockOrg()
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(org, on_error=errors.append)
    attempts = {"n": 0}

    def once(event: ChangeDataEvent) -> None:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("blip")

    listener.channel(CHANNEL, on_update=once)
    org.push(cdc(1))
    stop_when_idle(org, listener)
    await run(listener)
    assert attempts["n"] == 2 and [type(e) for e in errors] == [RuntimeError]


async def test_stop_from_a_handler_ends_after_that_event_with_its_checkpoint() -> None:
    org = MockOrg()
    checkpoints = MemoryCheckpoints()
    listener, _auth, _store = make_listener(org, checkpoints=checkpoints)
    seen: list[int | None] = []

    def handler(event: ChangeDataEvent) -> None:
        seen.append(event.replay_id)
        if event.replay_id == 2:
            listener.stop()

    listener.channel(CHANNEL, on_update=handler)
    org.push(cdc(1), cdc(2), cdc(3))
    await run(listener)
    assert seen == [1, 2] and checkpoints.positions == {CHANNEL: 2}


async def test_sync_handlers_can_run_in_a_worker_thread() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org, sync_handlers_in_thread=True)
    threads: list[str] = []
    listener.channel(CHANNEL, on_update=lambda e: threads.append(threading.current_thread().name))
    org.push(cdc(1))
    stop_when_idle(org, listener)
    await run(listener)
    assert threads and threads[0] != threading.current_thread().name


async def test_on_error_failures_are_contained() -> None:
    org = MockOrg()

    def broken(error: Exception) -> None:
        raise ValueError("on_error itself failed")

    listener, _auth, _store = make_listener(org, on_error=broken)
    listener.channel(CHANNEL)
    org.fail("/meta/connect", 503)
    stop_when_idle(org, listener)
    await run(listener)  # the 503 was reported to a failing on_error, and the run went on


async def test_listener_repr_and_secrets() -> None:
    listener, auth, _store = make_listener(MockOrg())
    listener.channel(CHANNEL)
    text = repr(listener) + repr(auth) + repr(listener.services[CHANNEL])
    assert "secret" not in text and "rt-0" not in text and CHANNEL in text


# --- the sync facade -------------------------------------------------------------------------


def test_sync_facade_runs_the_listener_on_its_own_loop_thread() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    facade = Listener.__new__(Listener)
    facade._setup(listener)
    done = threading.Event()
    seen: list[tuple[int | None, str]] = []

    def handler(event: ChangeDataEvent) -> None:
        seen.append((event.replay_id, threading.current_thread().name))
        if len(seen) == 2:
            done.set()

    facade.channel(CHANNEL, on_update=handler)
    org.push(cdc(1), cdc(2))
    org.on_empty_connect = lambda: None
    with facade:
        facade.start()
        assert facade.running
        assert done.wait(30)
    assert not facade.running
    assert [s[0] for s in seen] == [1, 2]
    assert all(name == "salesforce-typed-listener" for _, name in seen)
    assert facade.wait(0) is True and facade.delivered == 2


def test_sync_facade_reraises_the_terminal_error() -> None:
    org = MockOrg()
    org.connect_advice = {"reconnect": "none"}
    listener, _auth, _store = make_listener(org)
    facade = Listener.__new__(Listener)
    facade._setup(listener)
    facade.channel(CHANNEL)
    facade.start()
    with pytest.raises(Exception, match="reconnect=none"):
        facade.wait(30)
    facade.close()


def test_sync_facade_stop_from_a_handler_is_graceful() -> None:
    org = MockOrg()
    checkpoints = MemoryCheckpoints()
    listener, _auth, _store = make_listener(org, checkpoints=checkpoints)
    facade = Listener.__new__(Listener)
    facade._setup(listener)
    seen: list[int | None] = []

    def handler(event: ChangeDataEvent) -> None:
        seen.append(event.replay_id)
        if event.replay_id == 2:
            facade.stop()

    facade.channel(CHANNEL, on_update=handler)
    org.push(cdc(1), cdc(2), cdc(3))
    facade.run()
    assert seen == [1, 2] and checkpoints.positions == {CHANNEL: 2}
    assert facade.error is None and not facade.running
