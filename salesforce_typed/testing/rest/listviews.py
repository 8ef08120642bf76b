"""List views (`/sobjects/T/listviews`): each object's standard "All <plural>" and
"Recently Viewed" views, their describe and their results.

Ids (prefix 00B) are minted once per org and object. Results run the view's SOQL through
the org's engine; values come back as strings the way Salesforce renders list view cells
(datetimes as `Fri Aug 01 21:15:46 GMT 2014`), null stays null.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import NOT_FOUND, field_index, require_index
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import FieldIndex
from salesforce_typed.testing.rest.recent import int_param, viewed
from salesforce_typed.testing.soql import SoqlError, execute_query

PREFIX: Final = "00B"
MIN_VERSION: Final = 32.0
MAX_LIMIT: Final = 2000
# The visible columns of the standard views Salesforce ships for these objects.
_VISIBLE: Final = {
    "Account": ("Name", "Site", "BillingState", "Phone", "Type", "Owner.Alias"),
    "Contact": ("Name", "Account.Name", "Phone", "Email", "Owner.Alias"),
    "Lead": ("Name", "Company", "State", "Email", "Status", "Owner.Alias"),
    "Opportunity": ("Name", "Account.Name", "Amount", "CloseDate", "StageName", "Owner.Alias"),
    "Case": ("CaseNumber", "Subject", "Status", "Priority", "CreatedDate", "Owner.Alias"),
}
_HIDDEN: Final = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp")
_SORT_LABELS: Final = {
    "string": ("Z-A", "A-Z"),
    "phone": ("9-0", "0-9"),
    "picklist": ("Low to High", "High to Low"),
    "currency": ("9-0", "0-9"),
    "double": ("9-0", "0-9"),
    "int": ("9-0", "0-9"),
    "percent": ("9-0", "0-9"),
    "date": ("New to Old", "Old to New"),
    "datetime": ("New to Old", "Old to New"),
}


@attrs.frozen
class View:
    id: str
    developer_name: str
    label: str
    scope: str  # "everything" or "mru"


def views(state: OrgState, index: FieldIndex) -> list[View]:
    """The object's list views, minted on first use."""
    table: dict[str, list[View]] = state.extensions.setdefault("listviews", {})
    with state.lock:
        found = table.get(index.sobject)
        if found is None:
            doc = state.schema.describe(index.sobject) or {}
            plural = str(doc.get("labelPlural") or index.sobject)
            found = [
                View(
                    state.ids.new(PREFIX),
                    f"All{plural.replace(' ', '')}",
                    f"All {plural}",
                    "everything",
                ),
                View(
                    state.ids.new(PREFIX),
                    "RecentlyViewed" + index.sobject.replace("__c", ""),
                    f"Recently Viewed {plural}",
                    "mru",
                ),
            ]
            table[index.sobject] = found
    return found


def _index(req: Request) -> FieldIndex:
    if float(req.api_version) < MIN_VERSION:
        raise SfError(404, "NOT_FOUND", NOT_FOUND)
    return require_index(req.org, req.params["sobject"])


def _view(req: Request) -> tuple[FieldIndex, View]:
    index = _index(req)
    wanted = req.params["id"]
    for view in views(req.org, index):
        if wanted in (view.id, view.id[:15]):
            return index, view
    raise SfError(404, "NOT_FOUND", NOT_FOUND)


def _field_type(state: OrgState, index: FieldIndex, path: str) -> tuple[str, str] | None:
    """(type, label) of a column path; None when the object lacks it."""
    *hops, last = path.split(".")
    current: FieldIndex | None = index
    labels: list[str] = []
    for hop in hops:
        ref = (
            next((f for f in current.fields.values() if f.get("relationshipName") == hop), None)
            if current
            else None
        )
        targets = (ref or {}).get("referenceTo") or []
        if not targets:
            return None
        labels.append(str(hop))
        current = field_index(state, str(targets[0]))
    f = current.field(last) if current else None
    if f is None:
        return None
    label = str(f.get("label") or last)
    return str(f.get("type")), (f"{' '.join(labels)} {label}" if labels else label)


def columns(state: OrgState, index: FieldIndex) -> list[dict[str, Any]]:
    name_fields = [n for n, f in index.fields.items() if f.get("nameField")]
    visible = _VISIBLE.get(index.sobject, tuple(name_fields[:1]))
    out: list[dict[str, Any]] = []
    for n, path in enumerate((*visible, *_HIDDEN)):
        typed = _field_type(state, index, path)
        if typed is None or any(c["fieldNameOrPath"] == path for c in out):
            continue
        ftype, label = typed
        hidden = path in _HIDDEN and path not in visible
        asc, desc = (None, None) if hidden else _SORT_LABELS.get(ftype, ("Z-A", "A-Z"))
        first = n == 0
        out.append(
            {
                "ascendingLabel": asc,
                "descendingLabel": desc,
                "fieldNameOrPath": path,
                "hidden": hidden,
                "label": label,
                "selectListItem": f"toLabel({path})" if ftype == "picklist" else path,
                "sortDirection": "ascending" if first else None,
                "sortIndex": 0 if first else None,
                "sortable": not hidden,
                "type": ftype,
            }
        )
    return out


