"""`PubSubSession`: the listener's Pub/Sub transport, what `CometDSession` is for CometD.

`run()` opens one Subscribe stream per channel (`AsyncPubSub.subscribe`, concurrently), each
from the position the listener gives it (`replay_from`: its checkpoint, or the channel's start
as LATEST/EARLIEST), and hands what arrives to `deliver` in batches, one batch at a time. A
stream that fails is classified by `policy.py` and, unless terminal, opened again from the
listener's position after a backoff on the injected clock.

What must stay true:
- Handlers run one batch at a time across all channels, as over CometD; a batch is one
  FetchResponse's events (at most `num_requested`), so checkpoints are written per batch,
  not per event.
- A stream is reopened only after every event it delivered before failing has been handed
  over, so `replay_from(channel)` (the last delivered replay id) loses nothing; what repeats
  is removed by the listener's dedupe window.
- Memory stays bounded and a slow handler holds events back on the server: per channel,
  the client's flow-control window (`max_outstanding`: events requested from the server
  plus a batch the reader holds) and, across channels, one batch waiting in the queue and
  one being handled.
- A refused replay id takes the configured `ReplayFallback` and is always reported
  (`ReplayIdInvalidError` to `on_error` and the log); a terminal failure ends `run()` with
  `StreamingStoppedError` (its cause the `PubSubError`), `invalid_grant` unchanged.
- Cancelling `run()` cancels every stream and wait at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import PubSubError
from salesforce_typed.pubsub._async.client import MAX_REQUESTED, AsyncPubSub, PubSubMessage
from salesforce_typed.pubsub.policy import Action, classify, fallback_preset, replay_request
from salesforce_typed.stores.base import ReplayPosition
from salesforce_typed.streaming._async.session import Report
from salesforce_typed.streaming.errors import (
    ConnectionLostError,
    ReplayIdInvalidError,
    StreamingStoppedError,
)
from salesforce_typed.streaming.policy import EARLIEST, TIP, Backoff, ReplayFallback

__all__ = ["PubSubSession"]

logger = logging.getLogger("salesforce_typed.streaming")

Deliver = Callable[[list[PubSubMessage]], Awaitable[None]]
_Item = tuple[str, list[PubSubMessage] | Exception]

# A token Salesforce refuses again right after the client refreshed it will not heal by
# refreshing more: the second such refusal in a row (no event, no other failure between)
# ends the listener.
MAX_AUTH_FAILURES: Final = 2


class PubSubSession:
    """Subscriptions of `channels` on `pubsub`; see the module docstring.

    `replay_from(channel)` gives the position to subscribe from (-1 LATEST, -2 EARLIEST,
    bytes CUSTOM); `reset_replay(channel, preset)` records a fallback; `deliver` handles one
    batch (its exceptions end the run); `report` receives what `on_error` must see.
    """

    def __init__(
        self,
        *,
        pubsub: AsyncPubSub,
        channels: Sequence[str],
        replay_from: Callable[[str], ReplayPosition],
        reset_replay: Callable[[str, int], None],
        deliver: Deliver,
        report: Report,
        stop_requested: Callable[[], bool] = lambda: False,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        replay_fallback: ReplayFallback = ReplayFallback.EARLIEST,
        num_requested: int = MAX_REQUESTED,
        max_outstanding: int | None = None,
    ) -> None:
        self.pubsub = pubsub
        self.channels = list(dict.fromkeys(channels))
        self.replay_from = replay_from
        self.reset_replay = reset_replay
        self.deliver = deliver
        self.report = report
        self.stop_requested = stop_requested
        self.clock: Clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.replay_fallback = replay_fallback
        self.num_requested = num_requested
        self.max_outstanding = max_outstanding  # AsyncPubSub.subscribe's (None: its default)
        self.subscriptions = 0  # streams opened (resubscriptions included), for tests and bench
        self._open: set[str] = set()
        self._started: dict[str, ReplayPosition] = {}
        self._failures: dict[str, int] = {}
        self._auth_failures: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"PubSubSession(target={self.pubsub.target!r}, channels={self.channels!r})"

    @property
    def subscribed(self) -> bool:
        """Every channel's topic was found and its stream opened (its first FetchRequest
        on the way): events committed from here on are delivered."""
        return len(self._open) == len(self.channels)

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stay subscribed until cancelled, `stop_requested()` or a terminal failure (raised)."""
        # One item waits: a stream's next batch is taken from it (and so asked for from the
        # server) only while the one before waits here, at most one more being handled.
        queue: asyncio.Queue[_Item] = asyncio.Queue(1)
        readers: dict[str, asyncio.Task[None]] = {}
        for channel in self.channels:
            readers[channel] = asyncio.ensure_future(self._read(channel, 0.0, queue))
        try:
            while not self.stop_requested():
                channel, item = await queue.get()
                if isinstance(item, Exception):
                    delay = await self._act(channel, item)
                    readers[channel] = asyncio.ensure_future(self._read(channel, delay, queue))
                    continue
                self._failures[channel] = self._auth_failures[channel] = 0
                await self.deliver(item)
        finally:
            for task in readers.values():
                task.cancel()
            await asyncio.gather(*readers.values(), return_exceptions=True)

    async def _read(self, channel: str, delay: float, queue: asyncio.Queue[_Item]) -> None:
        """One stream of `channel`, into `queue`; its failure is queued after its events."""
        try:
            if delay > 0:
                await self.clock.asleep(delay)
            # A unary GetTopic before every stream: it reports the real status, where a
            # stream whose first write races the server's refusal shows only INTERNAL
            # ("Internal error from Core"). So a dead token is refreshed here (the client
            # retries a unary call once after refreshing) and a missing topic is found.
            await self.pubsub.get_topic(channel)
            start = self._started[channel] = self.replay_from(channel)
            self._open.add(channel)
            self.subscriptions += 1
            logger.info("subscribing %s from %s", channel, _shown(start))
            stream = self.pubsub.subscribe_batches(
                channel,
                replay=replay_request(start),
                num_requested=self.num_requested,
                max_outstanding=self.max_outstanding,
            )
            async for batch in stream:
                await queue.put((channel, batch))
            raise PubSubError("the server ended the stream", status="OK")
        except Exception as exc:  # classified by the loop, in order after the stream's events
            self._open.discard(channel)
            await queue.put((channel, exc))

    async def _act(self, channel: str, error: Exception) -> float:
        """What `policy.classify` says about a failed stream; the delay before reopening it."""
        action = classify(error)
        failures = self._failures[channel] = self._failures.get(channel, 0) + 1
        if action is Action.REAUTHENTICATE:
            auths = self._auth_failures[channel] = self._auth_failures.get(channel, 0) + 1
            if auths >= MAX_AUTH_FAILURES:
                action = Action.STOP
        else:  # only refusals in a row, each after a refresh, mean the token cannot heal
            self._auth_failures[channel] = 0
        key = getattr(error, "error_code", "") or getattr(error, "status", type(error).__name__)
        logger.log(
            logging.ERROR if action is Action.STOP else logging.WARNING,
            "%s on %s: %s -> %s (%s)",
            type(error).__name__,
            channel,
            error,
            action.value,
            key,
        )
        if action is Action.STOP:
            if isinstance(error, PubSubError):
                raise StreamingStoppedError(f"stopped on {channel}: {error}") from error
            raise error  # invalid_grant and bugs reach run() unchanged
        if action is Action.REPLAY_FALLBACK:
            await self._fall_back(channel, error)
            return 0.0
        if action is Action.REAUTHENTICATE:
            # Reopened at once: its GetTopic refreshes the token (single-flight) and retries.
            return 0.0
        await self.report(ConnectionLostError(f"{channel}: {error}"))
        return self.backoff.delay(failures, capacity=action is Action.BACKOFF)

    async def _fall_back(self, channel: str, error: Exception) -> None:
        """The replay id is refused: take the configured fallback, and always say so."""
        refused = self._started.get(channel, b"")
        shown = fallback_preset(self.replay_fallback)
        report = ReplayIdInvalidError(channel, refused, shown)
        logger.error("%s (invalid_replay_id)", report)
        await self.report(report)
        preset = refused in (TIP, EARLIEST) and not isinstance(refused, bytes)
        if self.replay_fallback is ReplayFallback.STOP or preset:
            # A refused preset would be refused forever: that is a server fault, stop.
            raise StreamingStoppedError(str(report)) from error
        value = self.replay_fallback.value
        assert isinstance(value, int)
        self.reset_replay(channel, value)

    async def disconnect(self) -> None:
        """Close the gRPC channel (every stream on it ends)."""
        self._open.clear()
        await self.pubsub.aclose()


def _shown(position: ReplayPosition) -> str:
    if isinstance(position, bytes):
        return position.hex() or "(empty)"
    return {TIP: "LATEST", EARLIEST: "EARLIEST"}.get(position, str(position))
