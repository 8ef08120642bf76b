"""The partner SOAP API of the fake org: `POST /services/Soap/u/{version}[/{orgId}]`.

One route for every call; the body element names the operation (any `SOAPAction` is
accepted, as Salesforce does). The calls work on the same data as REST: writes go through
`org.records.Writer` (same validation, same CDC events, origin `com/salesforce/api/soap/NN.0`),
queries through the SOQL engine and the REST locator table (`org.query_locators`), so a
record written by either API reads the same through the other. describeGlobal,
describeSObject(s) and search answer the REST describes and the SOSL engine's results,
converted in `describe.py`.

What must stay true (wire reference §9, §13):
- Whole-call failures are HTTP 500 faults (`sf:CODE` + ApiFault detail), never REST JSON:
  a dead session is `INVALID_SESSION_ID` "Invalid Session ID found in SessionHeader: Illegal
  Session"; bad credentials `INVALID_LOGIN` in a LoginFault.
- `login()` answers at 31.0..64.0 and refuses 65.0+ with INVALID_OPERATION, as Salesforce
  does since it removed the call; its session is a real session of the org (REST takes it).
- Versions are checked here, not by the REST version rule: SOAP serves up to the newest
  WSDL we know (66.0) whatever the org's REST version, because login needs 64.0.
- Request XML with a DOCTYPE/ENTITY is refused before parsing (the client's `check_safe`).
- Per-record failures are `errors` in results, in input order, never faults.
- Every answer validates against the real v66 partner WSDL and parses in strict zeep
  (tests/fidelity/test_soap_wsdl.py; the facts are in docs/fidelity/soap.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, Final

import attrs
from xsdata.models.datatype import XmlDateTime

import salesforce_typed_soap as wsdl
from salesforce_typed.soap.envelope import LOGIN_REMOVED_IN, PARTNER_NS, body_element, check_safe
from salesforce_typed.soap.faults import UnsafeXmlError
from salesforce_typed.testing.org import changes, query_locators
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import Outcome, Writer, key_field, rolled_back
from salesforce_typed.testing.org.state import MIN_API_VERSION, OrgState, Session
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soap import convert, describe
from salesforce_typed.testing.soap.wire import (
    SoapFaultError,
    answer,
    children,
    errors,
    flag,
    header,
    local,
    query_result,
    read_sobject,
    sobject,
    text,
    typed,
)
from salesforce_typed.testing.soql import (
    SoqlError,
    execute_query,
    execute_search,
    id18,
    normalize_id,
)

MAX_SOAP_VERSION = 66.0  # the newest partner WSDL we serve
DEFAULT_BATCH_SIZE = 500  # QueryOptions default (wire reference §9)
ILLEGAL_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"
BAD_LOGIN = "Invalid username, password, security token; or user locked out."
MAX_RECORDS = 200
MAX_DESCRIBES = 100  # sObject types per describeSObjects call
_FIELD_PATH = re.compile(r"^[A-Za-z]\w*(\.[A-Za-z]\w*)*$")  # retrieve fieldList entries


@attrs.define(kw_only=True)
class Call:
    """One SOAP request: the parsed envelope, its body element, who sent it, at what version."""

    state: OrgState
    version: str
    root: ET.Element
    body: ET.Element
    session: Session | None = None

    @property
    def origin(self) -> changes.Origin:
        assert self.session is not None
        client = text(header(self.root, "CallOptions"), "client")
        return changes.Origin(
            api="soap", version=self.version, client=client or None, user_id=self.session.user_id
        )

    @property
    def all_or_none(self) -> bool:
        return flag(header(self.root, "AllOrNoneHeader"), "allOrNone")

    def writer(self) -> Writer:
        return Writer(self.state, self.origin)


def _version(raw: str) -> float:
    try:
        version = float(raw)
    except ValueError:
        version = -1.0
    if version < MIN_API_VERSION or version > MAX_SOAP_VERSION:
        raise SoapFaultError(
            "UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {raw}"
        )
    return version


def _soql_fault(exc: SoqlError) -> SoapFaultError:
    return SoapFaultError(exc.error_code, exc.detail, row=exc.row, column=exc.column)


def _sf_fault(exc: SfError) -> SoapFaultError:
    entry = exc.entry()
    code, message = str(entry["errorCode"]), str(entry["message"])
    if code == "JSON_PARSER_ERROR":  # a value of the wrong xsd type: the envelope is bad
        return SoapFaultError(code, message, client=True)
    return SoapFaultError(code, message)


def _check_type(state: OrgState, sobject_type: str) -> str:
    canonical = state.schema.canonical(sobject_type) if sobject_type else None
    if canonical is None:
        raise SoapFaultError(
            "INVALID_TYPE",
            f"sObject type '{sobject_type}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )
    return canonical


def _limit(state: OrgState) -> wsdl.LimitInfo:
    return wsdl.LimitInfo(
        current=state.api_usage, limit=state.config.daily_api_limit, type_value="API REQUESTS"
    )


# -- session calls -----------------------------------------------------------------------------


def user_info(state: OrgState, session: Session) -> wsdl.GetUserInfoResult:
    """The org's one user, as getUserInfo and login's userInfo describe it."""
    return wsdl.GetUserInfoResult(
        accessibility_mode=False,
        chatter_external=False,
        currency_symbol="$",
        org_attachment_file_size_limit=5_242_880,
        org_default_currency_iso_code="USD",
        org_default_currency_locale="en_US",
        org_disallow_html_attachments=False,
        org_has_person_accounts=False,
        organization_id=state.config.org_id,
        organization_multi_currency=False,
        organization_name="Fake Org",
        profile_id=id18("00e5g0000000001"),
        role_id=None,
        session_seconds_valid=int(state.config.session_timeout),
        user_default_currency_iso_code=None,
        user_email=session.username,
        user_full_name="Fake Org Admin",
        user_id=session.user_id,
        user_language="en_US",
        user_locale="en_US",
        user_name=session.username,
        user_time_zone="America/Los_Angeles",
        user_type="Standard",
        user_ui_skin="Theme3",
    )


def _login(call: Call) -> wsdl.LoginResponse:
    state, version = call.state, call.version
    if float(version) >= LOGIN_REMOVED_IN:
        raise SoapFaultError(
            "INVALID_OPERATION",
            f"The SOAP Login operation is not available in the API version specified "
            f"({version}). Refer to the documentation for supported versions.",
        )
    cfg = state.config
    username, password = text(call.body, "username"), text(call.body, "password")
    if username != cfg.username or password != cfg.password + cfg.security_token:
        raise SoapFaultError("INVALID_LOGIN", BAD_LOGIN)
    session = state.new_session(user_id=cfg.user_id, username=cfg.username)
    base = f"{state.instance_url}/services/Soap"
    return wsdl.LoginResponse(
        result=wsdl.LoginResult(
            metadata_server_url=f"{base}/m/{version}/{cfg.org_id[:15]}",
            password_expired=False,
            sandbox=False,
            server_url=f"{base}/u/{version}/{cfg.org_id[:15]}",
            session_id=session.access_token,
            user_id=session.user_id,
            user_info=user_info(state, session),
        )
    )


def _logout(call: Call) -> wsdl.LogoutResponse:
    assert call.session is not None
    with call.state.lock:
        call.state.sessions.pop(call.session.access_token, None)
    return wsdl.LogoutResponse()


def _get_user_info(call: Call) -> wsdl.GetUserInfoResponse:
    assert call.session is not None
    return wsdl.GetUserInfoResponse(result=user_info(call.state, call.session))


def _get_server_timestamp(call: Call) -> wsdl.GetServerTimestampResponse:
    now = dt.datetime.fromtimestamp(call.state.clock(), dt.UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Salesforce sends millis
    result = wsdl.GetServerTimestampResult(timestamp=XmlDateTime.from_datetime(now))
    return wsdl.GetServerTimestampResponse(result=result)


# -- DML -------------------------------------------------------------------------------------


def _sobjects(call: Call) -> list[tuple[str, str | None, dict[str, Any]]]:
    found = [read_sobject(e) for e in children(call.body, "sObjects")]
    if len(found) > MAX_RECORDS:
        raise SoapFaultError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return [(_check_type(call.state, t), i, b) for t, i, b in found]


def _grouped(
    call: Call,
    items: list[tuple[str, Any]],
    run: Callable[[str, list[Any]], list[Outcome]],
) -> list[Outcome]:
    """Run a Writer call per sObject type, results back in input order, all in one
    transaction: with AllOrNoneHeader any failure undoes every type's writes."""
    positions: dict[str, list[int]] = {}
    for i, (sobject_type, _) in enumerate(items):
        positions.setdefault(sobject_type, []).append(i)
    outcomes: list[Outcome] = [Outcome() for _ in items]
    try:
        with store(call.state).transaction():
            for sobject_type, indexes in positions.items():
                got = run(sobject_type, [items[i][1] for i in indexes])
                for i, outcome in zip(indexes, got, strict=True):
                    outcomes[i] = outcome
            if call.all_or_none and not all(o.success for o in outcomes):
                raise convert.RollbackError
    except convert.RollbackError:
        return rolled_back(outcomes)
    except SfError as exc:
        raise _sf_fault(exc) from None
    return outcomes


