"""The listener over Pub/Sub (`api="pubsub"`) against the fake org over TLS: the CometD
listener's handlers, checkpoints, dedupe and failures, from real REST writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce
from salesforce_typed.core.change_events import ChangeType
from salesforce_typed.pubsub import AsyncPubSub, PubSubError, PubSubMessage
from salesforce_typed.pubsub._async.session import PubSubSession
from salesforce_typed.streaming import (
    EARLIEST,
    TIP,
    AsyncListener,
    Backoff,
    ChangeDataEvent,
    ConnectionLostError,
    HandlerError,
    MemoryCheckpoints,
    PlatformEvent,
    ReplayFallback,
    ReplayIdInvalidError,
    StreamEvent,
    StreamingStoppedError,
)
from salesforce_typed.testing import streaming
from salesforce_typed.testing.oauth import token_calls
from salesforce_typed.testing.org import records
from salesforce_typed.testing.pubsub import PubSubConfig
from salesforce_typed.testing.pubsub import service as pubsub_service
from salesforce_typed.testing.server import FakeOrg

ACCOUNTS = "/data/AccountChangeEvent"
KEY = "pubsub:" + ACCOUNTS  # where a Pub/Sub checkpoint of ACCOUNTS is kept
FAST = Backoff(base=0.01, cap=0.05, limit_base=0.01, limit_cap=0.05, jitter=lambda c: 0.0)


async def until(predicate: Callable[[], object], task: asyncio.Task[Any] | None = None) -> None:
    """Wait for a condition; bounded only to turn a hang into a failure."""
    async with asyncio.timeout(30):
        while not predicate():
            if task is not None and task.done():
                task.result()  # surface the listener's error
                raise AssertionError("the listener ended early")
            await asyncio.sleep(0.01)


async def finish(listener: AsyncListener, task: asyncio.Task[Any]) -> None:
    await listener.aclose()
    await task


@pytest.fixture
def make(org: FakeOrg, sf: AsyncSalesforce) -> Callable[..., AsyncListener]:
    """A Pub/Sub listener on the test client's session (fast backoff unless given)."""

    def build(**options: Any) -> AsyncListener:
        options.setdefault("backoff", FAST)
        return sf.listener(api="pubsub", pubsub_target=org.pubsub_url, **options)

    return build


def _ids(events: list[ChangeDataEvent]) -> list[str]:
    return [i for e in events for i in e.record_ids]


async def _accounts(sf: AsyncSalesforce, count: int, prefix: str = "a") -> list[str]:
    return [(await sf.create(std.Account(Name=f"{prefix}-{i}"))).id for i in range(count)]


def _creates(
    make: Callable[..., AsyncListener],
) -> tuple[AsyncListener, list[ChangeDataEvent], list[Exception]]:
    """A listener of ACCOUNTS from EARLIEST: (it, the created events, what on_error saw)."""
    errors: list[Exception] = []
    got: list[ChangeDataEvent] = []
    listener = make(on_error=errors.append)
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=got.append)
    return listener, got, errors


