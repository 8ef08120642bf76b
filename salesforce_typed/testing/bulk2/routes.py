"""Bulk API 2.0 routes of the fake org: `/services/data/vXX.X/jobs/ingest` and `/jobs/query`.

Ingest: create (Open) -> PUT CSV to `/batches` (201; only while Open, 150 MB after base64 in
total) -> PATCH `UploadComplete` (processing starts as a task on the server loop) -> poll ->
`successfulResults/`, `failedResults/`, `unprocessedrecords/` (any case, as Salesforce matches
them). Query: create (UploadComplete, SOQL checked at once) -> poll -> `results?locator=&
maxRecords=` pages, or (v58.0+) `resultPages` listings of page URLs to download in parallel
(pages.py). Both: abort (PATCH `Aborted`), delete, list with `nextRecordsUrl`. Admin:
`GET|POST /_admin/bulk-v2` reads and switches `BulkSettings` (processing delay, pause, sizes,
forced failure); `/_admin/bulk-v2/result-pages` switches the resultPages shape and faults.

Errors are REST arrays (§8.3, §13). The codes Salesforce documents only loosely are, here:
409 `INVALIDJOBSTATE` for a call the job's state forbids (an upload to a closed job), 400
`INVALIDJOB` for a bad job definition, 412 `JOB_NOT_COMPLETE` for results asked too early.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import attrs

from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.bulk2.ingest import (
    csv_rows,
    result_header,
    run_ingest,
    unprocessed_csv,
)
from salesforce_typed.testing.bulk2.jobs import (
    ABORTED,
    DELETABLE,
    FAILED,
    JOB_COMPLETE,
    OPEN,
    UPLOAD_COMPLETE,
    BulkJob,
    BulkSettings,
    JobTable,
    Kind,
    jobs,
    spool,
)
from salesforce_typed.testing.bulk2.pages import (
    MIN_PAGES_VERSION,
    DownloadGate,
    page_settings,
    result_pages,
    set_page_settings,
)
from salesforce_typed.testing.bulk2.query import (
    check_query,
    decode_locator,
    encode_locator,
    page,
    run_query,
)
from salesforce_typed.testing.org import changes
from salesforce_typed.testing.org.http import Handler, Request, Response, Router, SfError
from salesforce_typed.testing.org.records import field_index
from salesforce_typed.testing.org.state import OrgState

__all__ = ["register"]

OPERATIONS: Final = ("insert", "update", "upsert", "delete", "hardDelete")
DELIMITERS: Final = ("BACKQUOTE", "CARET", "COMMA", "PIPE", "SEMICOLON", "TAB")
MIN_INGEST_VERSION: Final = 41.0
MIN_QUERY_VERSION: Final = 47.0
_CSV: Final = ("content-type", "text/csv")


def _bad_job(message: str) -> SfError:
    return SfError(400, "INVALIDJOB", message)


def _version(req: Request, minimum: float) -> None:
    if float(req.api_version) < minimum:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")


def _session_user(req: Request) -> str:
    return req.session.user_id if req.session is not None else req.org.config.user_id


def _dialect(body: dict[str, Any]) -> tuple[str, str]:
    if body.get("contentType", "CSV") != "CSV":
        raise _bad_job(f"Unsupported content type: {body.get('contentType')}")
    delimiter = body.get("columnDelimiter", "COMMA")
    ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS:
        raise _bad_job(f"Invalid column delimiter: {delimiter}")
    if ending not in ("LF", "CRLF"):
        raise _bad_job(f"Invalid line ending: {ending}")
    return str(delimiter), str(ending)


def _new_job(req: Request, table: JobTable, kind: Kind, **values: Any) -> BulkJob:
    now = table.now()
    origin = changes.origin_of(req)
    return table.add(
        BulkJob(
            id=req.org.ids.new("750"),
            kind=kind,
            api_version=req.api_version,
            created_by=_session_user(req),
            created_date=now,
            system_modstamp=now,
            origin=attrs.evolve(origin, api="bulk"),
            **values,
        )
    )


def _gzip(req: Request, response: Response, table: JobTable) -> Response:
    if "gzip" in req.headers.get("accept-encoding", "").lower() and response.body:
        response.body = gzip.compress(response.body, compresslevel=table.settings.gzip_level)
        response.headers.append(("content-encoding", "gzip"))
    return response


def _body(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


# -- ingest ---------------------------------------------------------------------------------


def _create_ingest(req: Request) -> Response:
    _version(req, MIN_INGEST_VERSION)
    table = jobs(req.org)
    body = _body(req)
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _bad_job(f"Invalid operation: {operation}")
    index = field_index(req.org, str(body.get("object") or ""))
    if index is None:
        raise SfError(
            400, "INVALIDENTITY", f"sObject type '{body.get('object')}' is not supported."
        )
    delimiter, ending = _dialect(body)
    external = body.get("externalIdFieldName")
    if operation == "upsert":
        if not external:
            raise _bad_job(
                f"External ID was blank for {index.sobject}. An External ID must be specified "
                "for upsert."
            )
        found = index.field(str(external))
        if found is None or str(found["name"]) not in index.lookup_fields():
            raise _bad_job(
                f"Field name provided, {external} is not an External ID or indexed field for "
                f"{index.sobject}"
            )
        external = str(found["name"])
    job = _new_job(
        req,
        table,
        "ingest",
        operation=str(operation),
        object=index.sobject,
        column_delimiter=delimiter,
        line_ending=ending,
        external_id_field=external if operation == "upsert" else None,
        assignment_rule_id=body.get("assignmentRuleId"),
    )
    job.upload = spool()
    return Response.json(job.info(full=False))


def _upload(req: Request) -> Response:
    table = jobs(req.org)
    job = table.get("ingest", req.params["job_id"])
    if job.state != OPEN:
        raise SfError(
            409,
            "INVALIDJOBSTATE",
            f"Job {job.id} is {job.state}: data can be uploaded only while it is Open",
        )
    total = job.upload_bytes + len(req.body)
    if 4 * ((total + 2) // 3) > table.settings.max_upload_bytes:
        raise SfError(
            413,
            "REQUEST_ENTITY_TOO_LARGE",
            f"Job data exceeds {table.settings.max_upload_bytes} bytes after base64 encoding",
        )
    assert job.upload is not None
    job.upload.seek(0, 2)
    job.upload.write(req.body)
    job.upload_bytes = total
    return Response.empty(201)


def _patch(req: Request, kind: Kind) -> Response:
    table = jobs(req.org)
    job = table.get(kind, req.params["job_id"])
    wanted = _body(req).get("state")
    if wanted == ABORTED:
        table.transition(job, ABORTED)
        table.wake()  # a held job sees it was aborted and ends
    elif wanted == UPLOAD_COMPLETE and kind == "ingest":
        table.transition(job, UPLOAD_COMPLETE)
        table.start(job, lambda: run_ingest(table, job))
    else:
        raise SfError(400, "INVALIDJOBSTATE", f"Invalid state for a {kind} job: {wanted}")
    return Response.json(job.info(full=False))


def _results(req: Request, which: str) -> Response:
    table = jobs(req.org)
    job = table.get("ingest", req.params["job_id"])
    if which == "unprocessed":
        body = unprocessed_csv(job)
    else:
        handle = job.successful if which == "successful" else job.failures
        if handle is not None:
            handle.seek(0)
            body = handle.read()
        else:  # not processed yet (or aborted first): the header alone
            header = next(csv_rows(job.upload, job.delimiter), []) if job.upload else []
            body = _line(job, result_header(job, header, which)) if header else b""
    return _gzip(req, Response(status=200, body=body, headers=[_CSV]), table)


def _line(job: BulkJob, cells: list[str]) -> bytes:
    quoted = ['"' + c.replace('"', '""') + '"' for c in cells]
    return (job.delimiter.join(quoted) + job.terminator).encode()


# -- query ----------------------------------------------------------------------------------


def _create_query(req: Request) -> Response:
    _version(req, MIN_QUERY_VERSION)
    table = jobs(req.org)
    body = _body(req)
    operation = body.get("operation", "query")
    if operation not in ("query", "queryAll"):
        raise _bad_job(f"Invalid operation for a query job: {operation}")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
    delimiter, ending = _dialect(body)
    compiled = check_query(table, soql, include_deleted=operation == "queryAll")
    job = _new_job(
        req,
        table,
        "query",
        operation=str(operation),
        object=compiled.object_name,
        column_delimiter=delimiter,
        line_ending=ending,
        query=soql,
        state=UPLOAD_COMPLETE,
    )
    table.start(job, lambda: run_query(table, job))
    return Response.json(job.info(full=False))


def _completed_query(req: Request) -> tuple[JobTable, BulkJob]:
    """The job behind a results or resultPages call, checked readable (409, 412 otherwise)."""
    table = jobs(req.org)
    job = table.get("query", req.params["job_id"])
    if req.api_version != job.api_version:
        raise SfError(
            409,
            "INVALIDJOB",
            f"Results must be read with the job's API version (v{job.api_version})",
        )
    if job.state in (FAILED, ABORTED):
        raise SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: no results")
    if job.state != JOB_COMPLETE:
        raise SfError(
            412,
            "JOB_NOT_COMPLETE",
            f"can only download query results of successfully completed bulk job {job.id}",
        )
    return table, job


async def _query_results(req: Request) -> Response:
    table, job = _completed_query(req)
    raw = req.arg("maxRecords")
    size = table.settings.default_max_records
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise SfError(400, "INVALID_PARAMETER_VALUE", f"Invalid maxRecords: {raw}")
        size = int(raw)
    locator = req.arg("locator") or None
    start = decode_locator(locator) if locator else 0
    async with DownloadGate(req.org, start):
        body, locator, count = page(job, locator, size)
    await latency(req.org).serve(count)  # realistic-latency mode: reading the result
    headers = [_CSV, ("sforce-locator", locator), ("sforce-numberofrecords", str(count))]
    return _gzip(req, Response(status=200, body=body, headers=headers), table)


def _result_pages(req: Request) -> Response:
    if float(req.api_version) < MIN_PAGES_VERSION:  # before the job lookup, as an unknown path
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    table, job = _completed_query(req)
    return result_pages(req, job, table.settings.default_max_records)


# Salesforce matches these path segments case-insensitively: clients send `unprocessedRecords`
# as often as the documented `unprocessedrecords`, and its own next-listing URLs say
# `resultpages`. Keys are the lower-cased segment.
_INGEST_RESULTS: Final = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}


async def _ingest_segment(req: Request) -> Response:
    which = _INGEST_RESULTS.get(req.params["segment"].lower())
    if which is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return _results(req, which)


async def _query_segment(req: Request) -> Response:
    segment = req.params["segment"].lower()
    if segment == "results":
        return await _query_results(req)
    if segment == "resultpages":
        return _result_pages(req)
    raise SfError(404, "NOT_FOUND", "The requested resource does not exist")


# -- shared ---------------------------------------------------------------------------------


def _list(req: Request, kind: Kind) -> Response:
    table = jobs(req.org)
    wanted = req.arg("jobType")
    listed = [
        j
        for j in table.by_kind[kind].values()
        if wanted is None or wanted == ("V2Ingest" if kind == "ingest" else "V2Query")
    ]
    locator = req.arg("queryLocator")
    start = decode_locator(locator) if locator else 0
    size = max(table.settings.list_page_size, 1)
    chunk = listed[start : start + size]
    more = start + size < len(listed)
    url = (
        f"/services/data/v{req.api_version}/jobs/{kind}?queryLocator={encode_locator(start + size)}"
        if more
        else None
    )
    return Response.json(
        {"done": not more, "records": [j.info(full=False) for j in chunk], "nextRecordsUrl": url}
    )


def _delete(req: Request, kind: Kind) -> Response:
    table = jobs(req.org)
    job = table.get(kind, req.params["job_id"])
    if job.state not in DELETABLE:
        raise SfError(
            409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: abort it before deleting it"
        )
    table.remove(job)
    return Response.empty(204)


def _admin_get(state: OrgState) -> Response:
    return Response.json(jobs(state).settings.to_dict())


def _admin_set(req: Request) -> Response:
    body = _body(req)
    current = jobs(req.org).settings
    known = {f.name: f for f in attrs.fields(BulkSettings)}
    unknown = set(body) - set(known)
    if unknown:
        raise SfError(400, "INVALID_FIELD", f"bulk-v2 settings take {sorted(known)}")
    for key, value in body.items():
        if key == "fail_after":
            current.fail_after = None if value is None else int(value)
        elif key == "paused" and value:
            jobs(req.org).pause()
        elif key == "paused":
            jobs(req.org).release()
        else:
            setattr(current, key, type(getattr(current, key))(value))
    return _admin_get(req.org)


_PAGES_ADMIN: Final = "/_admin/bulk-v2/result-pages"


def _pages_get(req: Request) -> Response:
    return Response.json(page_settings(req.org).to_dict())


def _pages_set(req: Request) -> Response:
    return Response.json(set_page_settings(req.org, req.json()).to_dict())


def _info(req: Request, kind: Kind) -> Response:
    return Response.json(jobs(req.org).get(kind, req.params["job_id"]).info())


def _route(handler: Callable[[Request], Response]) -> Handler:
    async def route(req: Request) -> Response:
        return handler(req)

    return route


def register(router: Router, state: OrgState) -> None:
    base = "/services/data/v{version}/jobs"
    job = "/{job_id}"
    for kind in ("ingest", "query"):
        router.add("GET", f"{base}/{kind}", _route(partial(_list, kind=kind)))
    router.add("POST", f"{base}/ingest", _route(_create_ingest))
    router.add("PUT", f"{base}/ingest{job}/batches", _route(_upload))
    router.add("GET", f"{base}/ingest{job}/{{segment}}", _ingest_segment)
    router.add("POST", f"{base}/query", _route(_create_query))
    router.add("GET", f"{base}/query{job}/{{segment}}", _query_segment)
    kinds: tuple[Kind, ...] = ("ingest", "query")
    for kind in kinds:
        router.add("GET", f"{base}/{kind}{job}", _route(partial(_info, kind=kind)))
        router.add("PATCH", f"{base}/{kind}{job}", _route(partial(_patch, kind=kind)))
        router.add("DELETE", f"{base}/{kind}{job}", _route(partial(_delete, kind=kind)))
    router.add("GET", "/_admin/bulk-v2", _route(lambda req: _admin_get(req.org)), auth=False)
    router.add("POST", "/_admin/bulk-v2", _route(_admin_set), auth=False)
    router.add("GET", _PAGES_ADMIN, _route(_pages_get), auth=False)
    router.add("POST", _PAGES_ADMIN, _route(_pages_set), auth=False)
