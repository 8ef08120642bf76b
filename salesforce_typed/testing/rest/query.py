"""SOQL over REST: `/query`, `/queryAll` and the `nextRecordsUrl` pages that continue them.

The locator table and its rules live in `org.query_locators`, shared with SOAP `queryMore`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.query_locators import DEFAULT_BATCH_SIZE, batch_size, cursors
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.rest.recent import mark_viewed
from salesforce_typed.testing.soql import SoqlError, execute_query

_NO_QUERY: Final = "A query string has to be specified"
_FOR_VIEW: Final = re.compile(r"\bFOR\s+(VIEW|REFERENCE)\b", re.IGNORECASE)
_STRING: Final = re.compile(r"'(?:[^'\\]|\\.)*'")
_JSON_TYPE: Final = ("content-type", "application/json;charset=UTF-8")


def _owner(req: Request) -> str:
    return req.session.user_id if req.session is not None else req.org.config.user_id


def _respond(body: bytes) -> Response:
    return Response(status=200, body=body, headers=[_JSON_TYPE])


def run_query(req: Request, *, include_deleted: bool) -> Response:
    """Compile, open and serve page one of `?q=`; SOQL errors become the engine's 400s."""
    soql = req.arg("q")
    if soql is None or not soql.strip():
        raise SfError(400, "MALFORMED_QUERY", _NO_QUERY)
    state = req.org
    records = store(state)
    table = cursors(state)
    size = batch_size(req.headers.get("sforce-query-options")) or DEFAULT_BATCH_SIZE
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    with records.lock:
        try:
            result = execute_query(
                records.conn,
                state.schema.soql_schema(),
                soql,
                include_deleted=include_deleted,
                now=now,
                api_version=req.api_version,
            )
        except SoqlError as exc:
            raise SfError(400, exc.error_code, exc.message) from exc
        body = table.first_page(
            result,
            owner=_owner(req),
            endpoint="queryAll" if include_deleted else "query",
            version=req.api_version,
            size=size,
        )
    if _FOR_VIEW.search(_STRING.sub("''", soql)):
        _mark_viewed(req, body)
    return _respond(body)


def _mark_viewed(req: Request, page: bytes) -> None:
    """`FOR VIEW` / `FOR REFERENCE`: the rows returned join the user's recently viewed."""
    records = json.loads(page).get("records") or []
    for record in reversed(records):  # the first row ends up most recent
        attributes = record.get("attributes") or {}
        record_id = str(attributes.get("url") or "").rsplit("/", 1)[-1]
        if attributes.get("type") and record_id:
            mark_viewed(req.org, _owner(req), str(attributes["type"]), record_id)


async def query(req: Request) -> Response:
    return run_query(req, include_deleted=False)


async def query_all(req: Request) -> Response:
    return run_query(req, include_deleted=True)


async def more(req: Request) -> Response:
    # /query/<locator> and /queryAll/<locator> share one table: the cursor already
    # knows whether it includes deleted rows.
    records = store(req.org)
    table = cursors(req.org)
    with records.lock:
        body = table.next_page(
            req.params["locator"],
            owner=_owner(req),
            version=req.api_version,
            size=batch_size(req.headers.get("sforce-query-options")),
        )
    return _respond(body)


ROUTES: Final = (
    ("GET", "/services/data/v{version}/query", query),
    ("GET", "/services/data/v{version}/queryAll", query_all),
    ("GET", "/services/data/v{version}/query/{locator}", more),
    ("GET", "/services/data/v{version}/queryAll/{locator}", more),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
