"""Bulk API 1.0 in the fake org: `/services/async/{version}/job...` (wire reference §7).

Routes: create a job, read it, close or abort it (POST a state), add a batch, list batches,
read one, its request, its result (DML rows, or the list of query result files) and each
query result file; plus `/_admin/bulk-v1` for the settings in `jobs.BulkV1Settings`.

What must stay true:
- Authentication is `X-SFDC-Session` (an OAuth access token or session id), never Bearer. A
  missing, unknown or expired session answers **400** `InvalidSessionId`, in XML or JSON.
- The answer's format follows the job's contentType (JSON jobs JSON, CSV and XML jobs XML);
  before a job is known (create, unknown id) it follows the request's Content-Type,
  defaulting to XML.
- The URL's API version must be the job's; only its creator may use a job.
- Batches are taken only while the job is Open and younger than 24 hours, and only in the
  job's format; a body over the byte limit is refused at upload.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

from salesforce_typed.testing.bulk1.jobs import Batch, BulkV1, BulkV1Settings, Job, bulk_v1
from salesforce_typed.testing.bulk1.jobs import new_batch as _new_batch
from salesforce_typed.testing.bulk1.wire import (
    CSV_TYPE,
    JSON_TYPE,
    XML_TYPE,
    BulkError,
    dml_results,
    error_body,
    job_request,
    render,
    render_list,
    result_list,
)
from salesforce_typed.testing.org.changes import Origin, call_options_client
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import field_index
from salesforce_typed.testing.org.state import OrgState

__all__ = ["BulkV1Settings", "bulk_v1", "bulk_v1_settings", "register"]

OPERATIONS: Final = ("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll")
CONTENT_TYPES: Final = ("CSV", "JSON", "XML")
JOB_WINDOW_S: Final = 24 * 3600.0
_MIME: Final = {"CSV": CSV_TYPE, "JSON": JSON_TYPE, "XML": XML_TYPE}
_SETTING_TYPES: Final = {
    "processing_delay": float,
    "hold": bool,
    "max_records": int,
    "max_bytes": int,
    "max_chars": int,
    "result_file_rows": int,
    "default_chunk_size": int,
    "max_chunk_size": int,
    "dml_chunk": int,
}


def bulk_v1_settings(state: OrgState) -> BulkV1Settings:
    """The org's Bulk 1.0 settings, to change in place (`settings.hold = True`)."""
    return bulk_v1(state).settings


def _setting(key: str, value: Any) -> Any:
    if _SETTING_TYPES[key] is bool:
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return _SETTING_TYPES[key](value)


def _answer(body: bytes, *, as_json: bool, status: int = 200) -> Response:
    ctype = "application/json" if as_json else "application/xml"
    return Response(status=status, body=body, headers=[("content-type", ctype)])


def _wants_json(req: Request) -> bool:
    job = bulk_v1(req.org).job(req.params.get("job", ""))
    if job is not None:
        return job.as_json
    return "json" in req.headers.get("content-type", "").lower()


Handler = Callable[[Request], Awaitable[Response]]


def retired_version(req: Request) -> Response:
    """A retired version on Bulk 1.0: 400 InvalidVersion, where REST answers 410 GONE."""
    as_json = _wants_json(req)
    message = f"Invalid Api version specified on URL: {req.params.get('version', '')}"
    body = error_body("InvalidVersion", message, as_json=as_json)
    return _answer(body, as_json=as_json, status=400)


def _bulk_route(handler: Handler) -> Handler:
    """Own auth (X-SFDC-Session) and Bulk-shaped errors around a handler."""

    async def run(req: Request) -> Response:
        as_json = _wants_json(req)
        try:
            token = req.headers.get("x-sfdc-session", "").strip()
            try:
                req.session = req.org.session_for_token(token)
            except SfError:
                raise BulkError("InvalidSessionId", "Invalid session id") from None
            return await handler(req)
        except BulkError as exc:
            body = error_body(exc.code, exc.message, as_json=as_json)
            return _answer(body, as_json=as_json, status=exc.status)

    return run


def _job(req: Request) -> Job:
    job = bulk_v1(req.org).job(req.params["job"])
    if job is None:
        raise BulkError("InvalidJob", f"Unable to find job: {req.params['job']}")
    if req.session is not None and req.session.user_id != job.created_by:
        raise BulkError("InvalidUser", "The job was created by another user")
    if float(req.api_version) != float(job.api_version):
        raise BulkError(
            "InvalidJob",
            f"The URL version {req.api_version} does not match the job's API version "
            f"{job.api_version}",
        )
    return job


def _batch(req: Request, job: Job) -> Batch:
    batch = bulk_v1(req.org).batches.get(req.params["batch"])
    if batch is None or batch.job_id != job.id:
        raise BulkError("InvalidBatch", f"Unable to find batch: {req.params['batch']}")
    return batch


