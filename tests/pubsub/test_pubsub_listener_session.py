"""`PubSubSession`'s loop against a scripted stand-in for `AsyncPubSub`: what is resubscribed
from where, after which delay, and what ends the run. No network; the clock is fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import InvalidGrantError, PubSubError
from salesforce_typed.pubsub import PubSubMessage
from salesforce_typed.pubsub._async.session import PubSubSession
from salesforce_typed.stores.base import ReplayPosition
from salesforce_typed.streaming import (
    Backoff,
    ConnectionLostError,
    PlatformEvent,
    ReplayFallback,
    ReplayIdInvalidError,
    StreamingStoppedError,
)

TOPIC = "/event/Ping__e"
P = "sfdc.platform.eventbus.grpc."
BACKOFF = Backoff(base=1.0, cap=8.0, limit_base=10.0, limit_cap=300.0, jitter=lambda c: 0.0)


def _message(n: int, topic: str = TOPIC) -> PubSubMessage:
    replay = n.to_bytes(8, "big")
    event = PlatformEvent(channel=topic, replay_id=n, data={}, payload={})
    return PubSubMessage(topic=topic, replay_id=replay, schema_id="s", event=event)


class Scripted:
    """Each subscribe_batches() call plays the next script entry: its messages as one batch,
    then an error (or an end)."""

    target = "scripted:1"

    def __init__(self, *streams: tuple[list[PubSubMessage], Exception | None]) -> None:
        self.streams = list(streams)
        self.calls: list[tuple[str, str | bytes]] = []
        self.topics: list[str] = []
        self.closed = False

    async def get_topic(self, topic: str) -> None:
        self.topics.append(topic)

    async def subscribe_batches(
        self, topic: str, *, replay: str | bytes, num_requested: int, max_outstanding: int | None
    ) -> AsyncIterator[list[PubSubMessage]]:
        self.calls.append((topic, replay))
        if not self.streams:
            await asyncio.Event().wait()  # an idle stream, until cancelled
        messages, error = self.streams.pop(0)
        if messages:
            yield messages
        if error is not None:
            raise error

    async def aclose(self) -> None:
        self.closed = True


class Harness:
    def __init__(self, pubsub: Scripted, *, fallback: ReplayFallback = ReplayFallback.EARLIEST):
        self.positions: dict[str, ReplayPosition] = {TOPIC: -2}
        self.delivered: list[list[int]] = []
        self.reports: list[Exception] = []
        self.clock = FakeClock()
        self.session = PubSubSession(
            pubsub=pubsub,  # type: ignore[arg-type]
            channels=[TOPIC],
            replay_from=self.positions.__getitem__,
            reset_replay=self.positions.__setitem__,
            deliver=self.deliver,
            report=self.report,
            clock=self.clock,
            backoff=BACKOFF,
            replay_fallback=fallback,
        )

    async def deliver(self, batch: list[PubSubMessage]) -> None:
        self.delivered.append([int.from_bytes(m.replay_id, "big") for m in batch])
        self.positions[batch[-1].topic] = batch[-1].replay_id  # what the listener does

    async def report(self, error: Exception) -> None:
        self.reports.append(error)

    async def run_until(self, predicate: Any) -> None:
        task = asyncio.create_task(self.session.run())
        async with asyncio.timeout(5):
            while not predicate():
                if task.done():
                    task.result()
                await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _err(status: str, code: str = "") -> PubSubError:
    return PubSubError("details rpcId: 1", status=status, error_code=code)


async def test_a_failed_stream_reopens_after_its_last_delivered_event_with_backoff() -> None:
    pubsub = Scripted(
        ([_message(1), _message(2)], _err("UNAVAILABLE")),
        ([], _err("INTERNAL", P + "service.unavailable")),
        ([_message(3)], None),  # the server ends the stream cleanly: resubscribe too
    )
    h = Harness(pubsub)
    await h.run_until(lambda: len(pubsub.calls) == 4)
    assert [replay for _, replay in pubsub.calls] == [
        "EARLIEST",
        (2).to_bytes(8, "big"),
        (2).to_bytes(8, "big"),
        (3).to_bytes(8, "big"),
    ]
    assert [n for batch in h.delivered for n in batch] == [1, 2, 3]
    # Half of 1 s after the first failure (no jitter), of 2 s after the second in a row; an
    # event resets the count.
    assert h.clock.sleeps == [0.5, 1.0, 0.5]
    assert [type(e) for e in h.reports] == [ConnectionLostError] * 3
    assert pubsub.topics == [TOPIC] * 4  # a unary GetTopic before each stream


async def test_capacity_refusals_wait_longer() -> None:
    pubsub = Scripted(([], _err("UNAVAILABLE", P + "concurrent.client.limit.exceeded")))
    h = Harness(pubsub)
    await h.run_until(lambda: len(pubsub.calls) == 2)
    assert h.clock.sleeps == [5.0]  # half of limit_base, not of base


async def test_a_refused_token_twice_in_a_row_ends_the_run() -> None:
    pubsub = Scripted(
        ([_message(1)], _err("UNAUTHENTICATED", P + "service.auth.error")),
        ([], _err("UNAUTHENTICATED", P + "service.auth.error")),
    )
    h = Harness(pubsub)
    with pytest.raises(StreamingStoppedError) as caught:
        await h.run_until(lambda: False)
    assert isinstance(caught.value.__cause__, PubSubError)
    assert len(pubsub.calls) == 2 and h.clock.sleeps == []  # reopened at once, once


async def test_refusals_apart_are_refreshed_each_time() -> None:
    refused = _err("UNAUTHENTICATED", P + "service.auth.error")
    pubsub = Scripted(([], refused), ([], _err("UNAVAILABLE")), ([], refused), ([], None))
    h = Harness(pubsub)
    await h.run_until(lambda: len(pubsub.calls) == 5)  # never stopped


async def test_invalid_grant_ends_the_run_unchanged() -> None:
    pubsub = Scripted(([], InvalidGrantError("invalid_grant")))
    with pytest.raises(InvalidGrantError):
        await Harness(pubsub).run_until(lambda: False)


async def test_a_refused_replay_id_takes_the_fallback_and_is_reported() -> None:
    corrupted = _err("INVALID_ARGUMENT", P + "subscription.fetch.replayid.corrupted")
    pubsub = Scripted(([], corrupted), ([_message(7)], None))
    h = Harness(pubsub, fallback=ReplayFallback.TIP)
    h.positions[TOPIC] = b"\x00old"
    await h.run_until(lambda: len(pubsub.calls) == 3)
    assert [replay for _, replay in pubsub.calls][:2] == [b"\x00old", "LATEST"]
    (report,) = [e for e in h.reports if isinstance(e, ReplayIdInvalidError)]
    assert report.replay_id == b"\x00old" and report.fallback == "LATEST"
    assert "006f6c64" in str(report)  # the refused id, in hex


async def test_a_refused_preset_stops_instead_of_looping() -> None:
    corrupted = _err("INVALID_ARGUMENT", P + "subscription.fetch.replayid.corrupted")
    h = Harness(Scripted(([], corrupted)))  # EARLIEST refused, and the fallback is EARLIEST
    with pytest.raises(StreamingStoppedError):
        await h.run_until(lambda: False)
    assert isinstance(h.reports[0], ReplayIdInvalidError)


async def test_events_arrived_before_a_terminal_failure_are_delivered_first() -> None:
    pubsub = Scripted(([_message(1), _message(2)], _err("PERMISSION_DENIED")))
    h = Harness(pubsub)
    with pytest.raises(StreamingStoppedError):
        await h.run_until(lambda: False)
    assert [n for batch in h.delivered for n in batch] == [1, 2]
    assert not h.session.subscribed
