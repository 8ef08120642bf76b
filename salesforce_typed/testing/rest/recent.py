"""`/recent`: the records the current user viewed or referenced, most recent first.

A GET of `/sobjects/T/{id}` marks the record viewed (as opening it in the UI does) and
`/recent` lists it with `attributes`, `Id` and `Name`. Salesforce keeps up to 200 per user;
`limit` trims the answer. Records deleted since are left out.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import field_index
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.rest.render import record_url

MAX_RECENT: Final = 200


def _views(state: OrgState, user_id: str) -> OrderedDict[str, str]:
    per_user: dict[str, OrderedDict[str, str]] = state.extensions.setdefault("recent", {})
    return per_user.setdefault(user_id, OrderedDict())


def mark_viewed(state: OrgState, user_id: str, sobject: str, record_id: str) -> None:
    """Put `record_id` first in the user's recently viewed list."""
    with state.lock:
        views = _views(state, user_id)
        views.pop(record_id, None)
        views[record_id] = sobject
        views.move_to_end(record_id, last=False)
        while len(views) > MAX_RECENT:
            views.popitem()


def viewed(state: OrgState, user_id: str, sobject: str | None = None) -> list[tuple[str, str]]:
    """(sObject, id) of the user's live recently viewed records, newest first."""
    with state.lock:
        items = [(t, i) for i, t in _views(state, user_id).items() if sobject in (None, t)]
    live: list[tuple[str, str]] = []
    for t, i in items:
        if store(state).deleted_flags(t, [i]).get(i) is False:
            live.append((t, i))
    return live


def name_of(state: OrgState, sobject: str, row: dict[str, Any]) -> Any:
    index = field_index(state, sobject)
    names = [n for n, f in index.fields.items() if f.get("nameField")] if index else []
    return row.get(names[0]) if names else row.get("Name")


def summary(state: OrgState, version: str, sobject: str, record_id: str) -> dict[str, Any]:
    """The `{attributes, Id, Name}` item `/recent` and `recentItems` list."""
    row = store(state).get(sobject, record_id) or {}
    return {
        "attributes": {"type": sobject, "url": record_url(version, sobject, record_id)},
        "Id": record_id,
        "Name": name_of(state, sobject, row),
    }


def _user(req: Request) -> str:
    return req.session.user_id if req.session is not None else req.org.config.user_id


def recent_items(req: Request, sobject: str | None, limit: int) -> list[dict[str, Any]]:
    found = viewed(req.org, _user(req), sobject)[:limit]
    return [summary(req.org, req.api_version, t, i) for t, i in found]


def int_param(req: Request, name: str, default: int) -> int:
    """A non-negative integer query parameter; anything else is a 400. Values past a billion
    are clamped there (they only ever mean "all" or "past the end")."""
    raw = req.arg(name)
    if raw is None:
        return default
    if not raw.isdigit() or not raw.isascii():
        raise SfError(400, "INVALID_QUERY_PARAMETER_VALUE", f"Invalid value for {name}: {raw[:40]}")
    return int(raw) if len(raw) <= 9 else 10**9


async def recent(req: Request) -> Response:
    limit = min(int_param(req, "limit", MAX_RECENT), MAX_RECENT)
    return Response.json(recent_items(req, None, limit))


ROUTES: Final = (("GET", "/services/data/v{version}/recent", recent),)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
