"""How many Bulk 2.0 ingest jobs one input becomes: the rule, and the facts it rests on.

Salesforce cuts every ingest job into internal batches of 10,000 records, processed in
parallel with each other and with the batches of other parallel jobs; the org may upload
150,000,000 records per rolling 24 hours and process 15,000 batches (shared with Bulk 1.0,
one per 10,000 rows of a Bulk 2.0 job, a partial one counting whole). A load in several
jobs overlaps what a single job does one after another: uploads, closes, the wait in the
queue, and the server work of jobs running side by side; it costs a few more requests (a
create, an upload, a close and a poll per round, per job).

What must stay true:
- The cut is a row cap per job (`rows_per_job`), a multiple of 10,000 once above it, so a
  split spends no more of the daily batch allocation than one job would (only the last job
  may end on a partial batch). The journal records the cap, so a re-run cuts the same way.
- Without a request (`parallel_jobs=None`) an input is split only when it is big enough for
  the overlap to pay: at least `AUTO_MIN_ROWS` rows a job, at most `MAX_PARALLEL_JOBS` jobs.
  `parallel_jobs=1` keeps one job per 150 MB upload (the behaviour before the split).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Final

from salesforce_typed.core.errors import UsageError

__all__ = [
    "AUTO_MIN_ROWS",
    "BATCH_ROWS",
    "MAX_PARALLEL_JOBS",
    "count_lines",
    "known_size",
    "rows_per_job",
]

BATCH_ROWS: Final = 10_000  # Salesforce's internal batch: one per 10,000 rows of a job
AUTO_MIN_ROWS: Final = 100_000  # auto: no job smaller than this (ten internal batches)
MAX_PARALLEL_JOBS: Final = 10  # auto: no more jobs than this, whatever the input's size
_BLOCK: Final = 1 << 20


def rows_per_job(rows: int | None, parallel_jobs: int | None = None) -> int | None:
    """The most rows one job takes when `rows` rows are cut into about `parallel_jobs` jobs
    (None: chosen by size); None for no row cap (one job per 150 MB upload)."""
    if parallel_jobs is not None and parallel_jobs < 1:
        raise UsageError("parallel_jobs must be at least 1")
    if rows is None or rows <= 0:
        return None
    jobs = parallel_jobs
    if jobs is None:
        jobs = min(MAX_PARALLEL_JOBS, rows // AUTO_MIN_ROWS)
    if jobs <= 1:
        return None
    cap = math.ceil(rows / jobs)
    if cap > BATCH_ROWS:
        cap = math.ceil(cap / BATCH_ROWS) * BATCH_ROWS
    return cap


def count_lines(path: str | os.PathLike[str]) -> int:
    """Data rows of a CSV file, at most: its line ends, less the header's (a quoted cell may
    hold line ends, so this may count more rows than there are, never fewer). Block by
    block, in constant memory."""
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            count += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":  # the last row has no line end
        count += 1
    return max(count - 1, 0)


def known_size(records: Iterable[object] | None) -> int | None:
    """How many records a sized collection holds; None for a stream (`len` unknown)."""
    try:
        return len(records)  # type: ignore[arg-type]
    except TypeError:
        return None
