# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/jobs.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/jobs.py`: its docstring there says what must stay true."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Final

from salesforce_typed.bulk2._sync.transport import BulkTransport
from salesforce_typed.bulk2.states import RETRYABLE, JobState, PollAction
from salesforce_typed.bulk2.window import PageWindow
from salesforce_typed.bulk2.wire import (
    Bulk2Job,
    BulkJobAbortedError,
    BulkJobError,
    BulkJobFailedError,
    BulkProgress,
    BulkTimeoutError,
    InvalidJobStateError,
    JobKind,
    ProgressCallback,
    build_abort,
    build_close,
    build_create_ingest,
    build_delete,
    build_get,
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
from salesforce_typed.jobs.csv_chunks import CsvDialect, Operation
from salesforce_typed.jobs.polling import PollPolicy, ProgressRate

if TYPE_CHECKING:
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = ["Bulk2Jobs"]

log = logging.getLogger("salesforce_typed.bulk")
# Job states read at once in one polling round (a load's jobs; more wait for a free place).
POLLS_AT_ONCE: Final = 10


class Bulk2Jobs:
    """The job calls of Bulk API 2.0 over `client` (see the module docstring)."""

    def __init__(self, client: Salesforce, *, poll: PollPolicy | None = None) -> None:
        self.client = client
        self.transport = BulkTransport(client)
        self.poll = poll or PollPolicy()

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
        totals: Mapping[str, int] | None = None,
    ) -> list[Bulk2Job]:
        """Poll until every job is JobComplete, Failed or Aborted; their final JobInfos.

        `required` (query jobs): Failed and Aborted raise instead of returning. A job still
        Open raises `BulkJobError`; the policy's timeout raises `BulkTimeoutError`.
        `totals` (rows sent per ingest job) lets the wait end near each job's expected end
        (`PollPolicy.interval`'s `eta`), so completion is noticed within `policy.near`.
        """
        policy = poll or self.poll
        clock = self.client.clock
        started = clock.monotonic()
        wanted = list(dict.fromkeys(job_ids))
        pending = list(wanted)
        latest: dict[str, Bulk2Job] = {}
        polls = 0
        rates = {job_id: ProgressRate(total) for job_id, total in (totals or {}).items()}
        while pending:
            polls += 1
            etas: list[float] = []
            round_ids = list(pending)
            for job_id, job in zip(round_ids, self._poll_round(round_ids, kind), strict=True):
                if job is None:
                    continue
                latest[job_id] = job
                decision = job.decision
                log.debug("bulk job %s: %s (%s)", job_id, decision.action.value, decision.reason)
                if decision.action is PollAction.WAIT:
                    rate = rates.get(job_id)
                    if rate is not None and job.state == JobState.IN_PROGRESS.value:
                        eta = rate.eta(clock.monotonic(), job.number_records_processed)
                        if eta is not None:
                            etas.append(eta)
                    continue
                pending.remove(job_id)
                self._check_end(job, decision.action, required)
            if progress is not None:
                progress(self._poll_report(wanted, latest, len(wanted) - len(pending)))
            if not pending:
                break
            eta = min(etas) if etas else None
            delay = policy.interval(polls, eta, elapsed=clock.monotonic() - started)
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

    def _poll_round(self, job_ids: Sequence[str], kind: JobKind) -> list[Bulk2Job | None]:
        """One state read per job, `POLLS_AT_ONCE` under way at a time; in `job_ids` order."""
        if len(job_ids) == 1:
            return [self._poll_once(job_ids[0], kind)]
        found: list[Bulk2Job | None] = []
        with PageWindow[Bulk2Job | None](min(len(job_ids), POLLS_AT_ONCE)) as window:
            for job_id in job_ids:
                if window.full:
                    found.append(window.next())
                window.start(partial(self._poll_once, job_id, kind))
            while len(window):
                found.append(window.next())
        return found

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
