"""Bulk API 1.0 jobs and batches in the fake org: their state machines and background runs.

Job: `Open` -> `Closed` | `Aborted`. Batch: `Queued` -> `InProgress` -> `Completed` | `Failed`;
`NotProcessed` when its job is aborted while it waits, and for the original batch of a
PK-chunked query (wire reference §7).

What must stay true:
- A batch runs in the background, as an asyncio task on the server's loop, so adding a batch
  answers at once with `Queued`, as Salesforce does; clients must poll.
- `BulkV1Settings` (in `state.extensions["bulk_v1"]`, also `/_admin/bulk-v1`) sets the limits
  and the pacing: `processing_delay` seconds before a batch starts, and `hold`, which keeps
  every batch Queued until released, so tests see intermediate states without timing.
- Serial jobs run their batches one at a time in the order they were added; Parallel jobs
  run them as they come.
- Aborting stops only batches still Queued; one InProgress finishes.
- Job counters are computed from the batches, so they always reconcile.
- With a data dir, jobs, batches and results survive a restart (written at each batch
  change and at stop, read back at start): Queued batches run after it; a batch interrupted
  InProgress fails (its records may be half written), as one hit by an outage would.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Final

import attrs

from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.bulk1 import process
from salesforce_typed.testing.bulk1.wire import BatchFailedError, RowOutcome
from salesforce_typed.testing.org import persist
from salesforce_typed.testing.org.changes import Origin
from salesforce_typed.testing.org.state import OrgState

__all__ = [
    "BATCH_STATES",
    "JOB_STATES",
    "Batch",
    "BulkV1",
    "BulkV1Settings",
    "Job",
    "bulk_v1",
    "new_batch",
]

log = logging.getLogger("salesforce_typed.testing.bulk_v1")

JOB_STATES: Final = ("Open", "Closed", "Aborted", "Failed")
BATCH_STATES: Final = ("Queued", "InProgress", "Completed", "Failed", "NotProcessed")
_HOLD_POLL_S: Final = 0.005
_EXTENSION_KEY: Final = "bulk_v1"


@attrs.define(kw_only=True)
class BulkV1Settings:
    """Limits and pacing; every field is settable at run time (admin API or directly)."""

    processing_delay: float = 0.0  # seconds a batch stays Queued before it starts
    hold: bool = False  # keep batches Queued until set back to False
    max_records: int = 10_000
    max_bytes: int = 10_000_000
    max_chars: int = 10_000_000
    result_file_rows: int = 100_000  # query result files are cut every N rows
    default_chunk_size: int = 100_000  # PK chunking
    max_chunk_size: int = 250_000
    dml_chunk: int = 200  # records per transaction, as Salesforce processes a batch


@attrs.define(kw_only=True, eq=False)
class Batch:
    id: str
    job_id: str
    body: bytes = attrs.field(repr=False)
    mime: str
    created: float
    modstamp: float
    state: str = "Queued"
    state_message: str | None = None
    processed: int = 0
    failed: int = 0
    started: float | None = None
    ended: float | None = None
    outcomes: list[RowOutcome] = attrs.field(factory=list, repr=False)
    result_files: dict[str, bytes] = attrs.field(factory=dict, repr=False)
    id_range: tuple[str | None, str | None] | None = None  # set on PK chunk batches
    finished: asyncio.Event = attrs.field(factory=asyncio.Event, repr=False)

    def millis(self) -> int:
        """Processing time so far, in ms (0 before the batch starts)."""
        if self.started is None:
            return 0
        return int(((self.ended or self.started) - self.started) * 1000)

    def info(self) -> list[tuple[str, Any]]:
        took = self.millis()
        return [
            ("id", self.id),
            ("jobId", self.job_id),
            ("state", self.state),
            ("stateMessage", self.state_message),
            ("createdDate", self.created),
            ("systemModstamp", self.modstamp),
            ("numberRecordsProcessed", self.processed),
            ("numberRecordsFailed", self.failed),
            ("totalProcessingTime", took),
            ("apiActiveProcessingTime", took),
            ("apexProcessingTime", 0),
        ]


@attrs.define(kw_only=True, eq=False)
class Job:
    id: str
    operation: str
    sobject: str
    content_type: str
    concurrency_mode: str
    external_id: str | None
    assignment_rule_id: str | None
    api_version: str
    created_by: str
    created: float
    modstamp: float
    origin: Origin
    state: str = "Open"
    pk_chunk_size: int | None = None
    batches: list[Batch] = attrs.field(factory=list, repr=False)

    @property
    def as_json(self) -> bool:
        return self.content_type == "JSON"

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def info(self) -> list[tuple[str, Any]]:
        count = {s: sum(b.state == s for b in self.batches) for s in BATCH_STATES}
        took = sum(b.millis() for b in self.batches)
        return [
            ("id", self.id),
            ("operation", self.operation),
            ("object", self.sobject),
            ("createdById", self.created_by),
            ("createdDate", self.created),
            ("systemModstamp", self.modstamp),
            ("state", self.state),
            ("externalIdFieldName", self.external_id),
            ("concurrencyMode", self.concurrency_mode),
            ("contentType", self.content_type),
            ("assignmentRuleId", self.assignment_rule_id),
            ("numberBatchesQueued", count["Queued"]),
            ("numberBatchesInProgress", count["InProgress"]),
            ("numberBatchesCompleted", count["Completed"]),
            ("numberBatchesFailed", count["Failed"]),
            ("numberBatchesTotal", len(self.batches)),
            ("numberRecordsProcessed", sum(b.processed for b in self.batches)),
            ("numberRetries", 0),
            ("apiVersion", self.api_version),
            ("numberRecordsFailed", sum(b.failed for b in self.batches)),
            ("totalProcessingTime", took),
            ("apiActiveProcessingTime", took),
            ("apexProcessingTime", 0),
        ]


class BulkV1:
    """The org's Bulk 1.0 jobs, batches and settings (in `state.extensions["bulk_v1"]`)."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.settings = BulkV1Settings()
        self.jobs: dict[str, Job] = {}
        self.batches: dict[str, Batch] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._journal = book = persist.journal(state)
        if book is not None:
            _restore(self, book)
            state.extensions.setdefault("savers", []).append(lambda: _save(self, book))
            state.extensions.setdefault("resumers", []).append(lambda: _resume(self))

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def keep(self, job: Job) -> None:
        """With a data dir: write the job and its batches through."""
        if self._journal is not None:
            self._journal.put("bulk1_job", job.id, _job_row(self._journal, job))

    def abort(self, job: Job) -> None:
        now = self.state.clock()
        job.state, job.modstamp = "Aborted", now
        for batch in job.batches:
            if batch.state == "Queued":
                batch.state, batch.modstamp = "NotProcessed", now
                batch.finished.set()
        self.keep(job)

    def start(self, job: Job, batch: Batch) -> None:
        """Run `batch` in the background on the running (server) loop."""
        previous = None
        if job.concurrency_mode == "Serial" and batch.id_range is None:
            earlier = [b for b in job.batches if b is not batch and b.id_range is None]
            previous = earlier[-1] if earlier else None
        task = asyncio.get_running_loop().create_task(self._run(job, batch, previous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job, batch: Batch, previous: Batch | None) -> None:
        try:
            while self.settings.hold:
                await asyncio.sleep(_HOLD_POLL_S)
            if self.settings.processing_delay > 0:
                await asyncio.sleep(self.settings.processing_delay)
            if previous is not None:
                await previous.finished.wait()
            async with latency(self.state).slot(batch.id):  # realistic-latency mode's queue
                await self._process(job, batch)
        except BatchFailedError as exc:
            batch.state_message = str(exc)
            self._move(batch, "Failed")
        except Exception:  # a bug in the emulator: fail the batch like Salesforce's 500s
            log.exception("bulk batch %s failed unexpectedly", batch.id)
            batch.state_message = "InternalServerError : An unexpected error occurred."
            self._move(batch, "Failed")
        finally:
            batch.ended = self.state.clock()
            batch.finished.set()

    async def _process(self, job: Job, batch: Batch) -> None:
        if batch.state != "Queued":  # NotProcessed: the job was aborted meanwhile
            return
        self._move(batch, "InProgress")
        batch.started = self.state.clock()
        if job.is_query:
            await self._query(job, batch)
        else:
            batch.outcomes = await process.run_dml(self.state, job, batch, self.settings)
            batch.processed = len(batch.outcomes)
            batch.failed = sum(not o.success for o in batch.outcomes)
            self._move(batch, "Completed")

    async def _query(self, job: Job, batch: Batch) -> None:
        if job.pk_chunk_size and batch.id_range is None:
            ranges = process.chunk_ranges(self.state, job, batch, job.pk_chunk_size)
            for id_range in ranges:
                chunk = new_batch(self, job, batch.body, batch.mime, id_range=id_range)
                self.start(job, chunk)
            self._move(batch, "NotProcessed")
            return
        files, count = await process.run_query(self.state, job, batch, self.settings)
        batch.result_files = {self.state.ids.new("752"): body for body in files}
        batch.processed = count
        self._move(batch, "Completed")

    def _move(self, batch: Batch, state: str) -> None:
        log.debug("bulk batch %s: %s -> %s", batch.id, batch.state, state)
        batch.state, batch.modstamp = state, self.state.clock()
        job = self.jobs.get(batch.job_id)
        if job is not None:
            self.keep(job)


def new_batch(
    bulk: BulkV1,
    job: Job,
    body: bytes,
    mime: str,
    *,
    id_range: tuple[str | None, str | None] | None = None,
) -> Batch:
    now = bulk.state.clock()
    batch = Batch(
        id=bulk.state.ids.new("751"),
        job_id=job.id,
        body=body,
        mime=mime,
        created=now,
        modstamp=now,
        id_range=id_range,
    )
    job.batches.append(batch)
    job.modstamp = now
    bulk.batches[batch.id] = batch
    bulk.keep(job)
    return batch


def bulk_v1(state: OrgState) -> BulkV1:
    """The org's Bulk 1.0 registry, created on first use."""
    existing = state.extensions.get(_EXTENSION_KEY)
    if isinstance(existing, BulkV1):
        return existing
    with state.lock:
        existing = state.extensions.get(_EXTENSION_KEY)
        if not isinstance(existing, BulkV1):
            existing = BulkV1(state)
            state.extensions[_EXTENSION_KEY] = existing
        return existing


# -- persistence (an org with a data dir) ------------------------------------------------------

_INTERRUPTED: Final = "InternalServerError : the org restarted while the batch ran"
_JOB_FIELDS: Final = tuple(f.name for f in attrs.fields(Job) if f.name not in ("batches", "origin"))
_BATCH_FIELDS: Final = tuple(
    f.name
    for f in attrs.fields(Batch)
    if f.name not in ("body", "outcomes", "result_files", "finished", "id_range")
)


def _folder(book: persist.Journal, batch_id: str) -> Path:
    return book.folder / "bulk1" / batch_id


def _save_batch(book: persist.Journal, batch: Batch) -> dict[str, Any]:
    """The batch's request, outcomes and result files beside the journal; its metadata."""
    folder = _folder(book, batch.id)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "body").exists():  # a batch's request never changes
        persist.write_file(folder / "body", batch.body)
    if batch.outcomes and not (folder / "outcomes.json").exists():  # set once, when done
        outcomes = [[o.id, o.success, o.created, o.errors] for o in batch.outcomes]
        persist.write_file(folder / "outcomes.json", json.dumps(outcomes).encode())
    for result_id, body in batch.result_files.items():
        if not (folder / result_id).exists():
            persist.write_file(folder / result_id, body)
    row = {name: getattr(batch, name) for name in _BATCH_FIELDS}
    row["id_range"] = batch.id_range
    row["results"] = list(batch.result_files)
    return row