def _pk_chunk_size(header: str | None, operation: str, settings: BulkV1Settings) -> int | None:
    """`Sforce-Enable-PKChunking: true` or `chunkSize=N; parent=T; startRow=<id>`."""
    if header is None or header.strip().lower() in ("", "false"):
        return None
    if operation not in ("query", "queryAll"):
        raise BulkError("InvalidJob", "PK Chunking is supported for query and queryAll only")
    size = settings.default_chunk_size
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "chunksize":
            try:
                size = int(value.strip())
            except ValueError:
                raise BulkError("InvalidJob", f"Invalid chunkSize: {value.strip()}") from None
    if not 1 <= size <= settings.max_chunk_size:
        raise BulkError(
            "InvalidJob", f"Chunk size {size} must be between 1 and {settings.max_chunk_size}"
        )
    return size


def _create(req: Request, bulk: BulkV1) -> Job:
    data = job_request(req.body, is_json=_wants_json(req))
    operation = data.get("operation", "")
    if operation not in OPERATIONS:
        raise BulkError("InvalidJob", f"Invalid operation: {operation}")
    index = field_index(req.org, data.get("object", ""))
    if index is None:
        raise BulkError("InvalidJob", f"Unable to find object: {data.get('object', '')}")
    content_type = data.get("contentType") or "XML"
    if content_type not in CONTENT_TYPES:
        raise BulkError("InvalidJob", f"Unsupported content type: {content_type}")
    # JSON clients may send the enum's ordinal (simple-salesforce sends 0 or 1).
    mode = {"0": "Parallel", "1": "Serial"}.get(data.get("concurrencyMode", ""), "")
    mode = mode or data.get("concurrencyMode") or "Parallel"
    if mode not in ("Parallel", "Serial"):
        raise BulkError("InvalidJob", f"Invalid concurrency mode: {mode}")
    external = data.get("externalIdFieldName") or None
    if operation == "upsert":
        found = index.field(external) if external else None
        if found is None:
            raise BulkError(
                "InvalidJob",
                f"External ID was blank for {index.sobject}. An External ID must be specified "
                "for upsert.",
            )
        external = str(found["name"])
        if external not in index.lookup_fields():
            raise BulkError(
                "InvalidJob",
                f"Field name provided, {external} is not an External ID or indexed field for "
                f"{index.sobject}",
            )
    session = req.session
    assert session is not None
    now = req.org.clock()
    job = Job(
        id=req.org.ids.new("750"),
        operation=operation,
        sobject=index.sobject,
        content_type=content_type,
        concurrency_mode=mode,
        external_id=external,
        assignment_rule_id=data.get("assignmentRuleId") or None,
        api_version=f"{float(req.api_version):.1f}",
        created_by=session.user_id,
        created=now,
        modstamp=now,
        origin=Origin(
            api="bulkapi",
            version=f"{float(req.api_version):.1f}",
            client=call_options_client(req.headers.get("sforce-call-options")),
            user_id=session.user_id,
        ),
        pk_chunk_size=_pk_chunk_size(
            req.headers.get("sforce-enable-pkchunking"), operation, bulk.settings
        ),
    )
    bulk.jobs[job.id] = job
    bulk.keep(job)
    return job


def _set_state(req: Request, bulk: BulkV1, job: Job) -> None:
    data = job_request(req.body, is_json="json" in req.headers.get("content-type", "").lower())
    wanted = data.get("state", "")
    if wanted == "Closed":
        if job.state not in ("Open", "Closed"):
            raise BulkError("InvalidJobState", f"Cannot close job {job.id}: it is {job.state}")
        job.state, job.modstamp = "Closed", req.org.clock()
        bulk.keep(job)
    elif wanted == "Aborted":
        if job.state not in ("Open", "Closed", "Aborted"):
            raise BulkError("InvalidJobState", f"Cannot abort job {job.id}: it is {job.state}")
        bulk.abort(job)
    else:
        raise BulkError("InvalidJobState", f"Invalid job state: {wanted}")


def _gunzip(body: bytes, limit: int) -> bytes:
    """The body inflated to at most `limit` + 1 bytes: a gzip bomb stops at the size limit
    instead of filling memory (the size check that follows then refuses it)."""
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    try:
        out = inflater.decompress(body, limit + 1)
        if not inflater.eof and len(out) <= limit:
            raise zlib.error("truncated")
    except zlib.error:
        raise BulkError("InvalidBatch", "Unable to decompress the gzip body") from None
    return out


