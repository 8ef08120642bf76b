"""Where a channel that starts at the tip (`replay=-1`) resumes before its first event.

Salesforce's `/meta/subscribe` reply names no position, so a listener that subscribed at -1
and re-handshakes before any event has no replay id to resume after: subscribing at -1 again
loses whatever was published in between. `TipStart` instead re-subscribes such a channel at
-2 (every retained event) and drops the events committed before `run()` began, so nothing
published after the start is lost.

What must stay true:
- The first subscription of a tip channel is at -1 (a fresh start never replays 72 h).
- Every later one, until an event was delivered, is at -2; events older than the start
  (less `CLOCK_SKEW_S`, Salesforce's clock is not ours) advance the position unhandled.
- An event without a timestamp is never dropped (at-least-once beats a silent skip).
- Events committed up to `CLOCK_SKEW_S` before the start may be delivered once after such a
  re-handshake: the one place where a tip listener sees an event older than its start.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from salesforce_typed.streaming.policy import EARLIEST, TIP

__all__ = ["CLOCK_SKEW_S", "TipStart", "event_time"]

# How far Salesforce's commit stamps may trail our clock. Generous on purpose: too small a
# margin drops new events (a loss), too large only re-delivers a few older ones once.
CLOCK_SKEW_S: Final = 300.0


def event_time(data: dict[str, Any]) -> float | None:
    """When Salesforce committed the event (epoch seconds), from whichever field its kind
    carries: CDC `ChangeEventHeader.commitTimestamp`, a platform event's `CreatedDate`,
    a PushTopic or generic event's `event.createdDate`; None when there is none."""
    payload = data.get("payload")
    if isinstance(payload, dict):
        header = payload.get("ChangeEventHeader")
        stamp = header.get("commitTimestamp") if isinstance(header, dict) else None
        if isinstance(stamp, int | float) and not isinstance(stamp, bool):
            return float(stamp) / 1000
        created = _iso(payload.get("CreatedDate"))
        if created is not None:
            return created
    event = data.get("event")
    return _iso(event.get("createdDate")) if isinstance(event, dict) else None


def _iso(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class TipStart:
    """The start time of each tip channel that has not delivered an event yet."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}
        self._subscribed: set[str] = set()

    def start(self, channel: str, now: float) -> None:
        """`channel` begins at the tip at `now` (the first start counts across restarts of
        the session, e.g. a new leadership term)."""
        self.since.setdefault(channel, now)

    def fell_back(self, channel: str, now: float) -> None:
        """Salesforce refused the stored position and the fallback is the tip: subscribe at
        -1 once more (not -2: the user chose a gap over the retention), then as a tip start."""
        self.start(channel, now)
        self._subscribed.discard(channel)

    def replay_for(self, channel: str, position: int) -> int:
        """The replay id to subscribe `channel` from, given its position."""
        if position != TIP or channel not in self.since:
            return position
        if channel in self._subscribed:
            return EARLIEST
        self._subscribed.add(channel)
        return TIP

    def predates(self, channel: str, data: dict[str, Any]) -> bool:
        """Whether the event `data` on `channel` was committed before the channel started at
        the tip (drop it); read from the raw message, so old events are never decoded."""
        since = self.since.get(channel)
        if since is None:
            return False
        committed = event_time(data)
        return committed is not None and committed < since - CLOCK_SKEW_S

    def delivered(self, channel: str) -> None:
        """An event of `channel` was handled: its replay id is the position from now on."""
        self.since.pop(channel, None)
