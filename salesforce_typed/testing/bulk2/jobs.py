"""The fake org's Bulk API 2.0 jobs: the table, the settings tests switch, JobInfo rendering.

Jobs live in `state.extensions["bulk_v2"]`. Processing runs as asyncio tasks on the server's
loop (`ingest`, `query`), one slice of rows at a time, yielding in between so
polls are answered while a big job runs.

What must stay true:
- The state machine of wire ref. §8.1: ingest `Open` -> `UploadComplete` -> `InProgress` ->
  `JobComplete` | `Failed`; query jobs start at `UploadComplete`; `Aborted` from any state
  before the terminal two. `transition` is the only place that moves a job.
- Uploaded data and results are spooled (memory, then a temp file), never held as Python
  rows: a million-row job costs the org disk, not RAM.
- Settings (processing delay, pause, page sizes, upload limit, forced failure) change at run
  time through `/_admin/bulk-v2` or `settings(state)`; the defaults match Salesforce.
- With a data dir, every job and its data survive a restart (written at each state change
  and at stop, read back at start): a queued job runs after it, a query interrupted mid-run
  runs again, and an ingest job stopped mid-run goes on from its first unprocessed row (at
  stop the loop is between slices: rows, results and `processed` agree). An ingest job
  whose process was killed mid-run fails instead: which of its rows were written is unknown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import shutil
import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final, Literal

import attrs

from salesforce_typed.testing.org import changes, persist
from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.soql import format_datetime

__all__ = [
    "ABORTABLE",
    "DELETABLE",
    "TERMINAL",
    "BulkJob",
    "BulkSettings",
    "JobTable",
    "jobs",
    "settings",
    "spool",
]

Kind = Literal["ingest", "query"]

OPEN: Final = "Open"
UPLOAD_COMPLETE: Final = "UploadComplete"
IN_PROGRESS: Final = "InProgress"
JOB_COMPLETE: Final = "JobComplete"
FAILED: Final = "Failed"
ABORTED: Final = "Aborted"
TERMINAL: Final = frozenset({JOB_COMPLETE, FAILED, ABORTED})
ABORTABLE: Final = frozenset({OPEN, UPLOAD_COMPLETE, IN_PROGRESS})
# Salesforce deletes jobs once closed; an Open or running one must be aborted first.
DELETABLE: Final = frozenset({UPLOAD_COMPLETE, JOB_COMPLETE, FAILED, ABORTED})
_SPOOL_MEMORY: Final = 16 << 20
_SPOOLS: Final = ("upload", "successful", "failures", "rows")
# what a restart does to a job it interrupted mid-run
_INTERRUPTED: Final = "InternalServerError : the org restarted while the job ran"


def spool() -> tempfile.SpooledTemporaryFile[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY, mode="w+b")


@attrs.define(kw_only=True)
class BulkSettings:
    """Knobs for tests; `/_admin/bulk-v2` sets the same names."""

    processing_delay: float = 0.0  # seconds (real time) a closed job waits before it runs
    paused: bool = False  # hold every job at UploadComplete: set through pause()/release()
    slice_rows: int = 2000  # rows per write transaction; the loop yields between slices
    batch_rows: int = 10_000  # Salesforce's internal batch size (reported, not enforced)
    max_upload_bytes: int = 150_000_000  # per job, counted after base64
    list_page_size: int = 1000  # jobs per `GET /jobs/...` page
    default_max_records: int = 50_000  # query rows per results page without maxRecords
    fail_after: int | None = None  # force ingest jobs to Failed after this many rows
    gzip_level: int = 1

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.define(kw_only=True, eq=False)
class BulkJob:
    """One job and everything it holds. Counters are what JobInfo reports."""

    id: str
    kind: Kind
    operation: str
    object: str
    api_version: str
    created_by: str
    created_date: str
    system_modstamp: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    state: str = OPEN
    error_message: str | None = None
    processed: int = 0
    failed: int = 0
    retries: int = 0
    total_processing_time: int = 0
    origin: changes.Origin = attrs.field(factory=changes.Origin)
    query: str | None = None
    # ingest: the uploaded CSV and the two result sets, each a spooled CSV (header included)
    upload: tempfile.SpooledTemporaryFile[bytes] | None = None
    upload_bytes: int = 0
    successful: tempfile.SpooledTemporaryFile[bytes] | None = None
    failures: tempfile.SpooledTemporaryFile[bytes] | None = None
    # query: the result rows (no header) and each row's byte offset in them
    header_line: bytes = b""
    rows: tempfile.SpooledTemporaryFile[bytes] | None = None
    offsets: array[int] = attrs.field(factory=lambda: array("Q"))
    task: asyncio.Task[None] | None = None

    @property
    def delimiter(self) -> str:
        return {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";"}.get(
            self.column_delimiter, "\t"
        )

    @property
    def terminator(self) -> str:
        return "\r\n" if self.line_ending == "CRLF" else "\n"

    def close(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done() and not task.get_loop().is_closed():
            task.get_loop().call_soon_threadsafe(task.cancel)
        # a task cancelled at shutdown keeps its frames (and the CSV reader in them) until
        # dropped: drop it before the files that reader would detach from are closed
        del task
        for handle in (self.upload, self.successful, self.failures, self.rows):
            if handle is not None:
                handle.close()

    def info(self, *, full: bool = True) -> dict[str, Any]:
        """JobInfo in Salesforce's key order; `full` adds the counters GET returns."""
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp,
            "state": self.state,
        }
        if self.external_id_field:
            out["externalIdFieldName"] = self.external_id_field
        if self.assignment_rule_id:
            out["assignmentRuleId"] = self.assignment_rule_id
        out.update(
            concurrencyMode="Parallel",
            contentType="CSV",
            apiVersion=float(self.api_version),
        )
        if self.kind == "ingest":
            out["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        out.update(lineEnding=self.line_ending, columnDelimiter=self.column_delimiter)
        if not full:
            return out
        out["jobType"] = "V2Ingest" if self.kind == "ingest" else "V2Query"
        out["numberRecordsProcessed"] = self.processed
        if self.kind == "ingest":
            out["numberRecordsFailed"] = self.failed
        out["retries"] = self.retries
        out["totalProcessingTime"] = self.total_processing_time
        if self.kind == "ingest":
            out["apiActiveProcessingTime"] = self.total_processing_time
            out["apexProcessingTime"] = 0
        if self.state == FAILED and self.error_message:
            out["errorMessage"] = self.error_message
        return out


class JobTable:
    """Every Bulk 2.0 job of the org, by kind; creation order is listing order."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.settings = BulkSettings()
        self.by_kind: dict[Kind, dict[str, BulkJob]] = {"ingest": {}, "query": {}}
        self._wake: asyncio.Event | None = None  # created on the server loop by `gate`
        self._loop: asyncio.AbstractEventLoop | None = None
        self._journal = book = persist.journal(state)
        if book is not None:
            _restore(self, book)
            state.extensions.setdefault("savers", []).append(lambda: _save(self, book))
            state.extensions.setdefault("resumers", []).append(lambda: _resume(self))

    def pause(self) -> None:
        """Hold jobs at UploadComplete (queued) until `release`; thread-safe."""
        self.settings.paused = True

    def release(self) -> None:
        """Let held jobs run; callable from any thread (tests, the admin API)."""
        self.settings.paused = False
        self.wake()

    def wake(self) -> None:
        """Make held jobs look at their state again (after a release or an abort)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    def now(self) -> str:
        return format_datetime(dt.datetime.fromtimestamp(self.state.clock(), dt.UTC))

    def add(self, job: BulkJob) -> BulkJob:
        self.by_kind[job.kind][job.id] = job
        self._keep(job)
        return job

    def _keep(self, job: BulkJob) -> None:
        """With a data dir: write the job through (its state now, its data so far)."""
        if self._journal is not None:
            self._journal.put("bulk2_job", job.id, _save_job(self._journal, job))

    def get(self, kind: Kind, job_id: str) -> BulkJob:
        job = self.by_kind[kind].get(job_id)
        if job is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def close(self) -> None:
        """When the org stops: drop every job's spooled files."""
        for by_id in self.by_kind.values():
            for job in by_id.values():
                job.close()

    def remove(self, job: BulkJob) -> None:
        self.by_kind[job.kind].pop(job.id, None)
        job.close()
        if self._journal is not None:
            self._journal.delete("bulk2_job", job.id)
            shutil.rmtree(_folder(self._journal, job.id), ignore_errors=True)

    def transition(self, job: BulkJob, to: str, *, error: str | None = None) -> None:
        """Move a job; INVALIDJOBSTATE (409) when the state machine forbids it."""
        allowed = {
            UPLOAD_COMPLETE: {OPEN},
            IN_PROGRESS: {UPLOAD_COMPLETE},
            JOB_COMPLETE: {IN_PROGRESS},
            FAILED: {UPLOAD_COMPLETE, IN_PROGRESS},
            ABORTED: ABORTABLE,
        }.get(to, set())
        if job.state not in allowed:
            raise SfError(
                409,
                "INVALIDJOBSTATE",
                f"Job {job.id} is {job.state}: it cannot move to {to}",
            )
        job.state = to
        job.system_modstamp = self.now()
        if error is not None:
            job.error_message = error
        self._keep(job)

    def start(self, job: BulkJob, run: Callable[[], Any]) -> None:
        """Run `run()` (a coroutine) as the job's task on the server loop."""
        job.task = asyncio.get_running_loop().create_task(run())

    async def gate(self, job: BulkJob) -> bool:
        """The processing delay and pause; False when the job was aborted meanwhile."""
        if self.settings.processing_delay > 0:
            await asyncio.sleep(self.settings.processing_delay)
        while self.settings.paused and job.state == UPLOAD_COMPLETE:
            # an event, not a timer: a held task left behind at shutdown has nothing to cancel
            if self._wake is None:
                self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            self._wake.clear()
            await self._wake.wait()
        return job.state == UPLOAD_COMPLETE


def jobs(state: OrgState) -> JobTable:
    """The org's Bulk 2.0 job table, created on first use."""
    table = state.extensions.get("bulk_v2")
    if isinstance(table, JobTable):
        return table
    with state.lock:
        table = state.extensions.get("bulk_v2")
        if not isinstance(table, JobTable):
            table = JobTable(state)
            state.extensions["bulk_v2"] = table
            state.extensions.setdefault("closers", []).append(table.close)
        return table


def settings(state: OrgState) -> BulkSettings:
    """The org's Bulk 2.0 settings, for tests in the same process."""
    return jobs(state).settings


# -- persistence (an org with a data dir) ------------------------------------------------------

_SCALARS: Final = tuple(
    f.name
    for f in attrs.fields(BulkJob)
    if f.name not in (*_SPOOLS, "origin", "offsets", "task", "header_line")
)


def _folder(book: persist.Journal, job_id: str) -> Path:
    return book.folder / "bulk2" / job_id


def _save_job(book: persist.Journal, job: BulkJob, *, stopped: bool = False) -> dict[str, Any]:
    """Write a job's spools and offsets beside the journal; its metadata row."""
    folder = _folder(book, job.id)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _SPOOLS:
        handle: IO[bytes] | None = getattr(job, name)
        path = folder / name
        if handle is None:
            path.unlink(missing_ok=True)
            continue
        position = handle.tell()  # a reader may be part way through it
        size = handle.seek(0, 2)
        if not path.exists() or path.stat().st_size != size:  # spools only grow
            persist.write_file(path, handle)
        handle.seek(position)
    persist.write_file(folder / "offsets", job.offsets.tobytes())
    row = {name: getattr(job, name) for name in _SCALARS}
    row["origin"] = attrs.asdict(job.origin)
    row["header_line"] = job.header_line.decode("latin-1")
    row["spools"] = [name for name in _SPOOLS if getattr(job, name) is not None]
    row["stopped"] = stopped
    return row


def _load_job(book: persist.Journal, row: dict[str, Any]) -> BulkJob:
    job = BulkJob(**{name: row[name] for name in _SCALARS if name in row})
    job.origin = changes.Origin(**row["origin"])
    job.header_line = str(row["header_line"]).encode("latin-1")
    folder = _folder(book, job.id)
    for name in row["spools"]:
        handle = spool()
        with (folder / name).open("rb") as source:
            shutil.copyfileobj(source, handle)
        setattr(job, name, handle)
    job.offsets.frombytes((folder / "offsets").read_bytes())
    return job


def _save(table: JobTable, book: persist.Journal) -> None:
    rows = [
        (job.id, _save_job(book, job, stopped=True))
        for by_id in table.by_kind.values()
        for job in by_id.values()
    ]
    book.delete("bulk2_job")
    book.put_many("bulk2_job", rows)
    kept = {job_id for job_id, _ in rows}
    root = book.folder / "bulk2"
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)  # a deleted job's data


