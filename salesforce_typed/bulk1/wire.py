"""Bulk API 1.0 on the wire: JobInfo, BatchInfo, batch lists, results and errors, built and
parsed as pure functions (no I/O), for XML and JSON.

What must stay true (wire reference §7, §13):
- The response format follows the job's contentType: JSON jobs talk JSON, CSV and XML jobs talk
  XML (query results of CSV jobs are CSV). Parsers therefore look at the response's own
  Content-Type, never at what we asked for.
- XML is parsed by `parse_xml`, which refuses any DOCTYPE or entity declaration before expat
  can expand it (XXE, billion laughs): Salesforce never sends either.
- Errors are `<error><exceptionCode/><exceptionMessage/></error>` or the JSON twin, mostly 400;
  an expired session is a 400 `InvalidSessionId`, told apart only by the code.
- Unknown JobInfo/BatchInfo elements are kept in `extra`, never dropped; batch state
  `Not Processed` (older docs) reads as `NotProcessed`.
- Session ids never reach a repr, a log line or an exception message.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, Final, Literal
from xml.parsers import expat

import attrs
import httpx

from salesforce_typed.core.codecs import parse_datetime
from salesforce_typed.core.errors import (
    BY_ERROR_CODE,
    APIStatusError,
    AuthenticationError,
    RequestLimitExceededError,
    ServerError,
    UnreadableResponseError,
    UnsafeXmlError,
    UsageError,
)

__all__ = [
    "ACTIVE_BATCH_STATES",
    "NS",
    "REFRESH_EXCEPTION_CODES",
    "TERMINAL_BATCH_STATES",
    "TERMINAL_JOB_STATES",
    "XSI",
    "BatchInfo",
    "BulkRequest",
    "ConcurrencyMode",
    "ContentType",
    "JobInfo",
    "Operation",
    "UnsafeXmlError",
    "build_add_batch",
    "build_batch_request",
    "build_batch_result",
    "build_create_job",
    "build_get_batch",
    "build_get_job",
    "build_job_state",
    "build_list_batches",
    "build_query_result",
    "error_from_bulk_response",
    "is_json",
    "parse_batch_info",
    "parse_batch_list",
    "parse_job_info",
    "parse_query_result_ids",
    "parse_xml",
    "wire_of",
]

NS: Final = "http://www.force.com/2009/06/asyncapi/dataload"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
_Q: Final = "{" + NS + "}"

Operation = Literal["insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll"]
ContentType = Literal["CSV", "JSON", "XML"]
ConcurrencyMode = Literal["Parallel", "Serial"]
Wire = Literal["xml", "json"]

# -- the state tables the polling loop runs on (STYLE §11) -----------------------------------

# A batch in one of these will not change again: stop polling it.
TERMINAL_BATCH_STATES: Final = frozenset({"Completed", "Failed", "NotProcessed"})
# Still moving: poll again after the backoff.
ACTIVE_BATCH_STATES: Final = frozenset({"Queued", "InProgress"})
# A job in one of these takes no more batches; `Closed` still finishes the ones it has.
TERMINAL_JOB_STATES: Final = frozenset({"Aborted", "Failed"})
# Codes after which the request is replayed once with a refreshed session.
REFRESH_EXCEPTION_CODES: Final = frozenset({"InvalidSessionId"})


# Bulk exceptionCode -> our error class, checked before REST's errorCode table and the status;
# anything else is APIStatusError (ServerError on 5xx) with the code kept verbatim.
_BY_EXCEPTION_CODE: Final[dict[str, type[APIStatusError]]] = {
    "InvalidSessionId": AuthenticationError,
    "InvalidUser": AuthenticationError,
    "ExceededQuota": RequestLimitExceededError,
    "Timeout": ServerError,
}

_CONTENT_TYPES: Final[dict[str, str]] = {
    "CSV": "text/csv; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "XML": "application/xml; charset=UTF-8",
}


# -- safe XML --------------------------------------------------------------------------------


def parse_xml(data: bytes | str) -> ET.Element:
    """An ElementTree root from expat with DTDs and entity declarations refused outright.

    ElementTree's own parser would expand internal entities (billion laughs); here expat
    stops at the DOCTYPE, so nothing declared in one is ever seen, let alone expanded.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: Any) -> None:
        raise UnsafeXmlError("XML with a DOCTYPE or entity declaration is refused")

    def refuse_reference(*_: Any) -> int:
        raise UnsafeXmlError("XML with an external entity reference is refused")

    def start(name: str, attributes: dict[str, str]) -> None:
        builder.start(_clark(name), {_clark(k): v for k, v in attributes.items()})

    def end(name: str) -> None:
        builder.end(_clark(name))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_reference
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data.encode() if isinstance(data, str) else data, True)
    except expat.ExpatError as exc:
        raise UnreadableResponseError(f"malformed XML: {exc}") from None
    root: ET.Element = builder.close()
    return root


