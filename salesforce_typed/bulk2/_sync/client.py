# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, overload

from salesforce_typed.bulk2._sync.jobs import Bulk2Jobs
from salesforce_typed.bulk2._sync.query import Bulk2Query
from salesforce_typed.bulk2._sync.results import IngestResult
from salesforce_typed.bulk2._sync.transport import Spool, file_input, record_input
from salesforce_typed.bulk2.rows import DEFAULT_MATCH_WINDOW
from salesforce_typed.bulk2.states import JobState
from salesforce_typed.bulk2.window import PageWindow
from salesforce_typed.bulk2.wire import (
    Bulk2Job,
    BulkIngestInterruptedError,
    BulkProgress,
    BulkTimeoutError,
    ProgressCallback,
    QueryFileResult,
    build_abort,
    build_ingest_results,
    build_upload,
)
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core.errors import NotFoundError, OutcomeUnknownError, UsageError
from salesforce_typed.core.models import Record, SObject
from salesforce_typed.jobs.csv_chunks import (
    CONCURRENT_UPLOADS,
    MAX_UPLOAD_BYTES,
    OPERATIONS,
    ColumnDelimiter,
    CsvDialect,
    FieldCatalog,
    LineEnding,
    Operation,
    split_uploads,
)
from salesforce_typed.jobs.job_split import count_lines, known_size, rows_per_job
from salesforce_typed.jobs.journal import (
    CLOSED,
    CREATING,
    NEW,
    OPEN,
    UPLOADED,
    Journal,
    JournalEntry,
    JournalPart,
    PartTracker,
    fingerprint,
)
from salesforce_typed.jobs.polling import PollPolicy
from salesforce_typed.jobs.query_model import model_for_query
from salesforce_typed.query._sync.rows import run_select
from salesforce_typed.query.builder import Select
from salesforce_typed.rest.soql import bind, query_arguments

__all__ = ["Bulk2"]

log = logging.getLogger("salesforce_typed.bulk")
T = TypeVar("T", bound=SObject)
RowT = TypeVar("RowT")


def _check_ingest(
    records: object,
    csv_path: object,
    operation: str,
    external_id_field: str | None,
    parallel_jobs: int | None,
    max_rows_per_job: int | None,
) -> None:
    """Refuse a bad combination before anything is read or sent."""
    if (records is None) == (csv_path is None):
        raise UsageError("pass records or csv_path, not both")
    if operation not in OPERATIONS:
        raise UsageError(f"operation must be one of {', '.join(OPERATIONS)}")
    if operation == "upsert" and not external_id_field:
        raise UsageError("upsert needs external_id_field")
    if parallel_jobs is not None and parallel_jobs < 1:
        raise UsageError("parallel_jobs must be at least 1")
    if max_rows_per_job is not None and max_rows_per_job < 1:
        raise UsageError("max_rows_per_job must be at least 1")


def _row_cap(
    records: Iterable[object] | None,
    csv_path: str | os.PathLike[str] | None,
    parallel_jobs: int | None,
    max_rows_per_job: int | None,
) -> int | None:
    """Rows per job: as asked, else by the input's size (`job_split.rows_per_job`)."""
    if max_rows_per_job is not None or parallel_jobs == 1:
        return max_rows_per_job
    size = count_lines(csv_path) if csv_path is not None else known_size(records)
    return rows_per_job(size, parallel_jobs)


def _instant(stamp: str | None) -> float | None:
    """Seconds since the epoch of a journal or JobInfo time (`...Z`, `...+0000`), or None."""
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _journal(journal: Journal | bool | None) -> Journal | None:
    if journal is True:
        return Journal()
    return journal or None