def _save_results(outcomes: list[Outcome]) -> list[wsdl.SaveResult]:
    return [
        wsdl.SaveResult(id=o.id if o.success else None, success=o.success, errors=errors(o.errors))
        for o in outcomes
    ]


def _create(call: Call) -> wsdl.CreateResponse:
    items = [(t, b) for t, _, b in _sobjects(call)]
    writer, aon = call.writer(), call.all_or_none
    outcomes = _grouped(call, items, lambda t, bodies: writer.create(t, bodies, all_or_none=aon))
    return wsdl.CreateResponse(result=_save_results(outcomes))


def _update(call: Call) -> wsdl.UpdateResponse:
    items = [(t, (i, b)) for t, i, b in _sobjects(call)]
    writer, aon = call.writer(), call.all_or_none
    outcomes = _grouped(call, items, lambda t, pairs: writer.update(t, pairs, all_or_none=aon))
    return wsdl.UpdateResponse(result=_save_results(outcomes))


def _upsert(call: Call) -> wsdl.UpsertResponse:
    field_name = text(call.body, "externalIDFieldName") or ""
    items = _sobjects(call)
    keys: dict[str, str] = {}
    for sobject_type, _, _ in items:
        index = convert.index_of(call.state, sobject_type)
        try:
            keys[sobject_type] = key_field(index, field_name)
        except SfError as exc:
            raise SoapFaultError("INVALID_FIELD", str(exc.entry()["message"])) from None

    def key_of(sobject_type: str, record_id: str | None, body: dict[str, Any]) -> Any:
        if keys[sobject_type] == "Id":
            return record_id
        found = next((k for k in body if k.lower() == keys[sobject_type].lower()), None)
        return body.get(found) if found else None

    pairs = [(t, (key_of(t, i, b), b)) for t, i, b in items]
    writer, aon = call.writer(), call.all_or_none
    outcomes = _grouped(call, pairs, lambda t, kb: writer.upsert(t, keys[t], kb, all_or_none=aon))
    return wsdl.UpsertResponse(
        result=[
            wsdl.UpsertResult(
                created=bool(o.created) and o.success,
                id=o.id if o.success else None,
                success=o.success,
                errors=errors(o.errors),
            )
            for o in outcomes
        ]
    )


