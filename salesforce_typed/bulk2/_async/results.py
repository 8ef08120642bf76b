"""What an ingest leaves behind: its jobs, counts that reconcile, and the three result sets
streamed as typed rows matched back to their input rows. Async-first; `_sync/` is generated.

What must stay true:
- Result rows are streamed from the response and matched with `InputMatcher` (content and
  order, bounded window; see `bulk2/rows.py`), so memory never grows with the job.
- The uploaded CSV is kept (spooled: memory, then a temp file) until `close()` or the end of
  a `with` block, only to match results; after a resume there is no input and
  `input_index` is None, unless the load was journaled (its file is encoded again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from salesforce_typed.bulk2._async.transport import Spool
from salesforce_typed.bulk2.rows import (
    DEFAULT_MATCH_WINDOW,
    FailedRow,
    IngestCounts,
    InputMatcher,
    SuccessRow,
    UnprocessedRow,
    split_result_header,
)
from salesforce_typed.bulk2.states import JobState
from salesforce_typed.bulk2.wire import Bulk2Job, ResultSet, build_ingest_results
from salesforce_typed.jobs.journal import JournalEntry
from salesforce_typed.jobs.row_errors import parse_sf_error

if TYPE_CHECKING:
    from salesforce_typed.bulk2._async.client import AsyncBulk2

__all__ = ["AsyncIngestResult"]

R = TypeVar("R", SuccessRow, FailedRow, UnprocessedRow)
_Make = Callable[[Bulk2Job, Mapping[str, int], list[str], dict[str, str], int | None], R]


def _success(
    job: Bulk2Job,
    marks: Mapping[str, int],
    cells: list[str],
    values: dict[str, str],
    at: int | None,
) -> SuccessRow:
    created = cells[marks["sf__Created"]] if "sf__Created" in marks else "false"
    return SuccessRow(
        job_id=job.id,
        id=cells[marks["sf__Id"]] if "sf__Id" in marks else "",
        created=created.lower() == "true",
        values=values,
        input_index=at,
    )


def _failure(
    job: Bulk2Job,
    marks: Mapping[str, int],
    cells: list[str],
    values: dict[str, str],
    at: int | None,
) -> FailedRow:
    record_id = cells[marks["sf__Id"]] if "sf__Id" in marks else ""
    error = cells[marks["sf__Error"]] if "sf__Error" in marks else ""
    return FailedRow(
        job_id=job.id,
        id=record_id or None,
        error=parse_sf_error(error),
        values=values,
        input_index=at,
    )


def _unprocessed(
    job: Bulk2Job,
    marks: Mapping[str, int],
    cells: list[str],
    values: dict[str, str],
    at: int | None,
) -> UnprocessedRow:
    return UnprocessedRow(job_id=job.id, values=values, input_index=at)


class AsyncIngestResult:
    """The outcome of `AsyncBulk2.ingest` (or `resume_ingest`).

    `counts` reconcile (uploaded = successful + failed + unprocessed); `successful()`,
    `failed()` and `unprocessed()` stream typed rows, each with the `input_index` of the row
    it came from (0-based over the whole input) when it can be matched.
    """

    def __init__(
        self,
        bulk: AsyncBulk2,
        jobs: Sequence[Bulk2Job],
        *,
        unprocessed: Mapping[str, int],
        inputs: Mapping[str, Spool] | None = None,
        uploaded: int | None = None,
        match_window: int = DEFAULT_MATCH_WINDOW,
        entry: JournalEntry | None = None,
    ) -> None:
        self._bulk = bulk
        self.entry = entry  # the journal entry of a journaled load
        self.jobs = list(jobs)
        self._inputs = dict(inputs or {})
        self._unprocessed = dict(unprocessed)
        self.match_window = match_window
        self.counts = IngestCounts(
            processed=sum(j.number_records_processed for j in self.jobs),
            failed=sum(j.number_records_failed for j in self.jobs),
            unprocessed=sum(self._unprocessed.values()),
            uploaded=uploaded,
        )

    @property
    def job_ids(self) -> list[str]:
        return [job.id for job in self.jobs]

    @property
    def complete(self) -> bool:
        """Every job reached JobComplete (no Failed or Aborted job, nothing unprocessed)."""
        return all(job.state == JobState.JOB_COMPLETE for job in self.jobs)

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"{type(self).__name__}(jobs={self.job_ids}, successful={c.successful}, "
            f"failed={c.failed}, unprocessed={c.unprocessed})"
        )

    # -- result sets -----------------------------------------------------------------------

    async def successful(self) -> AsyncIterator[SuccessRow]:
        async for row in self._rows("successfulResults", _success):
            yield row

    async def failed(self) -> AsyncIterator[FailedRow]:
        async for row in self._rows("failedResults", _failure):
            yield row

    async def unprocessed(self) -> AsyncIterator[UnprocessedRow]:
        async for row in self._rows("unprocessedrecords", _unprocessed):
            yield row

    async def _rows(self, which: ResultSet, make: _Make[R]) -> AsyncIterator[R]:
        transport = self._bulk.transport
        for job in self.jobs:
            spool = self._inputs.get(job.id)
            matcher = None
            if spool is not None:
                matcher = InputMatcher(
                    spool.input_rows(job.dialect), start=spool.start, window=self.match_window
                )
            marks: dict[str, int] | None = None
            columns: list[str] = []
            positions: list[int] = []
            spec = build_ingest_results(job.id, which)
            async for cells in transport.rows(spec, job.dialect):
                if marks is None:
                    marks, columns = split_result_header(cells)
                    positions = [i for i, name in enumerate(cells) if name not in marks]
                    continue
                values = [cells[i] if i < len(cells) else "" for i in positions]
                at = matcher.match(values) if matcher is not None else None
                yield make(job, marks, cells, dict(zip(columns, values, strict=True)), at)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Drop the kept input (its temp files); result sets stay readable, unmatched."""
        for spool in self._inputs.values():
            spool.close()
        self._inputs.clear()

    async def __aenter__(self) -> AsyncIngestResult:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