def _load_batch(book: persist.Journal, row: dict[str, Any]) -> Batch:
    folder = _folder(book, str(row["id"]))
    batch = Batch(body=(folder / "body").read_bytes(), **{n: row[n] for n in _BATCH_FIELDS})
    if row["id_range"] is not None:
        low, high = row["id_range"]
        batch.id_range = (low, high)
    batch.outcomes = [
        RowOutcome(
            id=i, success=ok, created=made, errors=tuple((c, m, tuple(f)) for c, m, f in errors)
        )
        for i, ok, made, errors in _outcome_rows(folder / "outcomes.json")
    ]
    batch.result_files = {rid: (folder / rid).read_bytes() for rid in row["results"]}
    if batch.state not in ("Queued", "InProgress"):
        batch.finished.set()
    return batch


def _outcome_rows(path: Path) -> list[Any]:
    return list(json.loads(path.read_bytes())) if path.exists() else []


def _job_row(book: persist.Journal, job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in _JOB_FIELDS}
    row["origin"] = attrs.asdict(job.origin)
    row["batches"] = [_save_batch(book, batch) for batch in job.batches]
    return row


def _save(bulk: BulkV1, book: persist.Journal) -> None:
    rows = [(job.id, _job_row(book, job)) for job in bulk.jobs.values()]
    book.delete("bulk1_job")
    book.put_many("bulk1_job", rows)


def _restore(bulk: BulkV1, book: persist.Journal) -> None:
    now = bulk.state.clock()
    for job_id, row in book.entries("bulk1_job"):
        job = Job(origin=Origin(**row["origin"]), **{n: row[n] for n in _JOB_FIELDS})
        for batch_row in row["batches"]:
            batch = _load_batch(book, batch_row)
            if batch.state == "InProgress":
                batch.state, batch.state_message, batch.modstamp = "Failed", _INTERRUPTED, now
                batch.ended = now
                batch.finished.set()
            job.batches.append(batch)
            bulk.batches[batch.id] = batch
        bulk.jobs[job_id] = job


def _resume(bulk: BulkV1) -> None:
    """On the server loop: run the restored batches still Queued, in the order added."""
    for job in bulk.jobs.values():
        for batch in job.batches:
            if batch.state == "Queued":
                bulk.start(job, batch)
