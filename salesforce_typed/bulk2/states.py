"""Bulk API 2.0 job states and what the polling loop does about each: tables, not branches.

`Open` -> `UploadComplete` -> `InProgress` -> `JobComplete` | `Failed`; `Aborted` from any
state before those two. Query jobs start at `UploadComplete`.

What must stay true:
- Every state Salesforce documents has one row in `POLL_TABLE`; a state we do not know (a
  newer API version) means "keep waiting" and is logged, never a crash.
- `Failed` is a partial result, not an exception, for ingest: Salesforce processed some
  batches before giving up, so the caller reads all three result sets (wire ref. §8.1).
- Errors met while polling are looked up by errorCode: `RETRYABLE` ones mean "ask again after
  the backoff" (a job runs for hours; a minute of 503s must not end the wait), everything else
  ends the wait. Decisions are logged with their key.
- Sleeps happen on the client's injected clock, so tests never wait; how long is
  `PollPolicy`'s call (`salesforce_typed/jobs/polling.py`, shared with Bulk 1.0).
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = [
    "IN_FLIGHT",
    "POLL_TABLE",
    "RETRYABLE",
    "TERMINAL",
    "JobState",
    "PollAction",
    "PollDecision",
    "decide",
]


class JobState(str, enum.Enum):
    """A job's `state`, spelled as the API spells it."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    def __str__(self) -> str:
        return str(self.value)


class PollAction(str, enum.Enum):
    WAIT = "wait"  # ask again after the backoff
    DONE = "done"  # results are complete
    PARTIAL = "partial"  # the job failed part-way: read successful, failed and unprocessed
    ABORTED = "aborted"  # someone aborted it: only unprocessed rows are left
    NOT_CLOSED = "not_closed"  # still Open: the upload never finished, nothing will happen


@attrs.frozen(slots=True)
class PollDecision:
    action: PollAction
    reason: str


TERMINAL: Final = frozenset({JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED})
IN_FLIGHT: Final = frozenset({JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS})

POLL_TABLE: Final[dict[JobState, PollDecision]] = {
    JobState.OPEN: PollDecision(
        PollAction.NOT_CLOSED,
        "Open: its upload was never closed (a crash between upload and close?); abort it "
        "and load the data again",
    ),
    JobState.UPLOAD_COMPLETE: PollDecision(PollAction.WAIT, "UploadComplete: queued"),
    JobState.IN_PROGRESS: PollDecision(PollAction.WAIT, "InProgress: processing"),
    JobState.JOB_COMPLETE: PollDecision(PollAction.DONE, "JobComplete"),
    JobState.FAILED: PollDecision(
        PollAction.PARTIAL, "Failed: partial, some batches ran; read all three result sets"
    ),
    JobState.ABORTED: PollDecision(PollAction.ABORTED, "Aborted"),
}

# errorCodes met while polling or reading results that mean "ask again after the backoff".
# The client's RetryPolicy has already re-sent the request a few times by then.
RETRYABLE: Final[dict[str, str]] = {
    "JOB_NOT_COMPLETE": "412: results are not ready yet",
    "SERVER_UNAVAILABLE": "503: the instance is busy or in maintenance",
    "UNABLE_TO_LOCK_ROW": "row lock contention on the job record",
    "QUERY_TIMEOUT": "the results store timed out; the job itself still runs",
}


def decide(state: str) -> PollDecision:
    """What to do about a job in `state` (an unknown state: keep waiting)."""
    try:
        return POLL_TABLE[JobState(state)]
    except ValueError:
        return PollDecision(PollAction.WAIT, f"unknown state {state!r}: waiting")