class Bulk2(Bulk2Jobs):
    """Bulk API 2.0 through an Salesforce's connection, auth, retry policy and clock.

    Ingest, query and resume are here; the job calls and the polling loop it inherits
    (`job_info`, `abort`, `wait`, ...) are `Bulk2Jobs`'s (`_sync/jobs.py`).
    """

    _stopping = False  # set on an interrupt: uploads finishing on other threads abort their job

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
        journal: Journal | bool | None = None,
        notify: Callable[[str], None] | None = None,
        parallel_jobs: int | None = None,
        max_rows_per_job: int | None = None,
    ) -> IngestResult:
        """Load `records` (models or mappings) or a CSV file, wait, and report.

        Columns come from `columns`, the CSV header, or the first record's set fields; a
        later record setting anything else raises `CsvHeaderError`. UNSET (or an empty
        cell) leaves a field alone, None (`#N/A`) nulls it. Returns when every job is
        JobComplete, Failed or Aborted; close the result (or use `with`) to drop the
        input kept for matching.

        `journal=True` (or a `Journal(path)`), for a CSV file: every step is journaled, and
        the same load found in the journal (same org, object, operation, file content) is
        picked up where it stopped instead of loaded again; `notify` hears what was done.

        A big input goes to several jobs, uploaded, closed and polled side by side (Salesforce
        runs them in parallel), results matched to input rows across them: `parallel_jobs=N`
        cuts it into about N jobs, `max_rows_per_job` caps each job's rows (and wins); by
        default a file (or a sized collection) of 200,000 rows or more is cut into jobs of at
        least 100,000 rows, at most 10 (`jobs/job_split.py`); `parallel_jobs=1` keeps one job
        per 150 MB.
        A journaled load keeps the cut it started with.
        """
        _check_ingest(
            records, csv_path, operation, external_id_field, parallel_jobs, max_rows_per_job
        )
        dialect = CsvDialect(column_delimiter=column_delimiter, line_ending=line_ending)
        catalog = self._catalog(sobject)
        book = _journal(journal)
        if book is not None:
            if csv_path is None:
                raise UsageError("journal= needs csv_path: the journal fingerprints a file")
            source = fingerprint(csv_path)
            instance = self.client.connection.get_instance_url(self.client.http)
            entry = book.find(instance, catalog.sobject, operation, external_id_field, source)
            if entry is None:
                entry = book.new(
                    instance_url=instance,
                    sobject=catalog.sobject,
                    operation=operation,
                    external_id_field=external_id_field,
                    column_delimiter=column_delimiter,
                    line_ending=line_ending,
                    max_upload_bytes=max_upload_bytes,
                    max_rows_per_job=_row_cap(None, csv_path, parallel_jobs, max_rows_per_job),
                    input=source,
                )
            elif notify is not None:
                notify(
                    f"found {entry.id} in the journal ({entry.state}, jobs "
                    f"{', '.join(entry.job_ids) or 'none yet'}): picking it up, not loading again"
                    + (
                        " (to load the file again: `salesforce-typed bulk jobs --forget "
                        f"{entry.id}`)"
                        if entry.state == "ended"
                        else ""
                    )
                )
            try:
                return self._journaled(
                    book, entry, catalog, assignment_rule_id=assignment_rule_id,
                    progress=progress, poll=poll, match_window=match_window, notify=notify,
                )  # fmt: skip
            except Exception:
                if all(p.state == NEW and not p.aborted_jobs for p in entry.parts):
                    book.forget(entry.id)  # refused before any job was asked for: no trace
                raise
        cap = _row_cap(records, csv_path, parallel_jobs, max_rows_per_job)
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
                header, rows, dialect=dialect, max_upload_bytes=max_upload_bytes, max_rows=cap
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
            totals = {job_id: spool.rows for job_id, spool in spools.items()}
            finished = self.wait(
                list(spools), "ingest", poll=poll, progress=progress, totals=totals
            )
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

    def _journaled(
        self,
        book: Journal,
        entry: JournalEntry,
        catalog: FieldCatalog,
        *,
        assignment_rule_id: str | None = None,
        progress: ProgressCallback | None = None,
        poll: PollPolicy | None = None,
        match_window: int = DEFAULT_MATCH_WINDOW,
        notify: Callable[[str], None] | None = None,
        send: bool = True,
    ) -> IngestResult:
        """Finish a journaled load: pick up its jobs, send the parts that have none (`send`),
        wait, write the ending states. The file is re-read to match results to input rows,
        unless its content changed (then rows carry no `input_index`)."""
        try:
            unchanged = fingerprint(entry.input.path).same_content(entry.input)
        except OSError:
            unchanged = False
        if not unchanged and send and any(p.state in (NEW, CREATING, OPEN) for p in entry.parts):
            raise UsageError(
                f"{entry.input.path} changed or is gone since {entry.id} started: its rows not "
                "yet uploaded cannot be sent"
            )
        dialect = CsvDialect(
            column_delimiter=entry.column_delimiter,  # type: ignore[arg-type]
            line_ending=entry.line_ending,  # type: ignore[arg-type]
        )
        spools = self._encode_file(entry, catalog, dialect) if unchanged else []
        bounds = [(s.start, s.rows) for s in spools]
        if spools and not entry.parts:
            entry.parts = [JournalPart(start=start, rows=rows) for start, rows in bounds]
            book.save(entry)
        elif spools and [(p.start, p.rows) for p in entry.parts] != bounds:
            self._drop({}, spools)
            raise UsageError(f"{entry.id}: the file no longer cuts into the recorded uploads")
        inputs: dict[str, Spool] = {}
        kept: list[JournalPart] = []  # the parts with a job to wait for, in input order
        trackers: dict[int, PartTracker] = {}  # by id() of the spool each one sends
        try:
            for number, part in enumerate(entry.parts):
                spool = spools[number] if spools else None
                job_id = self._pick_up(book, entry, part, notify, send=send)
                if job_id is not None:
                    kept.append(part)
                    if spool is not None:
                        inputs[job_id] = spool
                elif send and spool is not None:
                    kept.append(part)
                    trackers[id(spool)] = PartTracker(book, entry, part, notify)
            to_send = [s for s in spools if id(s) in trackers]
            self._send_pending(
                to_send, entry.sobject, entry.operation, dialect,  # type: ignore[arg-type]
                entry.external_id_field, assignment_rule_id, inputs, progress, trackers,
            )  # fmt: skip
            waiting = [p.job_id for p in kept if p.job_id]
            finished = self.wait(waiting, "ingest", poll=poll, progress=progress)
        except Exception as exc:
            self._drop(inputs, spools)
            if entry.job_ids and not isinstance(exc, BulkTimeoutError):
                raise BulkIngestInterruptedError(
                    f"ingest stopped ({exc}); its jobs keep running and the journal "
                    f"{entry.id} knows them: run the same load again, or resume_ingest",
                    job_ids=entry.job_ids,
                ) from exc
            raise
        except BaseException:
            self._drop(inputs, spools)
            raise
        for spool in spools:
            if spool not in inputs.values():
                spool.close()
        parts = {p.job_id: p for p in entry.parts}
        unprocessed = {}
        for job in finished:
            part = parts[job.id]
            part.state = str(job.state)
            part.processed = job.number_records_processed
            part.failed = job.number_records_failed
            unprocessed[job.id] = max(part.rows - job.number_records_processed, 0)
        book.save(entry)
        return IngestResult(
            self,
            finished,
            unprocessed=unprocessed,
            inputs=inputs,
            uploaded=sum(parts[job.id].rows for job in finished),
            match_window=match_window,
            entry=entry,
        )

    @staticmethod
    def _encode_file(
        entry: JournalEntry, catalog: FieldCatalog, dialect: CsvDialect
    ) -> list[Spool]:
        """The journaled file encoded again into its uploads (the same cut every time)."""
        header, rows = file_input(
            entry.input.path, catalog, entry.operation, entry.external_id_field, dialect
        )
        spools: list[Spool] = []
        uploaded = 0
        try:
            for piece in split_uploads(
                header,
                rows,
                dialect=dialect,
                max_upload_bytes=entry.max_upload_bytes,
                max_rows=entry.max_rows_per_job,
            ):
                if not spools or piece.job != spools[-1].number:
                    spools.append(Spool(piece.job, uploaded))
                spools[-1].write(piece.data, piece.rows)
                uploaded += piece.rows
        except BaseException:
            Bulk2._drop({}, spools)
            raise
        return spools

    def _pick_up(
        self,
        book: Journal,
        entry: JournalEntry,
        part: JournalPart,
        notify: Callable[[str], None] | None,
        *,
        send: bool,
    ) -> str | None:
        """The job to wait for on this part, or None when its rows need a (new) job.

        Open on Salesforce: closed if its upload had answered, else aborted (a half upload
        must not run). Aborted before it ran: its rows go to a new job. Anything else runs
        or ran: waited for, never sent again.
        """
        say = notify or (lambda message: None)
        job_id = part.job_id
        if job_id is None:
            if part.state == CREATING and send:
                self._abort_orphans(book, entry, part, say)
            return None
        try:
            job = self.job_info(job_id, "ingest")
        except NotFoundError:
            if part.state in (NEW, OPEN):
                part.reset()
                book.save(entry)
                say(f"job {job_id}: gone from Salesforce before it ran; its rows go to a new job")
                return None
            raise UsageError(
                f"job {job_id} of {entry.id} is gone from Salesforce after its upload: what it "
                "loaded is unknown (forget the entry with `salesforce-typed bulk jobs --forget "
                f"{entry.id}`)"
            ) from None
        if job.state == JobState.OPEN:
            if not send:
                say(f"job {job_id}: still Open, its upload unfinished (`bulk resume` sends it)")
                return None
            if part.state == UPLOADED:
                self.close_job(job_id)
                part.state = CLOSED
                book.save(entry)
                say(f"job {job_id}: its upload had landed; closed it now, nothing sent again")
                return job_id
            self.abort(job_id, "ingest")
            part.reset()
            book.save(entry)
            say(f"job {job_id}: left Open by an interrupted upload; aborted, rows go to a new job")
            return None
        before_run = part.state in (NEW, OPEN, UPLOADED) and job.number_records_processed == 0
        if job.state == JobState.ABORTED and before_run:
            part.reset()
            book.save(entry)
            say(f"job {job_id}: aborted before it ran; its rows go to a new job")
            return None
        ended = str(job.state) in ("JobComplete", "Failed", "Aborted")
        say(
            f"job {job_id}: {job.state} from an earlier run; "
            f"{'reporting it' if ended else 'waiting for it'}, no row sent again"
        )
        return job_id

    def _abort_orphans(
        self, book: Journal, entry: JournalEntry, part: JournalPart, say: Callable[[str], None]
    ) -> list[str]:
        """Abort the job a create request made if it was cut off before its answer was
        journaled: Open, same object, operation and dialect, created within two minutes of
        the request (a minute of clock skew allowed), known to no journal entry, and by the
        same user as the load's other jobs when it has any. Nothing was uploaded to it."""
        since = _instant(part.creating_at)
        found: list[str] = []
        if since is None:
            return found
        known = {i for e in book.entries() for p in e.parts for i in [p.job_id, *p.aborted_jobs]}
        users = {(self.job_info(i, "ingest")).extra.get("createdById") for i in entry.job_ids}
        users.discard(None)
        for job in self.list_jobs("ingest"):
            made = _instant(job.created_date)
            if (
                job.state != JobState.OPEN
                or job.id in known
                or made is None
                or not since - 60 <= made <= since + 120
                or job.object.lower() != entry.sobject.lower()
                or job.operation != entry.operation
                or (job.external_id_field or "") != (entry.external_id_field or "")
                or (job.column_delimiter, job.line_ending)
                != (entry.column_delimiter, entry.line_ending)
                or (users and job.extra.get("createdById") not in users)
            ):
                continue
            self.abort(job.id, "ingest")
            part.aborted_jobs.append(job.id)
            found.append(job.id)
            say(f"job {job.id}: created as the run was cut off, never journaled; aborted")
        part.state = NEW
        book.save(entry)
        return found

    def stop_load(self, entry: JournalEntry, journal: Journal) -> tuple[list[str], list[str]]:
        """After an interrupt: abort the load's jobs still Open (a half upload never runs) and
        say which keep running. Returns (aborted, running) job ids."""
        aborted: list[str] = []
        running: list[str] = []
        for part in entry.parts:
            if part.state == CREATING:
                aborted += self._abort_orphans(journal, entry, part, lambda message: None)
            if part.job_id is None or part.ended:
                continue
            if part.state in (OPEN, UPLOADED):
                job = self.abort(part.job_id, "ingest")
                if job.state == JobState.ABORTED:
                    aborted.append(part.job_id)
                    part.reset()
                    journal.save(entry)
                    continue
            running.append(part.job_id)
        return aborted, running

    def job_status(
        self, job_id: str, *, journal: Journal | bool | None = None
    ) -> list[Bulk2Job]:
        """The JobInfo of a job, or, with a journal, of every job of the load holding it."""
        book = _journal(journal)
        entry = book.entry_for(job_id) if book is not None else None
        ids = entry.job_ids if entry is not None and entry.job_ids else [job_id]
        return [self.job_info(one) for one in ids]

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
        trackers: Mapping[int, PartTracker] | None = None,
    ) -> None:
        """Send every pending spool, `CONCURRENT_UPLOADS` at a time; each leaves `pending`
        once its job exists, `spools` keeps input order. After a failure the uploads under
        way finish (none is left half sent) and the first error is raised. `trackers` (by
        `id()` of a spool) journal each upload's steps."""
        errors: list[Exception] = []
        self._stopping = False  # an earlier interrupted call's uploads have all ended
        try:
            with PageWindow[None](CONCURRENT_UPLOADS) as window:
                try:
                    for spool in pending:
                        if window.full:
                            self._settle(window, errors)
                        if errors:
                            break
                        upload = partial(
                            self._send_upload, spool, sobject, operation, dialect,
                            external_id_field, assignment_rule_id, spools, progress,
                            (trackers or {}).get(id(spool)),
                        )  # fmt: skip
                        window.start(upload)
                    while len(window):
                        self._settle(window, errors)
                except BaseException as exc:
                    if not isinstance(exc, Exception):  # Ctrl-C, a cancelled task
                        self._stopping = True  # the uploads still running close no job
                    raise
        finally:
            ordered = sorted(spools.items(), key=lambda item: item[1].start)
            spools.clear()
            spools.update(ordered)
            sent = set(map(id, spools.values()))
            pending[:] = [spool for spool in pending if id(spool) not in sent]
        if errors:
            raise errors[0]

    @staticmethod
    def _settle(window: PageWindow[None], errors: list[Exception]) -> None:
        try:
            window.next()
        except Exception as exc:  # kept: the other uploads under way finish first
            errors.append(exc)

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
        tracker: PartTracker | None = None,
    ) -> None:
        """Create a job, upload one spool, close the job. An upload that may have landed is
        not re-sent into the same job: the job is aborted and the rows go to a new one.
        A `tracker` journals each step before the next request."""
        attempt = 0
        while True:
            attempt += 1
            if tracker is not None:
                tracker.creating()
            job = self.create_ingest_job(
                sobject,
                operation,
                dialect=dialect,
                external_id_field=external_id_field,
                assignment_rule_id=assignment_rule_id,
            )
            if tracker is not None:
                tracker.created(job.id)
            try:
                self.transport.upload(build_upload(job.id), spool)
            except OutcomeUnknownError:
                self._abort_quietly(job.id)
                if tracker is not None:
                    tracker.aborted()
                if attempt >= self.client.retry.max_attempts:
                    raise
                log.warning("bulk job %s: upload outcome unknown; aborted, using a new job", job.id)
                continue
            except Exception:
                self._abort_quietly(job.id)
                raise
            if tracker is not None:
                tracker.uploaded()
            if self._stopping:  # interrupted meanwhile: this job must not run
                self._abort_quietly(job.id)
                if tracker is not None:
                    tracker.aborted()
                    tracker.say(
                        f"job {job.id}: aborted (it was still Open: none of its rows will load)"
                    )
                return
            self.close_job(job.id)
            if tracker is not None:
                tracker.closed()
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
        model: Select[Any, RowT],
        /,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
    ) -> Pager[RowT]: ...
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
        model: type[Any] | str | Select[Any, Any],
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
    ) -> Pager[Any]:
        """A query job read lazily, page by page (`page_size` is `maxRecords`).

        `query(Account, soql, params)` yields Account (the FROM object must be Account);
        `query(soql, params)` yields the package model of the FROM object, else Record.
        `:name` placeholders are bound from `params`; `include_deleted` runs queryAll.
        `parallel=N` downloads the pages `resultPages` lists (v58.0+) N at a time, rows still
        in order; without it, or where the org cannot list pages, pages are read by locator.
        """
        if isinstance(model, Select):
            return run_select(
                self.query, model, page_size=page_size, include_deleted=include_deleted
            )
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
        journal: Journal | bool | None = None,
        notify: Callable[[str], None] | None = None,
        upload: bool = True,
    ) -> IngestResult:
        """Wait for ingest jobs created earlier (by any process) and report them.

        With a `journal` holding the load: its parts not yet uploaded are sent (unless
        `upload=False`), jobs left Open are closed or aborted, and result rows carry the
        `input_index` of their row in the file. Without, result rows carry no `input_index`;
        unprocessed rows of Failed or Aborted jobs are counted from their result set.
        """
        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
        book = _journal(journal)
        entry = book.entry_for(ids[0]) if book is not None and ids else None
        if book is not None and entry is not None:
            catalog = self._catalog(entry.sobject)
            return self._journaled(
                book, entry, catalog, progress=progress, poll=poll, notify=notify, send=upload
            )
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
        journal: Journal | bool | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> IngestResult | Bulk2Query[Record]:
        """Either kind of job by id: an ingest result (finished from the `journal` when it
        holds the load), or the query's rows as Records."""
        job = self.job_info(job_id)
        if job.kind == "ingest":
            return self.resume_ingest(
                [job.id], poll=poll, progress=progress, journal=journal, notify=notify
            )
        return self.resume_query(job.id, poll=poll, progress=progress)