async def test_typed_dispatch_per_change_type(
    org: FakeOrg, sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    streaming.define_platform_event(org.state, "Order_Placed__e", {"Order_Number__c": "string"})
    checkpoints = MemoryCheckpoints()
    listener = make(checkpoints=checkpoints)
    seen: dict[str, list[ChangeDataEvent]] = {}
    accounts = listener.channel(ACCOUNTS, replay=EARLIEST)
    for name in ("on_create", "on_update", "on_delete", "on_undelete", "on_gap", "on_overflow"):
        accounts.set_handler(name, seen.setdefault(name, []).append)
    placed: list[StreamEvent] = []
    listener.channel("/event/Order_Placed__e", replay=EARLIEST, on_message=placed.append)

    made = await sf.create(std.Account(Name="Acme"))
    await sf.update(std.Account(Id=made.id, Rating=std.AccountRatingPicklist.HOT))
    await sf.delete(std.Account, made.id)
    records.undelete(org.state, "Account", made.id)
    streaming.inject_gap(org.state, "Account", "GAP_UPDATE", [made.id])
    streaming.inject_gap(org.state, "Account", "GAP_OVERFLOW")
    await sf.request("POST", "/sobjects/Order_Placed__e", json={"Order_Number__c": "A-1"})

    task = asyncio.create_task(listener.run())
    await until(lambda: sum(map(len, seen.values())) == 6 and placed, task)
    await finish(listener, task)

    assert {name: len(events) for name, events in seen.items()} == dict.fromkeys(seen, 1)
    created = seen["on_create"][0]
    assert isinstance(created.record, std.AccountChangeEvent)
    assert created.record.Name == "Acme" and created.record_ids == [made.id]
    assert seen["on_update"][0].record.Rating == "Hot"  # type: ignore[attr-defined]
    assert seen["on_update"][0].header.changedFields[:1] == ["Rating"]
    assert seen["on_delete"][0].change_type is ChangeType.DELETE
    assert seen["on_undelete"][0].change_type is ChangeType.UNDELETE
    assert seen["on_gap"][0].change_type is ChangeType.GAP_UPDATE
    assert seen["on_overflow"][0].record_ids == []
    assert isinstance(placed[0], PlatformEvent) and placed[0].payload["Order_Number__c"] == "A-1"
    # Checkpoints are Pub/Sub's opaque bytes, under a key of their own.
    stored = checkpoints.positions[KEY]
    assert isinstance(stored, bytes) and len(stored) == 8
    assert isinstance(checkpoints.positions["pubsub:/event/Order_Placed__e"], bytes)
    assert ACCOUNTS not in checkpoints.positions  # the CometD key is left alone
    assert listener.delivered == 7 and listener.duplicates == 0


async def test_checkpoint_after_handler_and_resume_without_loss_or_duplicate(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    checkpoints = MemoryCheckpoints()
    first: list[ChangeDataEvent] = []
    before = await _accounts(sf, 3, "before")

    def handle(event: ChangeDataEvent) -> None:
        # The checkpoint is written after the batch, never before its handler ran.
        assert checkpoints.positions.get(KEY) != _replay_bytes(event)
        first.append(event)

    listener = make(checkpoints=checkpoints)
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=handle)
    task = asyncio.create_task(listener.run())
    await until(lambda: len(first) == 3, task)
    await until(lambda: checkpoints.positions.get(KEY) == _replay_bytes(first[-1]), task)
    await finish(listener, task)
    assert _ids(first) == before

    after = await _accounts(sf, 2, "after")
    second: list[ChangeDataEvent] = []
    again = make(checkpoints=checkpoints)
    again.channel(ACCOUNTS, replay=EARLIEST, on_create=second.append)  # the checkpoint wins
    task = asyncio.create_task(again.run())
    await until(lambda: len(second) == 2, task)
    await asyncio.sleep(0.2)  # room for anything that should not come
    await finish(again, task)
    assert _ids(second) == after


def _replay_bytes(event: StreamEvent) -> bytes:
    assert event.replay_id is not None
    return event.replay_id.to_bytes(8, "big")  # the fake org's replay ids, as on the wire


async def test_a_resent_event_is_dropped_by_replay_id(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener], monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribe = AsyncPubSub.subscribe_batches

    async def resending(
        self: AsyncPubSub, topic: str, **kw: Any
    ) -> AsyncIterator[list[PubSubMessage]]:
        async for batch in subscribe(self, topic, **kw):
            yield [m for message in batch for m in (message, message)]  # a server re-sending

    monkeypatch.setattr(AsyncPubSub, "subscribe_batches", resending)
    made = await _accounts(sf, 3)
    got: list[ChangeDataEvent] = []
    listener = make()
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=got.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: listener.duplicates == 3, task)
    await finish(listener, task)
    assert _ids(got) == made and listener.delivered == 3


async def test_failing_handler_stops_before_its_checkpoint(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    ok, bad = await _accounts(sf, 2)
    checkpoints = MemoryCheckpoints()
    errors: list[Exception] = []
    handled: list[ChangeDataEvent] = []

    def handle(event: ChangeDataEvent) -> None:
        if event.record_ids == [bad]:
            raise RuntimeError("boom")
        handled.append(event)

    listener = make(checkpoints=checkpoints, handler_attempts=2, on_error=errors.append)
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=handle)
    with pytest.raises(HandlerError) as caught:
        await asyncio.wait_for(listener.run(), 30)
    assert caught.value.attempts == 2 and caught.value.channel == ACCOUNTS
    assert _ids(handled) == [ok]
    assert checkpoints.positions[KEY] == _replay_bytes(handled[0])  # not past the failure
    assert sum(isinstance(e, RuntimeError) for e in errors) == 2
    assert isinstance(errors[-1], HandlerError)