def _ids(call: Call) -> list[str]:
    ids = [text(e) or "" for e in children(call.body, "ids")]
    if len(ids) > MAX_RECORDS:
        raise SoapFaultError("EXCEEDED_ID_LIMIT", f"cannot pass more than {MAX_RECORDS} ids")
    return ids


def _delete(call: Call) -> wsdl.DeleteResponse:
    outcomes = call.writer().delete(_ids(call), all_or_none=call.all_or_none)
    return wsdl.DeleteResponse(
        result=[
            wsdl.DeleteResult(
                id=o.id if o.success else None, success=o.success, errors=errors(o.errors)
            )
            for o in outcomes
        ]
    )


def _undelete(call: Call) -> wsdl.UndeleteResponse:
    outcomes = convert.undelete(call.state, call.writer(), _ids(call), call.all_or_none)
    return wsdl.UndeleteResponse(
        result=[
            wsdl.UndeleteResult(
                id=o.id if o.success else None, success=o.success, errors=errors(o.errors)
            )
            for o in outcomes
        ]
    )


def _empty_recycle_bin(call: Call) -> wsdl.EmptyRecycleBinResponse:
    outcomes = convert.empty_recycle_bin(call.state, _ids(call))
    return wsdl.EmptyRecycleBinResponse(
        result=[
            wsdl.EmptyRecycleBinResult(
                id=o.id if o.success else None, success=o.success, errors=errors(o.errors)
            )
            for o in outcomes
        ]
    )


def _convert_lead(call: Call) -> wsdl.ConvertLeadResponse:
    converts = children(call.body, "leadConverts")
    results = convert.convert_leads(call.state, call.writer(), converts)
    return wsdl.ConvertLeadResponse(result=results)


def _merge(call: Call) -> wsdl.MergeResponse:
    results = convert.merge(call.state, call.writer(), children(call.body, "request"))
    return wsdl.MergeResponse(result=results)


# -- reads -----------------------------------------------------------------------------------


