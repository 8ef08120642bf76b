# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, overload

from salesforce_typed.bulk2._sync.jobs import Bulk2Jobs
from salesforce_typed.bulk2._sync.query import Bulk2Query
from salesforce_typed.bulk2._sync.results import IngestResult
from salesforce_typed.bulk2._sync.transport import Spool, file_input, record_input
from salesforce_typed.bulk2.rows import DEFAULT_MATCH_WINDOW
from salesforce_typed.bulk2.states import JobState
from salesforce_typed.bulk2.wire import (
    BulkIngestInterruptedError,
    BulkProgress,
    BulkTimeoutError,
    ProgressCallback,
    QueryFileResult,
    build_abort,
    build_ingest_results,
    build_upload,
)
from salesforce_typed.core.errors import OutcomeUnknownError, UsageError
from salesforce_typed.core.models import Record, SObject
from salesforce_typed.jobs.csv_chunks import (
    MAX_UPLOAD_BYTES,
    OPERATIONS,
    ColumnDelimiter,
    CsvDialect,
    FieldCatalog,
    LineEnding,
    Operation,
    split_uploads,
)
from salesforce_typed.jobs.polling import PollPolicy
from salesforce_typed.jobs.query_model import model_for_query
from salesforce_typed.rest.soql import bind, query_arguments

__all__ = ["Bulk2"]

log = logging.getLogger("salesforce_typed.bulk")
T = TypeVar("T", bound=SObject)


def _check_ingest(
    records: object, csv_path: object, operation: str, external_id_field: str | None
) -> None:
    """Refuse a bad combination before anything is read or sent."""
    if (records is None) == (csv_path is None):
        raise UsageError("pass records or csv_path, not both")
    if operation not in OPERATIONS:
        raise UsageError(f"operation must be one of {', '.join(OPERATIONS)}")
    if operation == "upsert" and not external_id_field:
        raise UsageError("upsert needs external_id_field")


