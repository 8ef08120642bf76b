"""The listener's errors: what `on_error` receives and what `run()` raises when it stops.

    SalesforceError                       (core.errors)
    └── StreamingError                    error: the classified Bayeux failure, if any
        ├── ConnectionLostError           5xx, dropped connection: reported, then retried
        ├── ReplayIdInvalidError          a replay id past retention: the fallback is taken
        ├── HandlerError                  a handler kept failing on one event: the listener stops
        ├── LeadershipLostError           the lease moved or could not be renewed: stepped down
        └── StreamingStoppedError         a terminal reply (TERMINAL table, advice "none")

`InvalidGrantError` from the auth flow reaches `on_error` and `run()` unchanged: it means
re-authorize, and the stored token was already cleared. A `TokenStoreError` (the store was
unreachable, or refused a rotated token) is reported as a `ConnectionLostError` and retried.
Messages carry channels, replay ids and Salesforce's error text, never tokens.
"""

from __future__ import annotations

from salesforce_typed.core.errors import SalesforceError
from salesforce_typed.streaming.cometd import BayeuxError

__all__ = [
    "ConnectionLostError",
    "HandlerError",
    "LeadershipLostError",
    "ReplayIdInvalidError",
    "StreamingError",
    "StreamingStoppedError",
]


class StreamingError(SalesforceError):
    """Base of the listener's own errors; `error` is the Bayeux failure behind it, if any."""

    retryable = False

    def __init__(self, message: str, *, error: BayeuxError | None = None) -> None:
        self.error = error
        super().__init__(message)


class ConnectionLostError(StreamingError):
    """A transient failure (5xx, dropped connection, timeout): backed off and retried."""

    retryable = True


class ReplayIdInvalidError(StreamingError):
    """Salesforce refused a stored replay id (past retention or migrated).

    `fallback` says what the listener did: `-2` replayed what is retained, `-1` skipped to
    new events (events in between are lost to this consumer), `"stop"` stopped.
    """

    def __init__(
        self,
        channel: str,
        replay_id: int,
        fallback: int | str,
        *,
        error: BayeuxError | None = None,
    ) -> None:
        self.channel = channel
        self.replay_id = replay_id
        self.fallback = fallback
        self.retryable = fallback != "stop"
        super().__init__(
            f"replay id {replay_id} of {channel} is no longer valid; fallback: {fallback}",
            error=error,
        )


class HandlerError(StreamingError):
    """A handler raised on every attempt for one event; the checkpoint stays before it."""

    def __init__(self, channel: str, replay_id: int | None, attempts: int) -> None:
        self.channel = channel
        self.replay_id = replay_id
        self.attempts = attempts
        super().__init__(f"handler failed {attempts} time(s) on {channel} replay id {replay_id}")


class LeadershipLostError(StreamingError):
    """The lease could not be renewed or its epoch moved: this replica stopped consuming."""

    retryable = True


class StreamingStoppedError(StreamingError):
    """A terminal failure: the listener stopped and will not retry on its own."""
