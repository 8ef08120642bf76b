# DO NOT EDIT: generated from salesforce_typed/bulk1/_async/client.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk1/_async/client.py`: its docstring there says what must stay true."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Iterable, Mapping
from typing import Any, Literal, TypeVar, overload

import httpx

from salesforce_typed.bulk1 import wire
from salesforce_typed.bulk1._sync.query import Bulk1Query
from salesforce_typed.bulk1.batches import (
    DEFAULT_LIMITS,
    BatchLimits,
    BatchSplitter,
    EncodedBatch,
    row_payload,
)
from salesforce_typed.bulk1.pool import TaskPool
from salesforce_typed.bulk1.results import (
    BulkLoadResult,
    CsvRowStream,
    ResultRow,
    RowResult,
    has_results,
    match_rows,
    parse_query_records,
    parse_results,
    unprocessed,
)
from salesforce_typed.bulk1.wire import (
    REFRESH_EXCEPTION_CODES,
    TERMINAL_BATCH_STATES,
    BatchInfo,
    BulkRequest,
    ConcurrencyMode,
    ContentType,
    JobInfo,
    Operation,
)
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core.errors import BulkTimeoutError, SalesforceError, UsageError
from salesforce_typed.core.exchange import Exchange
from salesforce_typed.core.models import SObject
from salesforce_typed.core.retry import classify_transport_error
from salesforce_typed.jobs.polling import PollPolicy, ProgressRate
from salesforce_typed.jobs.query_model import model_for_query
from salesforce_typed.query._sync.rows import run_select
from salesforce_typed.query.builder import Select
from salesforce_typed.rest._sync.client import Salesforce
from salesforce_typed.rest.soql import query_arguments, query_object

__all__ = ["Bulk1", "Bulk1Query"]

logger = logging.getLogger("salesforce_typed.bulk")

T = TypeVar("T", bound=SObject)
RowT = TypeVar("RowT")
Rows = Iterable[Any] | Iterable[Any]


def _accepted(response: httpx.Response) -> bool:
    return response.status_code < 400


def _session_rejected(response: httpx.Response) -> bool:
    """Bulk 1.0 reports an expired session as a 400 `InvalidSessionId`, not a 401."""
    return (
        response.status_code in (400, 401)
        and wire.error_from_bulk_response(response).error_code in REFRESH_EXCEPTION_CODES
    )


def _name(sobject: type[SObject] | str) -> str:
    return sobject if isinstance(sobject, str) else sobject.__sobject_type__


def _each(rows: Rows) -> Iterator[Any]:
    if isinstance(rows, Iterable):
        for row in rows:
            yield row
    else:
        for row in rows:
            yield row