class Bulk2(Bulk2Jobs):
    """Bulk API 2.0 through an Salesforce's connection, auth, retry policy and clock.

    Ingest, query and resume are here; the job calls and the polling loop it inherits
    (`job_info`, `abort`, `wait`, ...) are `Bulk2Jobs`'s (`_sync/jobs.py`).
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r})"

    # -- ingest ----------------------------------------------------------------------------

    def ingest(
        self,
        sobject: type[SObject] | str,
        records: Iterable[SObject | Mapping[str, Any]] | None = None,
        *,
        csv_path: str | os.PathLike[str] | None = None,
        operation: Operation = "insert",
        external_id_field: str | None = None,
        columns: Sequence[str] | None = None,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        assignment_rule_id: str | None = None,
        progress: ProgressCallback | None = None,
        poll: PollPolicy | None = None,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        match_window: int = DEFAULT_MATCH_WINDOW,
    ) -> IngestResult:
        """Load `records` (models or mappings) or a CSV file, wait, and report.

        Columns come from `columns`, the CSV header, or the first record's set fields; a
        later record setting anything else raises `CsvHeaderError`. UNSET (or an empty
        cell) leaves a field alone, None (`#N/A`) nulls it. Returns when every job is
        JobComplete, Failed or Aborted; close the result (or use `with`) to drop the
        input kept for matching.
        """
        _check_ingest(records, csv_path, operation, external_id_field)
        dialect = CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending)
        catalog = self._catalog(sobject)
        if csv_path is not None:
            header, rows = file_input(csv_path, catalog, operation, external_id_field, dialect)
        else:
            header, rows = record_input(
                records or (), catalog, operation, external_id_field, columns
            )
        spools: dict[str, Spool] = {}
        # encoded, not yet sent: a file's uploads are all encoded first (its one read is
        # also its check), records' are sent as each upload fills
        pending: list[Spool] = []
        whole = csv_path is not None
        uploaded = 0
        try:
            for piece in split_uploads(
                header, rows, dialect=dialect, max_upload_bytes=max_upload_bytes
            ):
                if not pending or piece.job != pending[-1].number:
                    if pending and not whole:
                        self._send_pending(
                            pending, catalog.sobject, operation, dialect, external_id_field,
                            assignment_rule_id, spools, progress,
                        )  # fmt: skip
                    pending.append(Spool(piece.job, uploaded))
                pending[-1].write(piece.data, piece.rows)
                uploaded += piece.rows
            self._send_pending(
                pending, catalog.sobject, operation, dialect, external_id_field,
                assignment_rule_id, spools, progress,
            )  # fmt: skip
            finished = self.wait(list(spools), "ingest", poll=poll, progress=progress)
        except Exception as exc:
            self._drop(spools, pending)
            if spools and not isinstance(exc, BulkTimeoutError):
                raise BulkIngestInterruptedError(
                    f"ingest stopped after {len(spools)} job(s) were created ({exc}); they "
                    "keep running: resume_ingest(job_ids) collects their results",
                    job_ids=list(spools),
                ) from exc
            raise
        except BaseException:
            self._drop(spools, pending)
            raise
        unprocessed = {
            job.id: max(spools[job.id].rows - job.number_records_processed, 0) for job in finished
        }
        return IngestResult(
            self,
            finished,
            unprocessed=unprocessed,
            inputs=spools,
            uploaded=uploaded,
            match_window=match_window,
        )

    @staticmethod
    def _drop(spools: Mapping[str, Spool], pending: Sequence[Spool]) -> None:
        for spool in [*spools.values(), *pending]:
            spool.close()

    def _send_pending(
        self,
        pending: list[Spool],
        sobject: str,
        operation: Operation,
        dialect: CsvDialect,
        external_id_field: str | None,
        assignment_rule_id: str | None,
        spools: dict[str, Spool],
        progress: ProgressCallback | None,
    ) -> None:
        """Send every pending spool, oldest first; each leaves `pending` once its job exists."""
        while pending:
            self._send_upload(
                pending[0], sobject, operation, dialect, external_id_field,
                assignment_rule_id, spools, progress,
            )  # fmt: skip
            pending.pop(0)

    def _catalog(self, sobject: type[SObject] | str) -> FieldCatalog:
        if isinstance(sobject, str):
            return FieldCatalog.from_describe(self.client.describe(sobject))
        return FieldCatalog.from_model(sobject)

    def _send_upload(
        self,
        spool: Spool,
        sobject: str,
        operation: Operation,
        dialect: CsvDialect,
        external_id_field: str | None,
        assignment_rule_id: str | None,
        spools: dict[str, Spool],
        progress: ProgressCallback | None,
    ) -> None:
        """Create a job, upload one spool, close the job. An upload that may have landed is
        not re-sent into the same job: the job is aborted and the rows go to a new one."""
        attempt = 0
        while True:
            attempt += 1
            job = self.create_ingest_job(
                sobject,
                operation,
                dialect=dialect,
                external_id_field=external_id_field,
                assignment_rule_id=assignment_rule_id,
            )
            try:
                self.transport.upload(build_upload(job.id), spool)
            except OutcomeUnknownError:
                self._abort_quietly(job.id)
                if attempt >= self.client.retry.max_attempts:
                    raise
                log.warning("bulk job %s: upload outcome unknown; aborted, using a new job", job.id)
                continue
            except Exception:
                self._abort_quietly(job.id)
                raise
            self.close_job(job.id)
            spools[job.id] = spool
            if progress is not None:
                progress(
                    BulkProgress(
                        phase="upload",
                        job_ids=tuple(spools),
                        state=JobState.UPLOAD_COMPLETE.value,
                        rows_uploaded=spool.start + spool.rows,
                    )
                )
            return

    def _abort_quietly(self, job_id: str) -> None:
        try:
            self.transport.call(build_abort("ingest", job_id))
        except Exception as exc:  # best effort: the original error matters more
            log.warning("bulk job %s: abort failed (%s)", job_id, type(exc).__name__)

    # -- query: the one shape REST, SOAP and Bulk 1.0 share (rest.soql.query_arguments) -----

    @overload
    def query(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        parallel: int | None = None,
    ) -> Bulk2Query[T]: ...
    @overload
    def query(
        self,
        model: str,
        soql: Mapping[str, object] | None = None,
        params: None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        parallel: int | None = None,
    ) -> Bulk2Query[SObject]: ...
    def query(
        self,
        model: type[Any] | str,
        soql: Any = None,
        params: Any = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        parallel: int | None = None,
    ) -> Bulk2Query[Any]:
        """A query job read lazily, page by page (`page_size` is `maxRecords`).

        `query(Account, soql, params)` yields Account (the FROM object must be Account);
        `query(soql, params)` yields the package model of the FROM object, else Record.
        `:name` placeholders are bound from `params`; `include_deleted` runs queryAll.
        `parallel=N` downloads the pages `resultPages` lists (v58.0+) N at a time, rows still
        in order; without it, or where the org cannot list pages, pages are read by locator.
        """
        text, target = query_arguments(model, soql, params)
        return Bulk2Query(
            self,
            target or model_for_query(text, self.client.package),
            soql=text,
            operation="queryAll" if include_deleted else "query",
            page_size=page_size,
            dialect=CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending),
            poll=poll,
            progress=progress,
            parallel=parallel,
        )

    def query_all(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        parallel: int | None = None,
    ) -> Bulk2Query[T]:
        """queryAll: deleted and archived rows too."""
        return self.query(
            model,
            soql,
            params,
            page_size=page_size,
            include_deleted=True,
            poll=poll,
            progress=progress,
            parallel=parallel,
        )

    def query_to_csv(
        self,
        soql: str,
        path: str | os.PathLike[str],
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> QueryFileResult:
        """Run a query job and stream every page into one CSV file (constant memory)."""
        query = Bulk2Query(
            self,
            Record,  # never decoded: the bytes go to the file as Salesforce sent them
            soql=bind(soql, params),
            operation="queryAll" if include_deleted else "query",
            page_size=page_size,
            dialect=CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending),
            poll=poll,
            progress=progress,
        )
        return query.to_csv(path)

    # -- resume ------------------------------------------------------------------------------

    def resume_ingest(
        self,
        job_ids: Sequence[str] | str,
        *,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestResult:
        """Wait for ingest jobs created earlier (by any process) and report them.

        Without the input, result rows carry no `input_index`; unprocessed rows of Failed
        or Aborted jobs are counted from their result set.
        """
        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
        jobs = self.wait(ids, "ingest", poll=poll, progress=progress)
        unprocessed: dict[str, int] = {}
        for job in jobs:
            unprocessed[job.id] = 0
            if job.state != JobState.JOB_COMPLETE:
                spec = build_ingest_results(job.id, "unprocessedrecords")
                count = -1  # the header row
                for _ in self.transport.rows(spec, job.dialect):
                    count += 1
                unprocessed[job.id] = max(count, 0)
        return IngestResult(self, jobs, unprocessed=unprocessed)

    @overload
    def resume_query(
        self,
        job_id: str,
        model: None = None,
        *,
        locator: str | None = None,
        page_size: int | None = None,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[Record]: ...
    @overload
    def resume_query(
        self,
        job_id: str,
        model: type[T],
        *,
        locator: str | None = None,
        page_size: int | None = None,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[T]: ...
    def resume_query(
        self,
        job_id: str,
        model: type[Any] | None = None,
        *,
        locator: str | None = None,
        page_size: int | None = None,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[Any]:
        """Read a query job created earlier, from its first page or from a saved `locator`."""
        return Bulk2Query(
            self,
            model or Record,
            job_id=job_id,
            page_size=page_size,
            poll=poll,
            progress=progress,
            locator=locator,
        )

    def resume(
        self,
        job_id: str,
        *,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestResult | Bulk2Query[Record]:
        """Either kind of job by id: an ingest result, or the query's rows as Records."""
        job = self.job_info(job_id)
        if job.kind == "ingest":
            return self.resume_ingest([job.id], poll=poll, progress=progress)
        return self.resume_query(job.id, poll=poll, progress=progress)