def _batch_size(call: Call) -> int:
    raw = text(header(call.root, "QueryOptions"), "batchSize")
    try:
        size = int(raw) if raw else DEFAULT_BATCH_SIZE
    except ValueError:
        size = DEFAULT_BATCH_SIZE
    return max(query_locators.MIN_BATCH_SIZE, min(query_locators.MAX_BATCH_SIZE, size))


def _page(call: Call, body: bytes) -> wsdl.QueryResult:
    """A REST page from the shared locator table as a partner QueryResult."""
    page = json.loads(body)
    next_url = page.get("nextRecordsUrl")
    locator = next_url.rsplit("/", 1)[1] if next_url else None
    return query_result(page, locator)


def _run_query(call: Call, *, include_deleted: bool) -> wsdl.QueryResult:
    soql = text(call.body, "queryString") or ""
    if not soql.strip():
        raise SoapFaultError("MALFORMED_QUERY", "A query string has to be specified")
    state, records = call.state, store(call.state)
    assert call.session is not None
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    with records.lock:
        try:
            result = execute_query(
                records.conn,
                state.schema.soql_schema(),
                soql,
                include_deleted=include_deleted,
                now=now,
                api_version=call.version,
            )
        except SoqlError as exc:
            raise _soql_fault(exc) from None
        body = query_locators.cursors(state).first_page(
            result,
            owner=call.session.user_id,
            endpoint="queryAll" if include_deleted else "query",
            version=call.version,
            size=_batch_size(call),
        )
    return _page(call, body)


def _result(value: wsdl.QueryResult) -> Any:
    return typed(f"{{{PARTNER_NS}}}result", value)


def _query(call: Call) -> wsdl.QueryResponse:
    return wsdl.QueryResponse(result=_result(_run_query(call, include_deleted=False)))


def _query_all(call: Call) -> wsdl.QueryAllResponse:
    return wsdl.QueryAllResponse(result=_result(_run_query(call, include_deleted=True)))


def _query_more(call: Call) -> wsdl.QueryMoreResponse:
    assert call.session is not None
    records = store(call.state)
    with records.lock:
        try:
            body = query_locators.cursors(call.state).next_page(
                text(call.body, "queryLocator") or "",
                owner=call.session.user_id,
                version=call.version,
                size=_batch_size(call),
            )
        except SfError as exc:
            raise SoapFaultError("INVALID_QUERY_LOCATOR", "invalid query locator") from exc
    return wsdl.QueryMoreResponse(result=_result(_page(call, body)))


def _retrieve(call: Call) -> wsdl.RetrieveResponse:
    """Records by id through the SOQL engine (so the field list is checked like a query)."""
    sobject_type = _check_type(call.state, (text(call.body, "sObjectType") or "").strip())
    fields = [f.strip() for f in (text(call.body, "fieldList") or "").split(",") if f.strip()]
    if bad := next((f for f in fields if not _FIELD_PATH.match(f)), None):
        raise SoapFaultError("INVALID_FIELD", f"No such column '{bad}' on entity '{sobject_type}'")
    raw_ids = [text(e) or "" for e in children(call.body, "ids")]
    ids = []
    for raw in raw_ids:
        record_id = normalize_id(raw)
        prefix = call.state.schema.by_prefix(record_id[:3]) if record_id else None
        if record_id is None or prefix != sobject_type:
            raise SoapFaultError("INVALID_ID_FIELD", f"Invalid retrieve id: {raw}")
        ids.append(record_id)
    if not fields or not ids:
        return wsdl.RetrieveResponse(result=[])
    selected = fields if any(f.lower() == "id" for f in fields) else ["Id", *fields]
    quoted = ", ".join(f"'{i}'" for i in dict.fromkeys(ids))
    soql = f"SELECT {', '.join(selected)} FROM {sobject_type} WHERE Id IN ({quoted})"
    records = store(call.state)
    with records.lock:
        try:
            result = execute_query(
                records.conn, call.state.schema.soql_schema(), soql, api_version=call.version
            )
        except SoqlError as exc:
            raise _soql_fault(exc) from None
        rows = {str(r.get("Id")): r for r in result.fetch(len(ids))}
        result.close()
    found = [rows.get(i) for i in ids]
    # `result` is nillable: a miss is `<result xsi:nil="true"/>` in its place. Unlike a
    # query, retrieve sends `Id` once (the fixed element).
    rendered: list[Any] = [
        typed(f"{{{PARTNER_NS}}}result", sobject(r, repeat_id=False)) if r else None for r in found
    ]
    return wsdl.RetrieveResponse(result=rendered)