class Bulk1:
    """Bulk API 1.0 over `client`: its auth, instance URL, API version, retry policy, clock.

    with Salesforce(auth=grant) as sf:
        bulk = Bulk1(sf)
        result = bulk.insert(Account, rows)
        for acc in bulk.query(Account, "SELECT Id, Name FROM Account"):
            ...
    """

    def __init__(
        self,
        client: Salesforce,
        *,
        poll: PollPolicy | None = None,
        upload_concurrency: int = 4,
        limits: BatchLimits = DEFAULT_LIMITS,
        call_options: str | None = None,
    ) -> None:
        self.client = client
        self.call_options = call_options
        self.poll = poll or PollPolicy()
        self.upload_concurrency = upload_concurrency
        self.limits = limits
        # The client's transport: Bulk calls share its connection pool, TLS and timeouts.
        self._http = client.http

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r})"

    @property
    def api_version(self) -> str:
        return self.client.api_version

    # -- sending: the client's one send loop, with Bulk 1.0's session header and errors ------

    @property
    def refresh_count(self) -> int:
        """Rejected sessions the client's send loop replaced (shared with its other APIs)."""
        return self.client.sender.session_refreshes

    def _exchange(self, request: BulkRequest, stream: bool) -> Exchange:
        def build(base_url: str, session: str | None) -> httpx.Request:
            if session is None:
                raise UsageError(
                    "Bulk API 1.0 needs a session id: give the client a grant or an access token"
                )
            return request.to_httpx(self._http, base_url, session, call_options=self.call_options)

        return Exchange(
            method=request.method,
            path=request.path,
            idempotent=request.idempotent,
            build=build,
            accept=_accepted,
            error=wire.error_from_bulk_response,
            rejected=_session_rejected,
            stream=stream,
        )

    def _send(self, request: BulkRequest, *, stream: bool = False) -> httpx.Response:
        return self.client.sender.send(self._exchange(request, stream))

    # -- jobs and batches ----------------------------------------------------------------------

    def create_job(
        self,
        operation: Operation,
        sobject: type[SObject] | str,
        content_type: ContentType = "CSV",
        *,
        concurrency_mode: ConcurrencyMode = "Parallel",
        external_id_field: str | None = None,
        assignment_rule_id: str | None = None,
        pk_chunking: int | bool | None = None,
    ) -> JobInfo:
        request = wire.build_create_job(
            self.api_version,
            operation,
            _name(sobject),
            content_type,
            concurrency_mode=concurrency_mode,
            external_id_field=external_id_field,
            assignment_rule_id=assignment_rule_id,
            pk_chunking=pk_chunking,
        )
        job = wire.parse_job_info(self._send(request))
        logger.info("bulk job %s: %s %s (%s) created", job.id, operation, job.object, content_type)
        return job

    def get_job(self, job_id: str) -> JobInfo:
        return wire.parse_job_info(self._send(wire.build_get_job(self.api_version, job_id)))

    def close_job(self, job: JobInfo) -> JobInfo:
        return self._set_state(job, "Closed")

    def abort_job(self, job: JobInfo) -> JobInfo:
        """Queued batches become NotProcessed; batches already in progress still finish."""
        return self._set_state(job, "Aborted")

    def _set_state(self, job: JobInfo, state: Literal["Closed", "Aborted"]) -> JobInfo:
        request = wire.build_job_state(self.api_version, job.id, state, job.contentType)
        return wire.parse_job_info(self._send(request))

    def add_batch(self, job: JobInfo, body: bytes) -> BatchInfo:
        query = job.operation in ("query", "queryAll")
        request = wire.build_add_batch(self.api_version, job.id, job.contentType, body, query=query)
        return wire.parse_batch_info(self._send(request))

    def get_batches(self, job: JobInfo | str) -> list[BatchInfo]:
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_list_batches(self.api_version, job_id)
        return wire.parse_batch_list(self._send(request))

    def get_batch(self, job: JobInfo | str, batch_id: str) -> BatchInfo:
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_get_batch(self.api_version, job_id, batch_id)
        return wire.parse_batch_info(self._send(request))

    def get_batch_request(self, job: JobInfo | str, batch_id: str) -> bytes:
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_batch_request(self.api_version, job_id, batch_id)
        return (self._send(request)).content

    def get_batch_results(self, job: JobInfo | str, batch_id: str) -> list[ResultRow]:
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_batch_result(self.api_version, job_id, batch_id)
        return parse_results(self._send(request))

    def get_query_result_ids(self, job: JobInfo | str, batch_id: str) -> list[str]:
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_batch_result(self.api_version, job_id, batch_id)
        return wire.parse_query_result_ids(self._send(request))

    def stream_query_result(
        self, job: JobInfo | str, batch_id: str, result_id: str
    ) -> Iterator[dict[str, Any]]:
        """One result file's rows as they arrive (CSV is parsed incrementally)."""
        job_id = job if isinstance(job, str) else job.id
        request = wire.build_query_result(self.api_version, job_id, batch_id, result_id)
        response = self._send(request, stream=True)
        try:
            if "csv" in response.headers.get("content-type", ""):
                rows = CsvRowStream()
                try:
                    for chunk in response.iter_bytes():
                        for row in rows.feed(chunk):
                            yield row
                except httpx.TransportError as exc:
                    mapped = classify_transport_error(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
                for row in rows.close():
                    yield row
            else:
                response.read()
                for record in parse_query_records(response):
                    yield record
        finally:
            response.close()

    def poll_batches(
        self, job: JobInfo | str, *, poll: PollPolicy | None = None, total: int | None = None
    ) -> Iterator[list[BatchInfo]]:
        """Every poll's batch list, until no batch is Queued or InProgress. One request asks
        for every batch; `total` (rows sent) lets the wait end near the expected end, from
        the batches' progress (`PollPolicy.interval`'s `eta`)."""
        policy = poll or self.poll
        clock = self.client.clock
        job_id = job if isinstance(job, str) else job.id
        started = clock.monotonic()
        deadline = None if policy.timeout is None else started + policy.timeout
        rate = None if total is None else ProgressRate(total)
        polls = 0
        while True:
            batches = self.get_batches(job_id)
            yield batches
            active = [b for b in batches if b.state not in TERMINAL_BATCH_STATES]
            if not active:
                return
            polls += 1
            eta = None
            if rate is not None and any(b.state == "InProgress" for b in active):
                done = sum(b.numberRecordsProcessed for b in batches)
                eta = rate.eta(clock.monotonic(), done)
            delay = policy.interval(polls, eta, elapsed=clock.monotonic() - started)
            if deadline is not None and clock.monotonic() + delay > deadline:
                raise BulkTimeoutError(
                    f"bulk job {job_id}: {len(active)} batches still queued or in progress "
                    f"after {policy.timeout:g}s",
                    job_ids=[job_id],
                )
            logger.debug(
                "bulk job %s: %s; polling again in %.2fs",
                job_id,
                ", ".join(sorted({b.state for b in active})),
                delay,
            )
            clock.sleep(delay)

    def wait(
        self, job: JobInfo | str, *, poll: PollPolicy | None = None, total: int | None = None
    ) -> list[BatchInfo]:
        """Poll until every batch is Completed, Failed or NotProcessed; the final list."""
        batches: list[BatchInfo] = []
        for polled in self.poll_batches(job, poll=poll, total=total):
            batches = polled
        return batches

    # -- loads ---------------------------------------------------------------------------------

    def insert(
        self,
        sobject: type[SObject] | str,
        rows: Rows,
        *,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        return self.load(
            "insert",
            sobject,
            rows,
            content_type=content_type,
            concurrency_mode=concurrency_mode,
            poll=poll,
        )

    def update(
        self,
        sobject: type[SObject] | str,
        rows: Rows,
        *,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        return self.load(
            "update",
            sobject,
            rows,
            content_type=content_type,
            concurrency_mode=concurrency_mode,
            poll=poll,
        )

    def upsert(
        self,
        sobject: type[SObject] | str,
        external_id_field: str,
        rows: Rows,
        *,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        return self.load(
            "upsert",
            sobject,
            rows,
            external_id_field=external_id_field,
            content_type=content_type,
            concurrency_mode=concurrency_mode,
            poll=poll,
        )

    def delete(
        self,
        sobject: type[SObject] | str,
        rows: Rows,
        *,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        """Rows are ids, or records/mappings with an Id; deleted rows go to the recycle bin."""
        return self.load(
            "delete",
            sobject,
            rows,
            content_type=content_type,
            concurrency_mode=concurrency_mode,
            poll=poll,
        )

    def hard_delete(
        self,
        sobject: type[SObject] | str,
        rows: Rows,
        *,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        """Like delete, bypassing the recycle bin (needs the Bulk API Hard Delete permission)."""
        return self.load(
            "hardDelete",
            sobject,
            rows,
            content_type=content_type,
            concurrency_mode=concurrency_mode,
            poll=poll,
        )

    def load(
        self,
        operation: Operation,
        sobject: type[SObject] | str,
        rows: Rows,
        *,
        external_id_field: str | None = None,
        content_type: ContentType = "CSV",
        concurrency_mode: ConcurrencyMode = "Parallel",
        poll: PollPolicy | None = None,
    ) -> BulkLoadResult:
        """Create the job, stream the batches, close, wait, and match results to rows."""
        if operation in ("query", "queryAll"):
            raise UsageError("use query() for query jobs")
        job = self.create_job(
            operation,
            sobject,
            content_type,
            concurrency_mode=concurrency_mode,
            external_id_field=external_id_field,
        )
        inputs: list[Any] = []
        try:
            placed = self._upload(job, operation, rows, inputs)
        except Exception:
            self._abort_quietly(job)
            raise
        self.close_job(job)
        total = sum(encoded.count for encoded, _ in placed)
        batches = self.wait(job, poll=poll, total=total)
        matched = self._match(job, placed, batches, inputs)
        final = self.get_job(job.id)
        return BulkLoadResult(job=final, batches=tuple(batches), rows=tuple(matched))

    def _upload(
        self, job: JobInfo, operation: str, rows: Rows, inputs: list[Any]
    ) -> list[tuple[EncodedBatch, BatchInfo]]:
        splitter = BatchSplitter(job.contentType, self.limits)
        with TaskPool[tuple[EncodedBatch, BatchInfo]](self.upload_concurrency) as pool:
            for row in _each(rows):
                inputs.append(row)
                full = splitter.add(row_payload(row, operation))
                if full is not None:
                    pool.submit(functools.partial(self._add_encoded, job, full))
            last = splitter.flush()
            if last is not None:
                pool.submit(functools.partial(self._add_encoded, job, last))
            return pool.drain()

    def _add_encoded(
        self, job: JobInfo, batch: EncodedBatch
    ) -> tuple[EncodedBatch, BatchInfo]:
        info = self.add_batch(job, batch.body)
        logger.debug(
            "bulk job %s: batch %s holds rows %d+%d", job.id, info.id, batch.first, batch.count
        )
        return batch, info

    def _abort_quietly(self, job: JobInfo) -> None:
        try:
            self.abort_job(job)
        except SalesforceError:
            logger.warning("bulk job %s: could not abort after a failed upload", job.id)

    def _match(
        self,
        job: JobInfo,
        placed: list[tuple[EncodedBatch, BatchInfo]],
        batches: list[BatchInfo],
        inputs: list[Any],
    ) -> list[RowResult]:
        final = {b.id: b for b in batches}
        ordered = sorted(placed, key=lambda pair: pair[0].first)
        # every batch's result file at once (`upload_concurrency` in flight), in input order
        with TaskPool[list[ResultRow]](self.upload_concurrency) as pool:
            for encoded, created in ordered:
                batch = final.get(created.id, created)
                pool.submit(functools.partial(self._results, job, batch, encoded.count))
            fetched = pool.drain()
        out: list[RowResult] = []
        for (encoded, created), results in zip(ordered, fetched, strict=True):
            batch_id = final.get(created.id, created).id
            out += match_rows(batch_id, encoded.first, encoded.count, results, inputs)
        return out

    def _results(self, job: JobInfo, batch: BatchInfo, count: int) -> list[ResultRow]:
        if has_results(batch):
            return self.get_batch_results(job, batch.id)
        return unprocessed(batch, count)  # failed before processing, or NotProcessed

    # -- queries: the one shape REST, SOAP and Bulk 2.0 share (rest.soql.query_arguments) ---

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
        content_type: ContentType = "CSV",
        pk_chunking: int | bool | None = None,
        poll: PollPolicy | None = None,
    ) -> Bulk1Query[T]: ...
    @overload
    def query(
        self,
        model: str,
        soql: Mapping[str, object] | None = None,
        params: None = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        content_type: ContentType = "CSV",
        pk_chunking: int | bool | None = None,
        poll: PollPolicy | None = None,
    ) -> Bulk1Query[SObject]: ...
    def query(
        self,
        model: type[Any] | str | Select[Any, Any],
        soql: Any = None,
        params: Any = None,
        *,
        page_size: int | None = None,
        include_deleted: bool = False,
        content_type: ContentType = "CSV",
        pk_chunking: int | bool | None = None,
        poll: PollPolicy | None = None,
    ) -> Pager[Any]:
        """A lazy query job: iterate it to run the job and stream rows as models.

        `query(Account, soql, params)` yields Account (the FROM object must be Account);
        `query(soql, params)` yields the package model of the FROM object, else Record.
        `page_size` groups rows into `pages()` client-side (default: one result file a
        page). With `pk_chunking`, Salesforce splits the query into Id-range batches; the
        original batch ends NotProcessed and rows stream per result file of each chunk.
        """
        if isinstance(model, Select):
            return run_select(
                self.query, model, page_size=page_size, include_deleted=include_deleted
            )
        text, target = query_arguments(model, soql, params)
        sobject = target.__sobject_type__ if target else query_object(text)
        if not sobject:  # a Bulk 1.0 job is created for one object, before the query is sent
            raise UsageError(
                "Bulk API 1.0 needs the query's FROM object, and it could not be read from "
                "this query: pass the model, query(Model, soql)"
            )
        return Bulk1Query(
            self,
            target or model_for_query(text, self.client.package),
            sobject,
            text,
            page_size=page_size,
            content_type=content_type,
            pk_chunking=pk_chunking,
            include_deleted=include_deleted,
            poll=poll,
        )

    def query_all(
        self,
        model: type[T],
        soql: str,
        params: Mapping[str, object] | None = None,
        *,
        page_size: int | None = None,
        content_type: ContentType = "CSV",
        pk_chunking: int | bool | None = None,
        poll: PollPolicy | None = None,
    ) -> Bulk1Query[T]:
        """queryAll: deleted and archived rows too."""
        return self.query(
            model,
            soql,
            params,
            page_size=page_size,
            include_deleted=True,
            content_type=content_type,
            pk_chunking=pk_chunking,
            poll=poll,
        )
