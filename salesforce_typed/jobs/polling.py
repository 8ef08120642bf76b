"""PollPolicy: how often a Bulk job's state is asked for, and for how long at most.

Bulk 1.0 (batch lists) and Bulk 2.0 (job info) poll with the same policy, so one setting
tunes both. What must stay true: the interval grows geometrically from `initial` to
`maximum` and never overflows however long a job runs; the policy only computes delays, the
clients sleep them on their injected clock (so tests never wait and a cancel ends at once).

A backoff alone notices a finished job late: at a 30 s cap, up to 30 s late. When the job's
progress gives an estimate of the time left (`remaining_s`: rows processed so far against
rows sent, at the rate seen since polling began), the wait is cut to that estimate and never
below `near`: the poll lands about when the job should end, then every `near` seconds, so a
job is noticed within `near` of finishing however long it ran. Without an estimate (a query
job's size is unknown until it ends) the wait is cut to `lateness` of the time waited so far
(at least `near`): a job is noticed at most a tenth of its run time late, at a cost of a few
more polls than the backoff alone (about 25 for a 20 s job, 165 in an hour). `near` is half
a second: a load's last job is noticed within half a second plus a round trip, where 1 s
cost a Bulk ingest of 1M rows half a second at the end (bench/bulk.py).
"""

from __future__ import annotations

import attrs

__all__ = ["PollPolicy", "ProgressRate", "remaining_s"]


@attrs.frozen(kw_only=True, slots=True)
class PollPolicy:
    """How often to ask for a job's state, and for how long at most.

    The interval starts at `initial` seconds and grows by `factor` up to `maximum`: small jobs
    finish in a second or two, big ones run for an hour and should not cost a call a second.
    Near the expected end (see the module docstring) it shrinks to at least `near` seconds.
    `timeout` (seconds on the client's clock) ends the wait with `BulkTimeoutError`; None
    waits as long as the job runs (cancel the task, or interrupt, to stop).
    """

    initial: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    factor: float = attrs.field(default=1.5, validator=attrs.validators.ge(1))
    maximum: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    timeout: float | None = None
    near: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    lateness: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))

    def interval(
        self, polls: int, eta: float | None = None, *, elapsed: float | None = None
    ) -> float:
        """Seconds to wait after the `polls`-th state request (1 = the first); `eta`: the
        estimated seconds until the job ends, when its progress tells; `elapsed`: seconds
        waited so far, which bound the wait when there is no estimate."""
        steps = min(max(polls - 1, 0), 200)  # the maximum is reached long before: no overflow
        backoff = min(self.maximum, self.initial * self.factor**steps)
        if eta is not None:
            return min(backoff, max(eta, self.near))
        if elapsed is not None:
            return min(backoff, max(elapsed * self.lateness, self.near))
        return backoff


def remaining_s(*, processed: int, total: int | None, elapsed_s: float) -> float | None:
    """Seconds left for `total - processed` rows at the rate `processed` rows took in
    `elapsed_s`; None when there is no rate yet or no total."""
    if total is None or processed <= 0 or elapsed_s <= 0:
        return None
    return max(total - processed, 0) * elapsed_s / processed


@attrs.define(slots=True)
class ProgressRate:
    """One job's progress as polled: the first reading is the origin of the rate."""

    total: int
    since: float | None = None  # clock time of the first reading
    base: int = 0  # rows processed at that reading

    def eta(self, now: float, processed: int) -> float | None:
        if self.since is None:
            self.since, self.base = now, processed
            return None
        return remaining_s(
            processed=processed - self.base,
            total=self.total - self.base,
            elapsed_s=now - self.since,
        )
