"""SOSL over REST: `/search?q=` and `/parameterizedSearch` (GET and POST).

Parameterized search is translated into one SOSL statement and run by the same engine, so
both endpoints share field checks, error codes and matching. What must stay true: the term
cannot leave its braces (braces and backslashes are escaped), names and numbers are checked
before they are spliced in (`where` and `orderBy` are SOSL fragments by design, as on
Salesforce), and the engine runs under `store.lock` like every reader of the shared SQLite
connection.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any, Final

import attrs

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soql import JsonValue, SoqlError, execute_search

MIN_SEARCH_RECORDS_VERSION: Final = 36.0  # v35.0 and earlier answer a bare array
_NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
_SCOPES: Final = frozenset({"ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"})
_JSON_TYPE: Final = ("content-type", "application/json;charset=UTF-8")


@attrs.frozen
class SearchObject:
    """One RETURNING entry of a parameterized search."""

    name: str
    fields: tuple[str, ...] = ()
    where: str | None = None
    order_by: str | None = None
    limit: int | None = None


def _bad(message: str) -> SfError:
    return SfError(400, "MALFORMED_SEARCH", message)


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value.strip()):
        raise _bad(f"Invalid {what}: {value!r}")
    return value.strip()


def _limit(value: object, what: str) -> int | None:
    """A non-negative integer (string or number), or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad(f"Invalid {what}: {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise _bad(f"Invalid {what}: {value!r}")
    return int(text)


def _fields(value: object) -> tuple[str, ...]:
    """A field list as a JSON array or a comma-separated string."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _bad(f"Invalid fields: {value!r}")
    return tuple(_name(item, "field") for item in items if str(item).strip())


def build_sosl(
    term: str,
    objects: Sequence[SearchObject],
    *,
    scope: str | None = None,
    overall_limit: int | None = None,
) -> str:
    """The SOSL a parameterized search stands for.

    `term` keeps its search syntax (words, quotes, `*`, `?`, AND/OR/NOT) since Salesforce
    matches `q` the same way; only braces and backslashes are escaped so it stays one term.
    """
    escaped = re.sub(r"([\\{}])", r"\\\1", term)
    sosl = f"FIND {{{escaped}}}"
    if scope is not None:
        if scope.upper() not in _SCOPES:
            raise _bad(f"Invalid search scope: {scope!r}")
        sosl += f" IN {scope.upper()} FIELDS"
    if objects:
        specs = []
        for obj in objects:
            spec = obj.name
            inner = ", ".join(obj.fields or ("Id",))
            if obj.where:
                inner += f" WHERE {obj.where}"
            if obj.order_by:
                inner += f" ORDER BY {obj.order_by}"
            if obj.limit is not None:
                inner += f" LIMIT {obj.limit}"
            specs.append(f"{spec}({inner})")
        sosl += " RETURNING " + ", ".join(specs)
    if overall_limit is not None:
        sosl += f" LIMIT {overall_limit}"
    return sosl


def _get_objects(req: Request) -> list[SearchObject]:
    """`sobject=A&sobject=B` plus `A.fields`, `A.where`, `A.limit`, `fields`, `defaultLimit`."""
    query = req.query
    default_fields = _fields(req.arg("fields"))
    default_limit = _limit(req.arg("defaultLimit"), "defaultLimit")
    objects = []
    for raw in query.get("sobject", []):
        name = _name(raw, "sobject")
        limit = _limit(req.arg(f"{name}.limit"), f"{name}.limit")
        objects.append(
            SearchObject(
                name=name,
                fields=_fields(req.arg(f"{name}.fields")) or default_fields,
                where=req.arg(f"{name}.where") or None,
                limit=default_limit if limit is None else limit,
            )
        )
    return objects


def _post_objects(body: dict[str, Any]) -> list[SearchObject]:
    """`{"sobjects": [{"name", "fields", "where", "orderBy", "limit"}], "fields", ...}`."""
    default_fields = _fields(body.get("fields"))
    default_limit = _limit(body.get("defaultLimit"), "defaultLimit")
    specs = body.get("sobjects") or []
    if not isinstance(specs, list):
        raise _bad("sobjects must be an array")
    objects = []
    for spec in specs:
        if not isinstance(spec, dict):
            raise _bad("each sobject must be an object")
        where, order_by = spec.get("where"), spec.get("orderBy")
        if not isinstance(where, str | None) or not isinstance(order_by, str | None):
            raise _bad("where and orderBy must be strings")
        limit = _limit(spec.get("limit"), "limit")
        objects.append(
            SearchObject(
                name=_name(spec.get("name"), "sobject"),
                fields=_fields(spec.get("fields")) or default_fields,
                where=where or None,
                order_by=order_by or None,
                limit=default_limit if limit is None else limit,
            )
        )
    return objects


def run_search(req: Request, sosl: str) -> Response:
    """Run SOSL; the engine's MALFORMED_SEARCH / INVALID_FIELD / INVALID_TYPE become 400s."""
    state = req.org
    records = store(state)
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    with records.lock:
        try:
            found = execute_search(
                records.conn,
                state.schema.soql_schema(),
                sosl,
                now=now,
                api_version=req.api_version,
            )
        except SoqlError as exc:
            raise SfError(400, exc.error_code, exc.message) from exc
    body: JsonValue = found
    if float(req.api_version) < MIN_SEARCH_RECORDS_VERSION:
        body = found["searchRecords"]
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(status=200, body=data, headers=[_JSON_TYPE])


async def search(req: Request) -> Response:
    # A missing or empty q reaches the engine, which answers MALFORMED_SEARCH.
    return run_search(req, req.arg("q") or "")


def _require_v36(req: Request) -> None:
    if float(req.api_version) < MIN_SEARCH_RECORDS_VERSION:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")


async def parameterized_get(req: Request) -> Response:
    _require_v36(req)
    sosl = build_sosl(
        req.arg("q") or "",
        _get_objects(req),
        scope=req.arg("in") or None,
        overall_limit=_limit(req.arg("overallLimit"), "overallLimit"),
    )
    return run_search(req, sosl)


async def parameterized_post(req: Request) -> Response:
    _require_v36(req)
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
    term, scope = body.get("q"), body.get("in")
    if not isinstance(term, str | None) or not isinstance(scope, str | None):
        raise _bad("q and in must be strings")
    sosl = build_sosl(
        term or "",
        _post_objects(body),
        scope=scope or None,
        overall_limit=_limit(body.get("overallLimit"), "overallLimit"),
    )
    return run_search(req, sosl)


ROUTES: Final = (
    ("GET", "/services/data/v{version}/search", search),
    ("GET", "/services/data/v{version}/parameterizedSearch", parameterized_get),
    ("POST", "/services/data/v{version}/parameterizedSearch", parameterized_post),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