def _clark(name: str) -> str:
    return "{" + name if "}" in name else name


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: ET.Element) -> dict[str, str]:
    return {_local(child.tag): (child.text or "").strip() for child in element}


def _xml_doc(root: str, fields: list[tuple[str, str]]) -> bytes:
    parts = "".join(f"<{k}>{_escape(v)}</{k}>" for k, v in fields)
    return (f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">{parts}</{root}>').encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- requests ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class BulkRequest:
    """One Bulk 1.0 call, relative to the instance URL; the session goes in at send time."""

    method: str
    path: str
    content: bytes | None = attrs.field(default=None, repr=False)
    content_type: str | None = None
    idempotent: bool = True
    headers: tuple[tuple[str, str], ...] = ()

    def to_httpx(
        self,
        client: httpx.Client | httpx.AsyncClient,
        instance_url: str,
        session_id: str,
        *,
        call_options: str | None = None,
    ) -> httpx.Request:
        headers = {"X-SFDC-Session": session_id, "Accept-Encoding": "gzip"}
        if call_options:  # `client=<name>` lands in CDC changeOrigin, as for REST
            headers["Sforce-Call-Options"] = call_options
        if self.content_type:
            headers["Content-Type"] = self.content_type
        headers.update(self.headers)
        return client.build_request(
            self.method,
            instance_url.rstrip("/") + self.path,
            content=self.content,
            headers=headers,
        )


def wire_of(content_type: str) -> Wire:
    """JSON jobs speak JSON; CSV and XML jobs speak XML (Content Type Header doc)."""
    return "json" if content_type.upper() in ("JSON", "ZIP_JSON") else "xml"


def _job_path(api_version: str, job_id: str = "") -> str:
    base = f"/services/async/{api_version.removeprefix('v')}/job"
    return f"{base}/{job_id}" if job_id else base


def build_create_job(
    api_version: str,
    operation: Operation,
    sobject: str,
    content_type: ContentType = "CSV",
    *,
    concurrency_mode: ConcurrencyMode = "Parallel",
    external_id_field: str | None = None,
    assignment_rule_id: str | None = None,
    pk_chunking: int | bool | None = None,
) -> BulkRequest:
    """POST /job. A create is not idempotent: an unknown outcome is not re-sent blindly.

    `pk_chunking`: True for Salesforce's default chunk size, an int for `chunkSize=N`.
    """
    if operation == "upsert" and not external_id_field:
        raise UsageError("upsert needs external_id_field")
    fields = [("operation", operation), ("object", sobject)]
    if external_id_field:
        fields.append(("externalIdFieldName", external_id_field))
    fields += [("concurrencyMode", concurrency_mode), ("contentType", content_type)]
    if assignment_rule_id:
        fields.append(("assignmentRuleId", assignment_rule_id))
    headers: tuple[tuple[str, str], ...] = ()
    if pk_chunking:
        if operation not in ("query", "queryAll"):
            raise UsageError("PK chunking applies to query and queryAll jobs only")
        value = "true" if pk_chunking is True else f"chunkSize={int(pk_chunking)}"
        headers = (("Sforce-Enable-PKChunking", value),)
    wire = wire_of(content_type)
    return BulkRequest(
        method="POST",
        path=_job_path(api_version),
        content=_body(wire, "jobInfo", fields),
        content_type=_CONTENT_TYPES["JSON" if wire == "json" else "XML"],
        idempotent=False,
        headers=headers,
    )


def _body(wire: Wire, root: str, fields: list[tuple[str, str]]) -> bytes:
    if wire == "json":
        return json.dumps(dict(fields), separators=(",", ":")).encode()
    return _xml_doc(root, fields)


def build_job_state(
    api_version: str, job_id: str, state: Literal["Closed", "Aborted"], content_type: str
) -> BulkRequest:
    """POST /job/{id} with a new state: setting a state twice is harmless, so re-sendable."""
    wire = wire_of(content_type)
    return BulkRequest(
        method="POST",
        path=_job_path(api_version, job_id),
        content=_body(wire, "jobInfo", [("state", state)]),
        content_type=_CONTENT_TYPES["JSON" if wire == "json" else "XML"],
    )


def build_get_job(api_version: str, job_id: str) -> BulkRequest:
    return BulkRequest(method="GET", path=_job_path(api_version, job_id))


def build_add_batch(
    api_version: str, job_id: str, content_type: str, body: bytes, *, query: bool = False
) -> BulkRequest:
    """POST /job/{id}/batch. Never re-sent on an unknown outcome: it would load rows twice."""
    ctype = content_type.upper()
    if query and ctype == "CSV":
        mime = "text/csv; charset=UTF-8"
    else:
        mime = _CONTENT_TYPES.get(ctype, _CONTENT_TYPES["CSV"])
    return BulkRequest(
        method="POST",
        path=f"{_job_path(api_version, job_id)}/batch",
        content=body,
        content_type=mime,
        idempotent=False,
    )


def build_list_batches(api_version: str, job_id: str) -> BulkRequest:
    return BulkRequest(method="GET", path=f"{_job_path(api_version, job_id)}/batch")


def build_get_batch(api_version: str, job_id: str, batch_id: str) -> BulkRequest:
    return BulkRequest(method="GET", path=f"{_job_path(api_version, job_id)}/batch/{batch_id}")


def build_batch_request(api_version: str, job_id: str, batch_id: str) -> BulkRequest:
    path = f"{_job_path(api_version, job_id)}/batch/{batch_id}/request"
    return BulkRequest(method="GET", path=path)


def build_batch_result(api_version: str, job_id: str, batch_id: str) -> BulkRequest:
    path = f"{_job_path(api_version, job_id)}/batch/{batch_id}/result"
    return BulkRequest(method="GET", path=path)


def build_query_result(api_version: str, job_id: str, batch_id: str, result_id: str) -> BulkRequest:
    path = f"{_job_path(api_version, job_id)}/batch/{batch_id}/result/{result_id}"
    return BulkRequest(method="GET", path=path)


# -- JobInfo and BatchInfo --------------------------------------------------------------------

_INT_FIELDS: Final = frozenset(
    {
        "numberBatchesQueued",
        "numberBatchesInProgress",
        "numberBatchesCompleted",
        "numberBatchesFailed",
        "numberBatchesTotal",
        "numberRecordsProcessed",
        "numberRecordsFailed",
        "numberRetries",
        "totalProcessingTime",
        "apiActiveProcessingTime",
        "apexProcessingTime",
    }
)
_DATE_FIELDS: Final = frozenset({"createdDate", "systemModstamp"})


def _when(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)  # epoch millis (observed in JSON)
    return parse_datetime(str(value))


def _version(value: Any) -> str:
    """`62.0` from XML text or a JSON number; anything unreadable is kept as sent."""
    text = "" if value is None else str(value).strip().removeprefix("v")
    try:
        return f"{float(text):.1f}"
    except ValueError:
        return text


def _number(value: Any) -> int:
    try:
        return int(float(value)) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0


@attrs.frozen(kw_only=True, slots=True)
class JobInfo:
    """A Bulk 1.0 job as Salesforce reports it. Names are the wire's (STYLE §13)."""

    id: str
    operation: str = ""
    object: str = ""
    state: str = ""
    contentType: str = "CSV"
    concurrencyMode: str = "Parallel"
    externalIdFieldName: str | None = None
    assignmentRuleId: str | None = None
    apiVersion: str = ""
    createdById: str = ""
    createdDate: dt.datetime | None = None
    systemModstamp: dt.datetime | None = None
    numberBatchesQueued: int = 0
    numberBatchesInProgress: int = 0
    numberBatchesCompleted: int = 0
    numberBatchesFailed: int = 0
    numberBatchesTotal: int = 0
    numberRecordsProcessed: int = 0
    numberRecordsFailed: int = 0
    numberRetries: int = 0
    totalProcessingTime: int = 0
    apiActiveProcessingTime: int = 0
    apexProcessingTime: int = 0
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> JobInfo:
        return cls(**_fields_of(cls, data))


@attrs.frozen(kw_only=True, slots=True)
class BatchInfo:
    """One batch; `Completed` may hold failed rows and `Failed` may have processed some."""

    id: str
    jobId: str = ""
    state: str = ""
    stateMessage: str | None = None
    createdDate: dt.datetime | None = None
    systemModstamp: dt.datetime | None = None
    numberRecordsProcessed: int = 0
    numberRecordsFailed: int = 0
    totalProcessingTime: int = 0
    apiActiveProcessingTime: int = 0
    apexProcessingTime: int = 0
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> BatchInfo:
        return cls(**_fields_of(cls, data))

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_BATCH_STATES


def _fields_of(cls: type[JobInfo] | type[BatchInfo], data: Mapping[str, Any]) -> dict[str, Any]:
    known = {a.name for a in attrs.fields(cls)} - {"extra"}
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            extra[key] = value
        elif key in _INT_FIELDS:
            out[key] = _number(value)
        elif key in _DATE_FIELDS:
            out[key] = _when(value)
        elif key == "state":
            out[key] = "NotProcessed" if value == "Not Processed" else str(value)
        elif key == "apiVersion":
            out[key] = _version(value)
        else:
            out[key] = None if value is None else str(value)
    out["id"] = str(data.get("id") or "")
    out["extra"] = extra
    return out


def is_json(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "")
    if "json" in ctype:
        return True
    return "xml" not in ctype and response.content.lstrip()[:1] in (b"{", b"[")


def _record(response: httpx.Response) -> dict[str, Any]:
    if is_json(response):
        data = response.json()
        if not isinstance(data, dict):
            raise UnreadableResponseError("expected a JSON object")
        return data
    return dict(_children(parse_xml(response.content)))


def parse_job_info(response: httpx.Response) -> JobInfo:
    return JobInfo.from_mapping(_record(response))


def parse_batch_info(response: httpx.Response) -> BatchInfo:
    return BatchInfo.from_mapping(_record(response))


def parse_batch_list(response: httpx.Response) -> list[BatchInfo]:
    """`<batchInfoList>` (possibly empty and self-closed) or `{"batchInfo": [...]}`."""
    if is_json(response):
        data = response.json()
        items = data.get("batchInfo", []) if isinstance(data, dict) else data
        return [BatchInfo.from_mapping(item) for item in items or ()]
    root = parse_xml(response.content)
    return [BatchInfo.from_mapping(_children(child)) for child in root]


def parse_query_result_ids(response: httpx.Response) -> list[str]:
    """`<result-list><result>752...</result></result-list>` or `["752..."]`."""
    if is_json(response):
        data = response.json()
        return [str(item) for item in data] if isinstance(data, list) else []
    root = parse_xml(response.content)
    return [(child.text or "").strip() for child in root if _local(child.tag) == "result"]


# -- errors -----------------------------------------------------------------------------------


def error_from_bulk_response(response: httpx.Response) -> APIStatusError:
    """The exception for a Bulk error answer; REST-shaped bodies (`[{"errorCode"}]`) too.

    Bulk codes are kept verbatim in `error_code` (`InvalidSessionId`, `InvalidBatch`...).
    """
    code, message = "", ""
    try:
        if is_json(response):
            data = response.json()
            first = data[0] if isinstance(data, list) and data else data
            if isinstance(first, dict):
                code = str(first.get("exceptionCode") or first.get("errorCode") or "")
                message = str(first.get("exceptionMessage") or first.get("message") or "")
        elif response.content.strip():
            fields = _children(parse_xml(response.content))
            code = fields.get("exceptionCode", "")
            message = fields.get("exceptionMessage", "")
    except (ValueError, UnreadableResponseError):  # not JSON or XML (an HTML page): keep status
        message = response.text[:500]
    cls = _BY_EXCEPTION_CODE.get(code) or BY_ERROR_CODE.get(code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else APIStatusError
    return cls(
        message[:2000] or f"HTTP {response.status_code}",
        status_code=response.status_code,
        error_code=code,
        errors=({"exceptionCode": code, "exceptionMessage": message},),
        method=response.request.method,
        url=response.request.url.path,
    )
