# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from salesforce_typed.bulk2._sync.query import DEFAULT_PAGE_SIZE, Bulk2Query
from salesforce_typed.bulk2._sync.results import IngestResult
from salesforce_typed.bulk2._sync.transport import (
    BulkTransport,
    Spool,
    file_input,
    record_input,
)
from salesforce_typed.bulk2.rows import DEFAULT_MATCH_WINDOW
from salesforce_typed.bulk2.states import RETRYABLE, JobState, PollAction
from salesforce_typed.bulk2.wire import (
    Bulk2Job,
    BulkIngestInterruptedError,
    BulkJobAbortedError,
    BulkJobError,
    BulkJobFailedError,
    BulkProgress,
    BulkTimeoutError,
    InvalidJobStateError,
    JobKind,
    ProgressCallback,
    QueryFileResult,
    build_abort,
    build_close,
    build_create_ingest,
    build_delete,
    build_get,
    build_ingest_results,
    build_list,
    build_upload,
    parse_job,
    parse_job_page,
)
from salesforce_typed.core.errors import (
    APIStatusError,
    NotFoundError,
    OutcomeUnknownError,
    RequestNotSentError,
    ServerError,
)
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
from salesforce_typed.rest.soql import bind

if TYPE_CHECKING:
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = ["Bulk2"]

log = logging.getLogger("salesforce_typed.bulk")
T = TypeVar("T", bound=SObject)