def _add_batch(req: Request, bulk: BulkV1, job: Job) -> Batch:
    if job.state != "Open":
        raise BulkError(
            "InvalidJobState", f"Batches can only be added to an open job; {job.id} is {job.state}"
        )
    if req.org.clock() - job.created > JOB_WINDOW_S:
        raise BulkError(
            "InvalidJobState", "Batches cannot be added to a job created over 24 hours ago"
        )
    body = req.body
    if req.headers.get("content-encoding", "").lower() == "gzip":
        body = _gunzip(body, bulk.settings.max_bytes)
    if not body.strip():
        raise BulkError("InvalidBatch", "A batch must contain some content")
    if len(body) > bulk.settings.max_bytes:
        raise BulkError("InvalidBatch", f"Exceeded max size limit of {bulk.settings.max_bytes}")
    expected = _MIME[job.content_type]
    given = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != expected:
        raise BulkError(
            "InvalidBatch",
            f"The batch's Content-Type {given or '(none)'} does not match the job's "
            f"contentType {job.content_type}",
        )
    batch = _new_batch(bulk, job, body, expected)
    bulk.start(job, batch)
    return batch


async def create_job(req: Request) -> Response:
    bulk = bulk_v1(req.org)
    job = _create(req, bulk)
    return _answer(
        render("jobInfo", job.info(), as_json=job.as_json), as_json=job.as_json, status=201
    )


async def get_job(req: Request) -> Response:
    job = _job(req)
    return _answer(render("jobInfo", job.info(), as_json=job.as_json), as_json=job.as_json)


async def post_job(req: Request) -> Response:
    bulk = bulk_v1(req.org)
    job = _job(req)
    _set_state(req, bulk, job)
    return _answer(render("jobInfo", job.info(), as_json=job.as_json), as_json=job.as_json)


async def add_batch(req: Request) -> Response:
    job = _job(req)
    batch = _add_batch(req, bulk_v1(req.org), job)
    body = render("batchInfo", batch.info(), as_json=job.as_json)
    return _answer(body, as_json=job.as_json, status=201)


async def list_batches(req: Request) -> Response:
    job = _job(req)
    body = render_list((b.info() for b in job.batches), as_json=job.as_json)
    return _answer(body, as_json=job.as_json)


async def get_batch(req: Request) -> Response:
    job = _job(req)
    batch = _batch(req, job)
    return _answer(render("batchInfo", batch.info(), as_json=job.as_json), as_json=job.as_json)


async def get_request(req: Request) -> Response:
    job = _job(req)
    batch = _batch(req, job)
    return Response(body=batch.body, headers=[("content-type", batch.mime)])


async def get_result(req: Request) -> Response:
    job = _job(req)
    batch = _batch(req, job)
    if job.is_query:
        if batch.state != "Completed":
            raise BulkError("InvalidBatch", "Batch not completed")
        return _answer(
            result_list(list(batch.result_files), as_json=job.as_json), as_json=job.as_json
        )
    if batch.state != "Completed" and not (batch.state == "Failed" and batch.processed):
        raise BulkError("InvalidBatch", "Batch not completed")
    body = dml_results(batch.outcomes, job.content_type)
    mime = _MIME[job.content_type] + ("; charset=UTF-8" if job.content_type == "CSV" else "")
    return Response(body=body, headers=[("content-type", mime)])


async def get_result_file(req: Request) -> Response:
    job = _job(req)
    batch = _batch(req, job)
    body = batch.result_files.get(req.params["result"]) if job.is_query else None
    if body is None:
        raise BulkError("InvalidBatch", f"Unable to find result: {req.params['result']}")
    mime = _MIME[job.content_type] + ("; charset=UTF-8" if job.content_type == "CSV" else "")
    return Response(body=body, headers=[("content-type", mime)])


async def get_settings(req: Request) -> Response:
    settings = bulk_v1(req.org).settings
    return Response.json({k: getattr(settings, k) for k in sorted(_SETTING_TYPES)})


async def set_settings(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict) or set(body) - set(_SETTING_TYPES):
        raise SfError(400, "INVALID_FIELD", f"bulk-v1 settings are {sorted(_SETTING_TYPES)}")
    settings = bulk_v1(req.org).settings
    for key, value in body.items():
        setattr(settings, key, _setting(key, value))
    return await get_settings(req)


_BASE: Final = "/services/async/{version}/job"
# Authenticated by `_bulk_route` (X-SFDC-Session), not by the app's Bearer check.
ROUTES: Final[tuple[tuple[str, str, Handler], ...]] = (
    ("POST", _BASE, create_job),
    ("GET", _BASE + "/{job}", get_job),
    ("POST", _BASE + "/{job}", post_job),
    ("POST", _BASE + "/{job}/batch", add_batch),
    ("GET", _BASE + "/{job}/batch", list_batches),
    ("GET", _BASE + "/{job}/batch/{batch}", get_batch),
    ("GET", _BASE + "/{job}/batch/{batch}/request", get_request),
    ("GET", _BASE + "/{job}/batch/{batch}/result", get_result),
    ("GET", _BASE + "/{job}/batch/{batch}/result/{result}", get_result_file),
)
ADMIN_ROUTES: Final = (
    ("GET", "/_admin/bulk-v1", get_settings),
    ("POST", "/_admin/bulk-v1", set_settings),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(((m, path, _bulk_route(h)) for m, path, h in ROUTES), auth=False)
    router.add_all(ADMIN_ROUTES, auth=False)