def _restore(table: JobTable, book: persist.Journal) -> None:
    for _, row in book.entries("bulk2_job"):
        job = _load_job(book, row)
        table.by_kind[job.kind][job.id] = job
        if job.state != IN_PROGRESS:
            continue
        if job.kind == "query":  # nothing written: run it again from the start
            job.state, job.processed, job.rows, job.offsets = UPLOAD_COMPLETE, 0, None, array("Q")
        elif not row.get("stopped") or job.successful is None or job.failures is None:
            job.state, job.error_message = FAILED, _INTERRUPTED
        else:  # resumed: until the next clean stop, a kill leaves it unknown again
            book.put("bulk2_job", job.id, _save_job(book, job))


def _resume(table: JobTable) -> None:
    """On the server loop: start the tasks of restored jobs waiting at UploadComplete."""
    from salesforce_typed.testing.bulk2.ingest import run_ingest
    from salesforce_typed.testing.bulk2.query import run_query

    for kind, by_id in table.by_kind.items():
        for job in by_id.values():
            if job.state == UPLOAD_COMPLETE:
                run = run_ingest if kind == "ingest" else run_query
                table.start(job, functools.partial(run, table, job))
            elif job.state == IN_PROGRESS and kind == "ingest":
                table.start(job, functools.partial(run_ingest, table, job, resume=True))
