"""What the Pub/Sub listener does about each failure: module tables, not branches in a loop.

Every error ends a Subscribe stream ("Handle Errors"); what to do next depends on Salesforce's
`error-code` trailer first and the gRPC status second, because one status carries several
causes: `sfdc.platform.eventbus.grpc.service.unavailable` arrives as UNAVAILABLE or, racing a
stream reset, as INTERNAL, while a topic that does not exist is NOT_FOUND and never heals.
docs/pubsub.md ("Listener over Pub/Sub") lists each row's source.

What must stay true:
- `classify` is pure and total: every exception maps to one `Action`, logged with its key.
- A known `error-code` decides before the status; an unknown code falls back to the status.
- A bad or expired replay id (`...replayid.corrupted`, `...replayid.validation.failed`) takes
  the configured `ReplayFallback` and is reported, never retried as it is (it fails again).
- UNAUTHENTICATED refreshes the token and resubscribes; a refresh Salesforce still refuses
  ends the listener (`invalid_grant` ends it at once).
- What is retried is resubscribed from the last delivered replay id, after a backoff.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import httpx

from salesforce_typed.core.errors import (
    InvalidGrantError,
    OutcomeUnknownError,
    PubSubError,
    RequestNotSentError,
    TokenStoreError,
)
from salesforce_typed.streaming.policy import EARLIEST, TIP, ReplayFallback

__all__ = [
    "RETRYABLE_CODES",
    "RETRYABLE_STATUSES",
    "TERMINAL_CODES",
    "TERMINAL_STATUSES",
    "Action",
    "classify",
    "fallback_preset",
    "replay_request",
]

_P: Final = "sfdc.platform.eventbus.grpc."


class Action(str, enum.Enum):
    RETRY = "retry"  # back off, resubscribe after the last delivered replay id
    BACKOFF = "backoff"  # a capacity or protection refusal: back off longer, then as RETRY
    REAUTHENTICATE = "reauthenticate"  # refresh the access token, then resubscribe
    REPLAY_FALLBACK = "replay_fallback"  # the replay id is refused: apply the ReplayFallback
    STOP = "stop"  # terminal: report it and end the listener


# Salesforce's `error-code` trailer -> the step that recovers ("Handle Errors" tables).
RETRYABLE_CODES: Mapping[str, Action] = {
    _P + "service.unavailable": Action.RETRY,
    _P + "topic.api.unavailable": Action.RETRY,
    _P + "schema.api.unavailable": Action.RETRY,
    _P + "subscription.internal.error": Action.RETRY,
    # "An event arrived with a lower replay ID than the previous one": restart the stream.
    _P + "subscription.fetch.replay.repeated": Action.RETRY,
    # Also raised across release windows and on IP session locking: a new token heals it.
    _P + "service.auth.error": Action.REAUTHENTICATE,
    _P + "service.protection.stream.limit.triggered": Action.BACKOFF,
    _P + "service.protection.triggered": Action.BACKOFF,
    # The org's concurrent-client cap: a replica beyond it waits, like CometD's client cap.
    _P + "concurrent.client.limit.exceeded": Action.BACKOFF,
    # Outside the retention window or malformed; CUSTOM without an id (an empty checkpoint).
    _P + "subscription.fetch.replayid.corrupted": Action.REPLAY_FALLBACK,
    _P + "subscription.fetch.replayid.validation.failed": Action.REPLAY_FALLBACK,
}

# Codes that fail the same way on every attempt: a human has to act.
TERMINAL_CODES: frozenset[str] = frozenset(
    _P + suffix
    for suffix in (
        "service.auth.headers.invalid",
        "service.auth.refresh.invalid",
        "service.tenant.license",  # the org has no Pub/Sub API licence
        "topic.not.found",
        "topic.notfound",  # the fake org's spelling (docs/pubsub.md: chosen)
        "topic.meta.permission",
        "topic.validation.empty",
        "schema.notfound",
        "schema.meta.permission",
        "schema.validation.failed",
        "subscription.limit.exceeded",  # the org's 24-hour delivery allocation is spent
        "subscription.topic.cannot.subscribe",  # the user may not read the event
        "subscription.fetch.topic.mismatch",  # our bug: the topic changed mid-stream
        "subscription.fetch.requested.events.invalid",  # our bug: num_requested <= 0
        "subscription.fetch.request.invalid",
        "subscription.fetch.overflow",
    )
)

# A status without a known code (a lost connection has none: "UNAVAILABLE: RST_STREAM
# closed stream") -> the step that recovers. Names as `grpc.StatusCode.X.name`.
RETRYABLE_STATUSES: Mapping[str, Action] = {
    "UNAVAILABLE": Action.RETRY,
    # service.unavailable seen as INTERNAL, and gRPC's "Internal error from Core" when a
    # FetchRequest races a reset: both heal by resubscribing.
    "INTERNAL": Action.RETRY,
    "UNKNOWN": Action.RETRY,
    "ABORTED": Action.RETRY,
    "CANCELLED": Action.RETRY,  # cancelled by the server or a proxy; ours never reaches here
    "DEADLINE_EXCEEDED": Action.RETRY,  # our idle timeout: a half-open stream
    "OK": Action.RETRY,  # the server ended the stream without an error: resubscribe (chosen)
    "RESOURCE_EXHAUSTED": Action.BACKOFF,
    "UNAUTHENTICATED": Action.REAUTHENTICATE,
}

# A stream the server ends without an error is opened again at once (`AsyncPubSub.subscribe`,
# `ManagedStream`: Salesforce ends one that got no request in 60 s with nothing pending);
# this many in a row before any event raise `PubSubError` (status OK) instead of looping.
MAX_EMPTY_ENDS: Final = 3

TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        "NOT_FOUND",  # the topic does not exist (or CDC is not enabled for the entity)
        "PERMISSION_DENIED",
        "INVALID_ARGUMENT",  # a request we built wrong; replay ids are caught by code first
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "ALREADY_EXISTS",
        "UNIMPLEMENTED",
        "DATA_LOSS",
    }
)


def classify(error: BaseException) -> Action:
    """The table lookup for one failure of a subscription (see the module docstring)."""
    if isinstance(error, PubSubError):
        by_code = RETRYABLE_CODES.get(error.error_code)
        if by_code is not None:
            return by_code
        if error.error_code in TERMINAL_CODES or error.status in TERMINAL_STATUSES:
            return Action.STOP
        # An unknown status is a new failure mode: a fresh stream with backoff is the safe guess.
        return RETRYABLE_STATUSES.get(error.status, Action.RETRY)
    if isinstance(error, InvalidGrantError):
        return Action.STOP  # the stored token was cleared: re-authorize
    if isinstance(
        error, RequestNotSentError | OutcomeUnknownError | TokenStoreError | httpx.TransportError
    ):
        # The token endpoint or the token store blinked (the token call, or userinfo for the
        # tenant id): transient, and retrying cannot outlive a lost token family.
        return Action.RETRY
    return Action.STOP  # anything else is a bug or a refusal no retry can fix


def replay_request(position: int | bytes) -> str | bytes:
    """A replay position as the client's `replay=`: -1 LATEST, -2 EARLIEST, bytes CUSTOM.

    Another int is a CometD replay id: Salesforce's Pub/Sub ids are opaque, but the ones seen
    on the wire are that number as 8 big-endian bytes (so are the fake org's), so it is sent
    so; a refusal takes the fallback like any bad replay id (chosen)."""
    if isinstance(position, bytes):
        return position
    if position == TIP:
        return "LATEST"
    if position == EARLIEST:
        return "EARLIEST"
    return position.to_bytes(8, "big", signed=False)


def fallback_preset(fallback: ReplayFallback) -> str:
    """The preset a fallback resubscribes with, as reported (`ReplayIdInvalidError.fallback`)."""
    if fallback is ReplayFallback.STOP:
        return "stop"
    return "EARLIEST" if fallback is ReplayFallback.EARLIEST else "LATEST"
