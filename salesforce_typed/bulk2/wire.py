"""Bulk API 2.0 on the wire, as pure functions: `/jobs/ingest` and `/jobs/query` requests built
as `RequestSpec`s, and their JSON and headers parsed (wire reference §8). No I/O here.

What must stay true:
- Each call is a `build_*` (a RequestSpec relative to `/services/data/vXX.X`) or a `parse_*`;
  `_async/client.py` only sends them. Creating a job is the one non-idempotent call (a POST);
  uploads are never re-sent blindly either: a second PUT would load the rows twice.
- JobInfo keys we do not model are kept in `Bulk2Job.extra`, never dropped.
- A locator is done when it is absent, empty or the string `null` (doc conflict, §14).
- `resultPages` (v58.0+) listings are read in both shapes Salesforce is known to send
  (docs/fidelity/bulk2.md): entries keyed `resultUrl` or `resultLink`, the list under
  `resultPages` or `resultChunks`, the next listing under `nextRecordsUrl` or `nextRecordUrl`,
  URLs absolute, from `/services/` or relative to `/services/data/vXX.X`. Only the path and
  query of a listed URL are kept: the request goes to the client's own instance, never to a
  host a body names.
- Per-record failures are values (rows with `sf__Error`), not exceptions; exceptions are for
  jobs that cannot give the caller what it asked for (a query job that failed, a timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

import attrs

from salesforce_typed.bulk2.states import PollDecision, decide
from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import (  # defined and drawn with the one tree
    Bulk2Error,
    BulkIngestInterruptedError,
    BulkJobAbortedError,
    BulkJobError,
    BulkJobFailedError,
    BulkTimeoutError,
    InvalidJobStateError,
    UsageError,
)
from salesforce_typed.jobs.csv_chunks import CsvDialect

__all__ = [
    "INGEST",
    "MIN_RESULT_PAGES_VERSION",
    "QUERY",
    "Bulk2Error",
    "Bulk2Job",
    "BulkIngestInterruptedError",
    "BulkJobAbortedError",
    "BulkJobError",
    "BulkJobFailedError",
    "BulkProgress",
    "BulkTimeoutError",
    "InvalidJobStateError",
    "JobKind",
    "JobPage",
    "ProgressCallback",
    "QueryFileResult",
    "ResultListing",
    "ResultSet",
    "build_abort",
    "build_close",
    "build_create_ingest",
    "build_create_query",
    "build_delete",
    "build_get",
    "build_ingest_results",
    "build_list",
    "build_query_results",
    "build_result_listing",
    "build_result_page",
    "build_result_pages",
    "build_upload",
    "parse_job",
    "parse_job_page",
    "parse_locator",
    "parse_record_count",
    "parse_result_pages",
]

INGEST: Final = "/jobs/ingest"
QUERY: Final = "/jobs/query"
JobKind = Literal["ingest", "query"]
ResultSet = Literal["successfulResults", "failedResults", "unprocessedrecords"]
QueryOperation = Literal["query", "queryAll"]
MIN_RESULT_PAGES_VERSION: Final = 58.0  # `/jobs/query/{id}/resultPages` exists from here on
_CSV: Final = "text/csv"


# -- what the orchestration reports ---------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class BulkProgress:
    """One progress report. `phase`: `upload` (a job was created and its rows sent),
    `poll` (states were read; counts summed over the jobs), `download` (a page was read)."""

    phase: Literal["upload", "poll", "download"]
    job_ids: tuple[str, ...]
    state: str = ""
    rows_uploaded: int = 0
    processed: int = 0
    failed: int = 0
    rows_downloaded: int = 0
    jobs_done: int = 0


ProgressCallback = Callable[[BulkProgress], None]


@attrs.frozen(kw_only=True, slots=True)
class QueryFileResult:
    """A query job's rows written to `path` (one header; the job's delimiter and line ending)."""

    job_id: str
    path: Path
    records: int
    bytes: int


# -- job info -------------------------------------------------------------------------------


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_KNOWN: Final = frozenset(
    {
        "id",
        "object",
        "operation",
        "state",
        "externalIdFieldName",
        "columnDelimiter",
        "lineEnding",
        "contentType",
        "apiVersion",
        "createdDate",
        "systemModstamp",
        "numberRecordsProcessed",
        "numberRecordsFailed",
        "retries",
        "totalProcessingTime",
        "errorMessage",
        "jobType",
        "query",
    }
)


@attrs.frozen(kw_only=True, slots=True)
class Bulk2Job:
    """A Bulk API 2.0 JobInfo (ingest or query)."""

    id: str
    kind: JobKind
    state: str
    operation: str = ""
    object: str = ""
    external_id_field: str | None = None
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    content_type: str = "CSV"
    api_version: str = ""
    created_date: str = ""
    system_modstamp: str = ""
    number_records_processed: int = 0
    number_records_failed: int = 0
    retries: int = 0
    total_processing_time: int = 0
    error_message: str | None = None
    job_type: str = ""
    query: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def decision(self) -> PollDecision:
        return decide(self.state)

    @property
    def dialect(self) -> CsvDialect:
        delimiter = self.column_delimiter if self.column_delimiter else "COMMA"
        return CsvDialect(
            column_delimiter=delimiter,  # type: ignore[arg-type]
            line_ending="CRLF" if self.line_ending == "CRLF" else "LF",
        )


def parse_job(data: Any, kind: JobKind) -> Bulk2Job:
    """A JobInfo body; `apiVersion` comes as a JSON number (62.0) and is kept as text."""
    body: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    version = body.get("apiVersion")
    return Bulk2Job(
        id=str(body.get("id", "")),
        kind=kind,
        state=str(body.get("state", "")),
        operation=str(body.get("operation", "")),
        object=str(body.get("object") or ""),
        external_id_field=body.get("externalIdFieldName") or None,
        column_delimiter=str(body.get("columnDelimiter") or "COMMA"),
        line_ending=str(body.get("lineEnding") or "LF"),
        content_type=str(body.get("contentType") or "CSV"),
        api_version=f"{float(version):.1f}" if isinstance(version, int | float) else "",
        created_date=str(body.get("createdDate") or ""),
        system_modstamp=str(body.get("systemModstamp") or ""),
        number_records_processed=_int(body.get("numberRecordsProcessed")),
        number_records_failed=_int(body.get("numberRecordsFailed")),
        retries=_int(body.get("retries")),
        total_processing_time=_int(body.get("totalProcessingTime")),
        error_message=body.get("errorMessage") or None,
        job_type=str(body.get("jobType") or ""),
        query=body.get("query"),
        extra={k: v for k, v in body.items() if k not in _KNOWN},
    )


@attrs.frozen(kw_only=True, slots=True)
class JobPage:
    """One page of `GET /jobs/ingest|query`."""

    jobs: tuple[Bulk2Job, ...]
    done: bool
    next_records_url: str | None


def parse_job_page(data: Any, kind: JobKind) -> JobPage:
    body: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    records = body.get("records") or ()
    nxt = body.get("nextRecordsUrl") or body.get("nextRecordUrl") or None
    return JobPage(
        jobs=tuple(parse_job(r, kind) for r in records if isinstance(r, Mapping)),
        done=bool(body.get("done", nxt is None)),
        next_records_url=str(nxt) if nxt else None,
    )


# -- requests -------------------------------------------------------------------------------


def _base(kind: JobKind) -> str:
    return INGEST if kind == "ingest" else QUERY


def build_create_ingest(
    sobject: str,
    operation: str,
    *,
    dialect: CsvDialect | None = None,
    external_id_field: str | None = None,
    assignment_rule_id: str | None = None,
) -> RequestSpec:
    """POST /jobs/ingest: a new Open job. Not idempotent: a blind re-send makes two jobs."""
    dialect = dialect or CsvDialect()
    body: dict[str, Any] = {
        "object": sobject,
        "operation": operation,
        "contentType": "CSV",
        "columnDelimiter": dialect.column_delimiter,
        "lineEnding": dialect.line_ending,
    }
    if external_id_field:
        body["externalIdFieldName"] = external_id_field
    if assignment_rule_id:
        body["assignmentRuleId"] = assignment_rule_id
    return RequestSpec(method="POST", path=INGEST, json=body, idempotent=False)


def build_create_query(
    soql: str, *, operation: QueryOperation = "query", dialect: CsvDialect | None = None
) -> RequestSpec:
    """POST /jobs/query: starts at UploadComplete. Not idempotent (each POST runs a job)."""
    dialect = dialect or CsvDialect()
    body = {
        "operation": operation,
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": dialect.column_delimiter,
        "lineEnding": dialect.line_ending,
    }
    return RequestSpec(method="POST", path=QUERY, json=body, idempotent=False)


def build_upload(job_id: str) -> RequestSpec:
    """PUT .../batches, `text/csv`; the sender attaches the body. 201 with no content.

    Not idempotent: a PUT that may have landed is not re-sent (the rows would load twice);
    the client aborts the job and uploads to a new one instead.
    """
    return RequestSpec(
        method="PUT",
        path=f"{INGEST}/{job_id}/batches",
        idempotent=False,
        headers=(("Content-Type", _CSV),),
    )


def build_close(job_id: str) -> RequestSpec:
    """PATCH {"state":"UploadComplete"}: processing starts."""
    return RequestSpec(method="PATCH", path=f"{INGEST}/{job_id}", json={"state": "UploadComplete"})


def build_abort(kind: JobKind, job_id: str) -> RequestSpec:
    return RequestSpec(method="PATCH", path=f"{_base(kind)}/{job_id}", json={"state": "Aborted"})


def build_get(kind: JobKind, job_id: str) -> RequestSpec:
    return RequestSpec(method="GET", path=f"{_base(kind)}/{job_id}")


def build_delete(kind: JobKind, job_id: str) -> RequestSpec:
    return RequestSpec(method="DELETE", path=f"{_base(kind)}/{job_id}")


def build_list(kind: JobKind, next_records_url: str | None = None) -> RequestSpec:
    """GET /jobs/ingest|query, or the page `nextRecordsUrl` points at."""
    if next_records_url:
        return RequestSpec(method="GET", path=next_records_url)
    return RequestSpec(method="GET", path=_base(kind))


def build_ingest_results(job_id: str, which: ResultSet) -> RequestSpec:
    """One of the three result CSVs (`sf__Id`, `sf__Created`/`sf__Error`, input columns)."""
    return RequestSpec(method="GET", path=f"{INGEST}/{job_id}/{which}", headers=(("Accept", _CSV),))


def build_query_results(
    job_id: str, *, locator: str | None = None, page_size: int | None = None
) -> RequestSpec:
    """GET .../results[?locator=L&maxRecords=N]: one page of CSV. Must use the job's API
    version (409 otherwise)."""
    params: list[tuple[str, str]] = []
    if locator:
        params.append(("locator", locator))
    if page_size is not None:
        if page_size < 1:
            raise UsageError("page_size (maxRecords) must be at least 1")
        params.append(("maxRecords", str(page_size)))
    return RequestSpec(
        method="GET",
        path=f"{QUERY}/{job_id}/results",
        params=tuple(params),
        headers=(("Accept", _CSV),),
    )


def parse_locator(headers: Mapping[str, str]) -> str | None:
    """The next page's locator, or None on the last page (absent, empty or `null`)."""
    value = (headers.get("sforce-locator") or "").strip()
    return None if value in ("", "null") else value


