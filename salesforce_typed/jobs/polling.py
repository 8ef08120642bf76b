"""PollPolicy: how often a Bulk job's state is asked for, and for how long at most.

Bulk 1.0 (batch lists) and Bulk 2.0 (job info) poll with the same policy, so one setting
tunes both. What must stay true: the interval grows geometrically from `initial` to
`maximum` and never overflows however long a job runs; the policy only computes delays, the
clients sleep them on their injected clock (so tests never wait and a cancel ends at once).
"""

from __future__ import annotations

import attrs

__all__ = ["PollPolicy"]


@attrs.frozen(kw_only=True, slots=True)
class PollPolicy:
    """How often to ask for a job's state, and for how long at most.

    The interval starts at `initial` seconds and grows by `factor` up to `maximum`: small jobs
    finish in a second or two, big ones run for an hour and should not cost a call a second.
    `timeout` (seconds on the client's clock) ends the wait with `BulkTimeoutError`; None
    waits as long as the job runs (cancel the task, or interrupt, to stop).
    """

    initial: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    factor: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    maximum: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    timeout: float | None = None

    def interval(self, polls: int) -> float:
        """Seconds to wait after the `polls`-th state request (1 = the first)."""
        steps = min(max(polls - 1, 0), 200)  # the maximum is reached long before: no overflow
        return min(self.maximum, self.initial * self.factor**steps)
