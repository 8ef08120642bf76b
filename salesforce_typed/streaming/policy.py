"""What the listener does about each failure: module tables, not branches in a loop.

Shaped after pubsub's StreamingPullManager: `RETRYABLE` maps a recoverable `ErrorKind` to
the step that recovers from it, `TERMINAL` lists the kinds that end the listener. Every
decision is logged with its key (`ErrorKind.value`), so an operator can grep for it.

What must stay true:
- `403::Unknown client` is not an authentication problem: re-handshake, never refresh.
- A 401 refreshes the token (once per failure) and then re-handshakes; a 403 never does.
- After any re-handshake every channel is re-subscribed from its last checkpoint.
- An invalid or expired replay id takes the configured `ReplayFallback` and is reported
  through `on_error` and the log: never a silent stall, never a silent skip.
- Backoff waits use the injected clock (`Clock.asleep`), so close() cancels them at once and
  tests see every delay without waiting.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping

import attrs

from salesforce_typed.streaming.cometd import ErrorKind

__all__ = [
    "EARLIEST",
    "RETRYABLE",
    "TERMINAL",
    "TIP",
    "Action",
    "Backoff",
    "ReplayFallback",
    "action_for",
]

TIP = -1  # replay only events published after the subscription (Salesforce's default)
EARLIEST = -2  # replay every retained event (72 h for CDC and platform events, 24 h legacy)


class Action(str, enum.Enum):
    RETRY = "retry"  # back off, then repeat the step (a failed connect: from the checkpoint)
    REHANDSHAKE = "rehandshake"  # new handshake, re-subscribe every channel from its checkpoint
    REAUTHENTICATE = "reauthenticate"  # force a token refresh, then re-handshake
    BACKOFF_REHANDSHAKE = "backoff_rehandshake"  # a capacity refusal: wait longer, re-handshake
    REPLAY_FALLBACK = "replay_fallback"  # the replay id is gone: apply the ReplayFallback
    STOP = "stop"  # terminal: report and end the listener


class ReplayFallback(enum.Enum):
    """Where to resume when Salesforce refuses a stored replay id (past retention, migrated).

    Every choice loses or repeats something, so the choice is the user's and it is always
    reported: EARLIEST re-delivers what is retained (duplicates, no loss beyond retention),
    TIP skips to new events (a gap), STOP ends the listener for a human to decide.
    """

    EARLIEST = EARLIEST
    TIP = TIP
    STOP = "stop"


# Recoverable failures and the step that recovers.
RETRYABLE: Mapping[ErrorKind, Action] = {
    # Idle >40 s, instance move, periodic reset: the client id is gone, the token is fine.
    ErrorKind.UNKNOWN_CLIENT: Action.REHANDSHAKE,
    # Cookies lost (load balancer moved us): a fresh handshake sets them again.
    ErrorKind.MISSING_COOKIE: Action.REHANDSHAKE,
    # 401::Authentication invalid (connect), HTTP 401, or a handshake denied for a 401.
    ErrorKind.AUTHENTICATION: Action.REAUTHENTICATE,
    ErrorKind.NO_AUTH_HEADER: Action.REAUTHENTICATE,
    # "Organization concurrent user limit exceeded": capacity, not a bug; wait and retry.
    ErrorKind.CLIENT_LIMIT: Action.BACKOFF_REHANDSHAKE,
    ErrorKind.INVALID_REPLAY_ID: Action.REPLAY_FALLBACK,
    ErrorKind.SERVER_ERROR: Action.RETRY,
    ErrorKind.TRANSPORT: Action.RETRY,
}

# Failures that are the same on every attempt: report and stop.
TERMINAL: frozenset[ErrorKind] = frozenset(
    {
        ErrorKind.HANDSHAKE_DENIED,  # denied for a reason other than the token or a cap
        ErrorKind.REPLAY_MAP_MISMATCH,  # our replay map key differs from the subscription: a bug
        ErrorKind.DAILY_EVENT_LIMIT,  # the org's daily delivery allocation is spent
        ErrorKind.UNKNOWN_CHANNEL,  # a typo or CDC not enabled for the object
        ErrorKind.BAD_REQUEST,  # API version, connection type, malformed message
    }
)


def action_for(kind: ErrorKind) -> Action:
    """The table lookup; an unknown failure is retried with backoff via a re-handshake."""
    if kind in TERMINAL:
        return Action.STOP
    # OTHER: Salesforce said something we do not know. A fresh session is the safe guess, and
    # the backoff keeps a persistent failure from spinning.
    return RETRYABLE.get(kind, Action.REHANDSHAKE)


def full_jitter(ceiling: float) -> float:
    return random.random() * ceiling


@attrs.frozen(kw_only=True, slots=True)
class Backoff:
    """Capped exponential backoff with injected jitter; `attempt` counts consecutive failures.

    `limit_base` applies to capacity refusals (client cap), which clear in minutes, not
    seconds. The jitter is a parameter so tests get exact delays.
    """

    base: float = 0.5
    cap: float = 30.0
    limit_base: float = 10.0
    limit_cap: float = 300.0
    jitter: Callable[[float], float] = full_jitter

    def delay(self, attempt: int, *, capacity: bool = False) -> float:
        if attempt <= 0:
            return 0.0
        base, cap = (self.limit_base, self.limit_cap) if capacity else (self.base, self.cap)
        ceiling = min(cap, base * (2 ** min(attempt - 1, 20)))
        # Half fixed, half jittered: never zero (no hot loop), still spread across replicas.
        return float(ceiling / 2 + self.jitter(ceiling / 2))