# -- describes and search ---------------------------------------------------------------------


def _describe_global(call: Call) -> wsdl.DescribeGlobalResponse:
    return wsdl.DescribeGlobalResponse(result=describe.describe_global(call.state))


def _describe_doc(call: Call, raw: str) -> wsdl.DescribeSobjectResult:
    doc = call.state.schema.describe(_check_type(call.state, raw.strip()))
    assert doc is not None
    urls = {
        k: str(v).replace("{version}", call.version) for k, v in (doc.get("urls") or {}).items()
    }
    return describe.describe_sobject({**doc, "urls": urls})


def _describe_sobject(call: Call) -> wsdl.DescribeSobjectResponse:
    return wsdl.DescribeSobjectResponse(
        result=_describe_doc(call, text(call.body, "sObjectType") or "")
    )


def _describe_sobjects(call: Call) -> wsdl.DescribeSobjectsResponse:
    names = [text(e) or "" for e in children(call.body, "sObjectType")]
    if len(names) > MAX_DESCRIBES:
        raise SoapFaultError(
            "EXCEEDED_MAX_TYPES_LIMIT",
            f"describeSObjects takes at most {MAX_DESCRIBES} sObject types, got {len(names)}",
        )
    return wsdl.DescribeSobjectsResponse(result=[_describe_doc(call, n) for n in names])


def _search(call: Call) -> wsdl.SearchResponse:
    """SOSL through the engine REST's /search uses; its errors become query-type faults."""
    state, records = call.state, store(call.state)
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    with records.lock:
        try:
            found = execute_search(
                records.conn,
                state.schema.soql_schema(),
                text(call.body, "searchString") or "",
                now=now,
                api_version=call.version,
            )
        except SoqlError as exc:
            raise _soql_fault(exc) from None
    return wsdl.SearchResponse(result=describe.search_result(found))


HANDLERS: dict[str, Callable[[Call], Any]] = {
    "login": _login,
    "logout": _logout,
    "getUserInfo": _get_user_info,
    "getServerTimestamp": _get_server_timestamp,
    "create": _create,
    "update": _update,
    "upsert": _upsert,
    "delete": _delete,
    "undelete": _undelete,
    "emptyRecycleBin": _empty_recycle_bin,
    "retrieve": _retrieve,
    "query": _query,
    "queryAll": _query_all,
    "queryMore": _query_more,
    "convertLead": _convert_lead,
    "merge": _merge,
    "describeGlobal": _describe_global,
    "describeSObject": _describe_sobject,
    "describeSObjects": _describe_sobjects,
    "search": _search,
}


def _authenticate(state: OrgState, root: ET.Element) -> Session:
    token = (text(header(root, "SessionHeader"), "sessionId") or "").strip()
    try:
        return state.session_for_token(token)
    except SfError:
        raise SoapFaultError("INVALID_SESSION_ID", ILLEGAL_SESSION) from None


def handle(state: OrgState, raw_version: str, payload: bytes) -> Response:
    """Answer one SOAP request (a fault is an answer too)."""
    try:
        version = _version(raw_version)
        try:
            check_safe(payload)
            root = ET.fromstring(payload)
        except (UnsafeXmlError, ET.ParseError) as exc:
            raise SoapFaultError("INVALID_XML", str(exc), client=True) from None
        body = body_element(root)
        operation = local(body.tag) if body is not None else ""
        handler = HANDLERS.get(operation)
        if body is None or handler is None or not body.tag.startswith(f"{{{PARTNER_NS}}}"):
            what = body.tag if body is not None else "(empty body)"
            raise SoapFaultError(
                "UNKNOWN_OPERATION", f"No operation available for request {what}", client=True
            )
        call = Call(state=state, version=f"{version:.1f}", root=root, body=body)
        if operation != "login":
            call.session = _authenticate(state, root)
        response = handler(call)
        limit = _limit(state) if operation != "login" else None
        return answer(operation, response, limit=limit)
    except SoapFaultError as fault:
        return fault.response()
    except SfError as exc:
        return _sf_fault(exc).response()


async def endpoint(req: Request) -> Response:
    return handle(req.org, req.params["soapversion"], req.body)


PUBLIC_ROUTES: Final = (
    ("POST", "/services/Soap/u/{soapversion}", endpoint),
    ("POST", "/services/Soap/u/{soapversion}/{orgid}", endpoint),
)


def register(router: Router, state: OrgState) -> None:
    # Not `{version}`: the REST version rule (up to the org's REST version) must not apply.
    router.add_all(PUBLIC_ROUTES, auth=False)
