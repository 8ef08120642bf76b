"""The listener's errors: what `on_error` receives and what `run()` raises when it stops.

`StreamingError` and its subclasses (`ConnectionLostError`, `ReplayIdInvalidError`,
`HandlerError`, `LeadershipLostError`, `StreamingStoppedError`) are defined and drawn with the
rest of the tree in `core/errors.py`; this module keeps their `streaming.errors` names.

`InvalidGrantError` from the auth flow reaches `on_error` and `run()` unchanged: it means
re-authorize, and the stored token was already cleared. A `TokenStoreError` (the store was
unreachable, or refused a rotated token) is reported as a `ConnectionLostError` and retried.
Messages carry channels, replay ids and Salesforce's error text, never tokens.
"""

from __future__ import annotations

from salesforce_typed.core.errors import (
    ConnectionLostError,
    HandlerError,
    LeadershipLostError,
    ReplayIdInvalidError,
    StreamingError,
    StreamingStoppedError,
)

__all__ = [
    "ConnectionLostError",
    "HandlerError",
    "LeadershipLostError",
    "ReplayIdInvalidError",
    "StreamingError",
    "StreamingStoppedError",
]