def parse_record_count(headers: Mapping[str, str]) -> int | None:
    """`Sforce-NumberOfRecords`: rows in this page (None when absent)."""
    value = headers.get("sforce-numberofrecords")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# -- parallel results (v58.0+) --------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class ResultListing:
    """One `resultPages` answer: page URLs in result order, and the next listing's URL."""

    page_urls: tuple[str, ...]
    next_url: str | None


def build_result_pages(job_id: str) -> RequestSpec:
    """GET .../resultPages: up to five page URLs to download in parallel (job's API version)."""
    return RequestSpec(
        method="GET",
        path=f"{QUERY}/{job_id}/resultPages",
        headers=(("Accept", "application/json"),),
    )


def _spec_for(url: str, accept: str) -> RequestSpec:
    """A listed URL as a spec on the client's instance: path and query kept, host dropped."""
    parts = urlsplit(url)
    path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
    return RequestSpec(
        method="GET",
        path=path,
        params=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        headers=(("Accept", accept),),
    )


def build_result_page(url: str) -> RequestSpec:
    """One listed page (`.../results?locator=L`), answered as a results page is: CSV with
    `Sforce-Locator` and `Sforce-NumberOfRecords`."""
    return _spec_for(url, _CSV)


def build_result_listing(url: str) -> RequestSpec:
    """The next `resultPages` listing, from a listing's `nextRecordsUrl`."""
    return _spec_for(url, "application/json")


_LISTS: Final = ("resultPages", "resultChunks")
_LINKS: Final = ("resultUrl", "resultLink")
_NEXT: Final = ("nextRecordsUrl", "nextRecordUrl")


def _first(body: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((body[k] for k in keys if body.get(k) is not None), None)


def parse_result_pages(data: Any) -> ResultListing | None:
    """A listing in either known shape; None when the body is neither (the caller then reads
    by locator instead). `done` true, or no next URL, ends the listings."""
    if not isinstance(data, Mapping):
        return None
    entries = _first(data, _LISTS)
    if not isinstance(entries, list):
        return None
    urls: list[str] = []
    for entry in entries:
        link = _first(entry, _LINKS) if isinstance(entry, Mapping) else entry
        if not isinstance(link, str) or not link:
            return None
        urls.append(link)
    nxt = _first(data, _NEXT)
    done = data.get("done") is True or not isinstance(nxt, str) or not nxt
    return ResultListing(page_urls=tuple(urls), next_url=None if done else str(nxt))