async def test_dropped_streams_are_resubscribed_losing_nothing(
    org: FakeOrg, sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    listener, got, errors = _creates(make)
    made = await _accounts(sf, 5, "one")
    task = asyncio.create_task(listener.run())
    await until(lambda: len(got) == 5, task)
    assert pubsub_service(org.state).drop_streams() == 1  # UNAVAILABLE, RST_STREAM
    made += await _accounts(sf, 5, "two")
    await until(lambda: len(got) == 10, task)
    session = listener.session
    assert isinstance(session, PubSubSession) and session.subscriptions == 2
    await finish(listener, task)
    assert _ids(got) == made  # in order, nothing lost, nothing repeated
    assert listener.duplicates == 0
    lost = [e for e in errors if isinstance(e, ConnectionLostError)]
    assert len(lost) == 1 and "UNAVAILABLE" in str(lost[0])


async def test_unavailable_service_is_retried_until_it_answers(
    sf: AsyncSalesforce, pubsub_config: PubSubConfig, make: Callable[..., AsyncListener]
) -> None:
    listener, got, errors = _creates(make)
    pubsub_config.unavailable = True
    task = asyncio.create_task(listener.run())
    await until(lambda: len(errors) >= 3, task)
    assert all(isinstance(e, ConnectionLostError) for e in errors)
    assert "sfdc.platform.eventbus.grpc.service.unavailable" in str(errors[0])
    made = await _accounts(sf, 2)
    pubsub_config.unavailable = False
    await until(lambda: len(got) == 2, task)
    await finish(listener, task)
    assert _ids(got) == made


@pytest.mark.parametrize("stored", [b"\x00bad", b"\x7f" * 8, b""])
async def test_a_bad_replay_id_checkpoint_takes_the_fallback_and_is_reported(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener], stored: bytes
) -> None:
    made = await _accounts(sf, 2)
    errors: list[Exception] = []
    got: list[ChangeDataEvent] = []
    checkpoints = MemoryCheckpoints({KEY: stored})
    listener = make(checkpoints=checkpoints, on_error=errors.append)
    listener.channel(ACCOUNTS, on_create=got.append)  # TIP, but the checkpoint wins
    task = asyncio.create_task(listener.run())
    await until(lambda: len(got) == 2, task)  # EARLIEST (the default fallback) replays them
    await finish(listener, task)
    assert _ids(got) == made
    (report,) = [e for e in errors if isinstance(e, ReplayIdInvalidError)]
    assert report.replay_id == stored and report.fallback == "EARLIEST"
    assert report.channel == ACCOUNTS
    assert checkpoints.positions[KEY] == _replay_bytes(got[-1])


async def test_bad_replay_id_with_fallback_stop_ends_the_run(
    make: Callable[..., AsyncListener],
) -> None:
    errors: list[Exception] = []
    checkpoints = MemoryCheckpoints({KEY: b"\x00bad"})
    listener = make(
        checkpoints=checkpoints, on_error=errors.append, replay_fallback=ReplayFallback.STOP
    )
    listener.channel(ACCOUNTS, on_create=print)
    with pytest.raises(StreamingStoppedError) as caught:
        await asyncio.wait_for(listener.run(), 30)
    assert isinstance(caught.value.__cause__, PubSubError)
    assert caught.value.__cause__.error_code.endswith("replayid.corrupted")
    assert isinstance(errors[0], ReplayIdInvalidError) and errors[0].fallback == "stop"
    assert checkpoints.positions[KEY] == b"\x00bad"  # nothing was skipped silently