def _soql(index: FieldIndex, cols: list[dict[str, Any]], view: View, ids: list[str]) -> str:
    select = ", ".join(c["fieldNameOrPath"] for c in cols)
    order = cols[0]["fieldNameOrPath"]
    where = ""
    if view.scope == "mru":
        where = " WHERE Id IN (" + ", ".join(f"'{i}'" for i in ids) + ")" if ids else ""
    return f"SELECT {select} FROM {index.sobject}{where} ORDER BY {order} ASC NULLS FIRST, Id ASC"


def _cell(ftype: str, value: Any) -> str | None:
    if value is None:
        return None
    if ftype == "datetime" and isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.replace("+0000", "+00:00"))
        except ValueError:
            return value
        return stamp.astimezone(dt.UTC).strftime("%a %b %d %H:%M:%S GMT %Y")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path_value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for hop in path.split("."):
        value = value.get(hop) if isinstance(value, dict) else None
    return value


def describe_view(req: Request, index: FieldIndex, view: View) -> dict[str, Any]:
    cols = columns(req.org, index)
    return {
        "columns": cols,
        "id": view.id,
        "orderBy": [
            {
                "fieldNameOrPath": cols[0]["fieldNameOrPath"],
                "nullsPosition": "first",
                "sortDirection": "ascending",
            }
        ],
        "query": _soql(index, cols, view, []),
        "relatedEntityId": None,
        "scope": view.scope,
        "scopeEntityId": None,
        "sobjectType": index.sobject,
        "whereCondition": {"conditions": [], "conjunction": "and"},
    }


def _entry(version: str, sobject: str, view: View) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{sobject}/listviews/{view.id}"
    return {
        "describeUrl": f"{url}/describe",
        "developerName": view.developer_name,
        "id": view.id,
        "label": view.label,
        "resultsUrl": f"{url}/results",
        "soqlCompatible": True,
        "url": url,
    }


async def list_views(req: Request) -> Response:
    index = _index(req)
    entries = [_entry(req.api_version, index.sobject, v) for v in views(req.org, index)]
    return Response.json(
        {
            "done": True,
            "listviews": entries,
            "nextRecordsUrl": None,
            "size": len(entries),
            "sobjectType": index.sobject,
        }
    )


async def get_view(req: Request) -> Response:
    index, view = _view(req)
    return Response.json(_entry(req.api_version, index.sobject, view))


async def describe(req: Request) -> Response:
    index, view = _view(req)
    return Response.json(describe_view(req, index, view))


async def results(req: Request) -> Response:
    index, view = _view(req)
    limit = min(int_param(req, "limit", 25), MAX_LIMIT)
    offset = int_param(req, "offset", 0)
    cols = columns(req.org, index)
    user = req.session.user_id if req.session is not None else req.org.config.user_id
    ids = [i for _, i in viewed(req.org, user, index.sobject)]
    rows: list[dict[str, Any]] = []
    if view.scope == "everything" or ids:
        records = store(req.org)
        with records.lock:
            try:
                result = execute_query(
                    records.conn,
                    req.org.schema.soql_schema(),
                    _soql(index, cols, view, ids),
                    api_version=req.api_version,
                )
            except SoqlError as exc:  # a column the catalog cannot query: a bug, not input
                raise SfError(400, exc.error_code, exc.message) from exc
            rows = result.fetch(offset + limit + 1)
            result.close()
    page = rows[offset : offset + limit]
    body = {
        "columns": cols,
        "developerName": view.developer_name,
        "done": len(rows) <= offset + limit,
        "id": view.id,
        "label": view.label,
        "records": [
            {
                "columns": [
                    {
                        "fieldNameOrPath": c["fieldNameOrPath"],
                        "value": _cell(c["type"], _path_value(r, c["fieldNameOrPath"])),
                    }
                    for c in cols
                ]
            }
            for r in page
        ],
        "size": len(page),
    }
    return Response.json(body)


_BASE = "/services/data/v{version}/sobjects/{sobject}/listviews"
ROUTES: Final = (
    ("GET", _BASE, list_views),
    ("GET", _BASE + "/{id}", get_view),
    ("GET", _BASE + "/{id}/describe", describe),
    ("GET", _BASE + "/{id}/results", results),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
