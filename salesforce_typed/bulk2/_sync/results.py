# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/results.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/results.py`: its docstring there says what must stay true."""

from __future__ import annotations

from collections.abc import Iterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from salesforce_typed.bulk2._sync.transport import Spool
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
    from salesforce_typed.bulk2._sync.client import Bulk2

__all__ = ["IngestResult"]

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


class IngestResult:
    """The outcome of `Bulk2.ingest` (or `resume_ingest`).

    `counts` reconcile (uploaded = successful + failed + unprocessed); `successful()`,
    `failed()` and `unprocessed()` stream typed rows, each with the `input_index` of the row
    it came from (0-based over the whole input) when it can be matched.
    """

    def __init__(
        self,
        bulk: Bulk2,
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

    def successful(self) -> Iterator[SuccessRow]:
        for row in self._rows("successfulResults", _success):
            yield row

    def failed(self) -> Iterator[FailedRow]:
        for row in self._rows("failedResults", _failure):
            yield row

    def unprocessed(self) -> Iterator[UnprocessedRow]:
        for row in self._rows("unprocessedrecords", _unprocessed):
            yield row

    def _rows(self, which: ResultSet, make: _Make[R]) -> Iterator[R]:
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
            for cells in transport.rows(spec, job.dialect):
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

    def __enter__(self) -> IngestResult:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