async def test_bad_replay_id_with_fallback_tip_resumes_at_latest(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    await _accounts(sf, 2, "old")
    errors: list[Exception] = []
    got: list[ChangeDataEvent] = []
    listener = make(
        checkpoints=MemoryCheckpoints({KEY: b"\x00bad"}),
        on_error=errors.append,
        replay_fallback=ReplayFallback.TIP,
    )
    listener.channel(ACCOUNTS, on_create=got.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: any(isinstance(e, ReplayIdInvalidError) for e in errors), task)
    await until(lambda: listener.subscribed, task)
    await asyncio.sleep(0.3)  # the LATEST stream's first FetchRequest reaches the server
    new = await _accounts(sf, 1, "new")
    await until(lambda: got, task)
    await finish(listener, task)
    assert _ids(got) == new  # the old ones are the gap the user chose


async def test_a_missing_topic_is_terminal(make: Callable[..., AsyncListener]) -> None:
    errors: list[Exception] = []
    listener = make(on_error=errors.append)
    listener.channel("/event/Nope__e", on_message=print)
    with pytest.raises(StreamingStoppedError) as caught:
        await asyncio.wait_for(listener.run(), 30)
    cause = caught.value.__cause__
    assert isinstance(cause, PubSubError) and cause.status == "NOT_FOUND"
    assert errors == [caught.value]  # reported once, and no retry came before it


async def test_tip_channel_gets_what_is_written_after_it_subscribed(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    await _accounts(sf, 2, "old")
    got: list[ChangeDataEvent] = []
    checkpoints = MemoryCheckpoints({ACCOUNTS: 1})  # a CometD checkpoint: not for Pub/Sub
    listener = make(checkpoints=checkpoints)
    listener.channel(ACCOUNTS, replay=TIP, on_create=got.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: listener.subscribed, task)
    await asyncio.sleep(0.3)  # the LATEST stream's first FetchRequest reaches the server
    new = await _accounts(sf, 2, "new")
    await until(lambda: len(got) == 2, task)
    await finish(listener, task)
    assert _ids(got) == new
    assert checkpoints.positions[ACCOUNTS] == 1


def test_bytes_replay_needs_pubsub(sf: AsyncSalesforce) -> None:
    from salesforce_typed.core.errors import UsageError

    with pytest.raises(UsageError):
        sf.listener().channel(ACCOUNTS, replay=b"\x00" * 8)
    with pytest.raises(UsageError):
        sf.listener(api="grpc")  # type: ignore[arg-type]


async def test_an_expired_session_is_refreshed_once_and_the_stream_resumes(
    org: FakeOrg, sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    listener, got, errors = _creates(make)
    made = await _accounts(sf, 2, "one")
    task = asyncio.create_task(listener.run())
    await until(lambda: len(got) == 2, task)
    calls = token_calls(org.state).get("refresh_token", 0)
    assert org.state.expire_sessions() >= 1
    pubsub_service(org.state).drop_streams()  # the new stream presents the dead token
    session = listener.session
    assert isinstance(session, PubSubSession)
    await until(lambda: session.subscriptions == 2 and listener.subscribed, task)
    made += await _accounts(sf, 2, "two")
    await until(lambda: len(got) == 4, task)
    await finish(listener, task)
    assert _ids(got) == made
    # One refresh for the listener and the REST writes alike (they share the auth flow).
    assert token_calls(org.state).get("refresh_token", 0) == calls + 1
    assert not any(isinstance(e, StreamingStoppedError) for e in errors)


async def test_all_change_events_topic_dispatches_each_entity_typed(
    sf: AsyncSalesforce, make: Callable[..., AsyncListener]
) -> None:
    # /data/ChangeEvents carries several schemas: GetTopic names none, each event its own.
    account = (await sf.create(std.Account(Name="Multi"))).id
    contact = (await sf.create(std.Contact(LastName="Schema"))).id
    got: list[ChangeDataEvent] = []
    listener = make()
    listener.channel("/data/ChangeEvents", replay=EARLIEST, on_create=got.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: len(got) == 2, task)
    await finish(listener, task)
    assert _ids(got) == [account, contact]
    assert isinstance(got[0].record, std.AccountChangeEvent)
    assert isinstance(got[1].record, std.ContactChangeEvent)
    assert got[1].record.Name is not None and got[1].record.Name.LastName == "Schema"  # type: ignore[union-attr]