class Bulk2:
    """Bulk API 2.0 through an Salesforce's connection, auth, retry policy and clock."""

    def __init__(self, client: Salesforce, *, poll: PollPolicy | None = None) -> None:
        self.client = client
        self.transport = BulkTransport(client)
        self.poll = poll or PollPolicy()

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
        if (records is None) == (csv_path is None):
            raise ValueError("pass records or csv_path, not both")
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
        if operation == "upsert" and not external_id_field:
            raise ValueError("upsert needs external_id_field")
        dialect = CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending)
        catalog = self._catalog(sobject)
        if csv_path is not None:
            header, rows = file_input(csv_path, catalog, operation, external_id_field, dialect)
        else:
            assert records is not None
            header, rows = record_input(records, catalog, operation, external_id_field, columns)
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

    # -- low-level job calls -----------------------------------------------------------------

    def create_ingest_job(
        self,
        sobject: str,
        operation: Operation,
        *,
        dialect: CsvDialect | None = None,
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
    ) -> Bulk2Job:
        spec = build_create_ingest(
            sobject,
            operation,
            dialect=dialect,
            external_id_field=external_id_field,
            assignment_rule_id=assignment_rule_id,
        )
        return parse_job(self.transport.call(spec), "ingest")

    def upload(self, job_id: str, data: bytes) -> None:
        """PUT CSV to an Open job (`InvalidJobStateError` once it is closed)."""
        self.transport.upload(build_upload(job_id), data)

    def close_job(self, job_id: str) -> Bulk2Job:
        """UploadComplete. A PATCH re-sent after the first landed finds the job closed: fine."""
        try:
            return parse_job(self.transport.call(build_close(job_id)), "ingest")
        except InvalidJobStateError:
            job = self.job_info(job_id, "ingest")
            if job.state == JobState.OPEN:
                raise
            return job

    def job_info(self, job_id: str, kind: JobKind | None = None) -> Bulk2Job:
        """A job's JobInfo; without `kind`, ingest is tried first, then query."""
        if kind is not None:
            return parse_job(self.transport.call(build_get(kind, job_id)), kind)
        try:
            return parse_job(self.transport.call(build_get("ingest", job_id)), "ingest")
        except NotFoundError:
            return parse_job(self.transport.call(build_get("query", job_id)), "query")

    def abort(self, job_id: str, kind: JobKind | None = None) -> Bulk2Job:
        """Abort a job that has not ended; a PATCH re-sent after the first one landed finds
        the job Aborted already, which is what was asked."""
        kind = kind or (self.job_info(job_id)).kind
        try:
            return parse_job(self.transport.call(build_abort(kind, job_id)), kind)
        except InvalidJobStateError:
            job = self.job_info(job_id, kind)
            if job.state != JobState.ABORTED:
                raise
            return job

    def delete(self, job_id: str, kind: JobKind | None = None) -> None:
        """Delete a job and its data (Salesforce allows it once the job is closed)."""
        kind = kind or (self.job_info(job_id)).kind
        self.transport.call(build_delete(kind, job_id))

    def list_jobs(self, kind: JobKind = "ingest") -> Iterator[Bulk2Job]:
        """Every job of the kind, following `nextRecordsUrl`."""
        next_url: str | None = None
        while True:
            page = parse_job_page(self.transport.call(build_list(kind, next_url)), kind)
            for job in page.jobs:
                yield job
            if page.done or not page.next_records_url:
                return
            next_url = page.next_records_url

    def wait(
        self,
        job_ids: Sequence[str],
        kind: JobKind,
        *,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        required: bool = False,
    ) -> list[Bulk2Job]:
        """Poll until every job is JobComplete, Failed or Aborted; their final JobInfos.

        `required` (query jobs): Failed and Aborted raise instead of returning. A job still
        Open raises `BulkJobError`; the policy's timeout raises `BulkTimeoutError`.
        """
        policy = poll or self.poll
        clock = self.client.clock
        started = clock.monotonic()
        wanted = list(dict.fromkeys(job_ids))
        pending = list(wanted)
        latest: dict[str, Bulk2Job] = {}
        polls = 0
        while pending:
            polls += 1
            for job_id in list(pending):
                job = self._poll_once(job_id, kind)
                if job is None:
                    continue
                latest[job_id] = job
                decision = job.decision
                log.debug("bulk job %s: %s (%s)", job_id, decision.action.value, decision.reason)
                if decision.action is PollAction.WAIT:
                    continue
                pending.remove(job_id)
                self._check_end(job, decision.action, required)
            if progress is not None:
                progress(self._poll_report(wanted, latest, len(wanted) - len(pending)))
            if not pending:
                break
            delay = policy.interval(polls)
            if policy.timeout is not None:
                left = policy.timeout - (clock.monotonic() - started)
                if left <= 0:
                    raise BulkTimeoutError(
                        f"{len(pending)} bulk job(s) still running after {policy.timeout:g}s: "
                        f"{', '.join(pending)}",
                        job_ids=wanted,
                    )
                delay = min(delay, left)
            clock.sleep(delay)
        return [latest[job_id] for job_id in wanted]

    def _poll_once(self, job_id: str, kind: JobKind) -> Bulk2Job | None:
        """One state read; None when a transient error says "ask again later"."""
        try:
            return self.job_info(job_id, kind)
        except (RequestNotSentError, OutcomeUnknownError) as exc:
            log.info("bulk job %s: poll failed (%s); polling again", job_id, type(exc).__name__)
        except APIStatusError as exc:
            if not isinstance(exc, ServerError) and exc.error_code not in RETRYABLE:
                raise
            reason = RETRYABLE.get(exc.error_code, f"{exc.status_code} server error")
            log.info("bulk job %s: %s (%s); polling again", job_id, exc.error_code, reason)
        return None

    @staticmethod
    def _check_end(job: Bulk2Job, action: PollAction, required: bool) -> None:
        reason = job.decision.reason
        if action is PollAction.NOT_CLOSED:
            raise BulkJobError(f"bulk job {job.id} is {reason}", job=job)
        if required and action is PollAction.PARTIAL:
            raise BulkJobFailedError(f"bulk job {job.id} failed: {job.error_message}", job=job)
        if required and action is PollAction.ABORTED:
            raise BulkJobAbortedError(f"bulk job {job.id} was aborted", job=job)

    @staticmethod
    def _poll_report(wanted: list[str], latest: Mapping[str, Bulk2Job], done: int) -> BulkProgress:
        states = {job.state for job in latest.values()}
        return BulkProgress(
            phase="poll",
            job_ids=tuple(wanted),
            state=states.pop() if len(states) == 1 else "mixed",
            processed=sum(job.number_records_processed for job in latest.values()),
            failed=sum(job.number_records_failed for job in latest.values()),
            jobs_done=done,
        )

    # -- query -------------------------------------------------------------------------------

    @overload
    def query(
        self,
        soql: str,
        model: None = None,
        *,
        params: Mapping[str, object] | None = None,
        include_deleted: bool = False,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[Record]: ...
    @overload
    def query(
        self,
        soql: str,
        model: type[T],
        *,
        params: Mapping[str, object] | None = None,
        include_deleted: bool = False,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[T]: ...
    def query(
        self,
        soql: str,
        model: type[Any] | None = None,
        *,
        params: Mapping[str, object] | None = None,
        include_deleted: bool = False,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[Any]:
        """A query job read lazily as typed models (Record without a model), page by page.

        `:name` placeholders are bound from `params`; `include_deleted` runs queryAll.
        """
        return Bulk2Query(
            self,
            model or Record,
            soql=bind(soql, params) if params else soql,
            operation="queryAll" if include_deleted else "query",
            page_size=page_size,
            dialect=CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending),
            poll=poll,
            progress=progress,
        )

    def query_to_csv(
        self,
        soql: str,
        path: str | os.PathLike[str],
        *,
        params: Mapping[str, object] | None = None,
        include_deleted: bool = False,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        column_delimiter: ColumnDelimiter = "COMMA",
        line_ending: LineEnding = "LF",
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> QueryFileResult:
        """Run a query job and stream every page into one CSV file (constant memory)."""
        query = self.query(
            soql,
            params=params,
            include_deleted=include_deleted,
            page_size=page_size,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
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
        page_size: int | None = DEFAULT_PAGE_SIZE,
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
        page_size: int | None = DEFAULT_PAGE_SIZE,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
    ) -> Bulk2Query[T]: ...
    def resume_query(
        self,
        job_id: str,
        model: type[Any] | None = None,
        *,
        locator: str | None = None,
        page_size: int | None = DEFAULT_PAGE_SIZE,
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
