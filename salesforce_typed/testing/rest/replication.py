"""Replication over REST: `GET /sobjects/{T}/updated` and `/deleted` (getUpdated and
getDeleted), read from the store's change history.

Registered before the record routes, whose `/sobjects/{T}/{id}` would match them too.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soql import format_datetime, parse_datetime


def _window(req: Request) -> tuple[str, str]:
    """(start, end) cut to whole minutes (Salesforce ignores seconds), `end` capped at the
    current minute: changes of the running minute are not covered yet."""
    bounds = []
    for name in ("start", "end"):
        raw = req.arg(name)
        if not raw:
            raise SfError(400, "MISSING_ARGUMENT", f"{name} was not specified")
        try:
            bounds.append(parse_datetime(raw).astimezone(dt.UTC))
        except ValueError:
            raise SfError(400, "INVALID_PARAMETER_VALUE", f"Bad value for {name}: {raw}") from None
    now = dt.datetime.fromtimestamp(req.org.clock(), dt.UTC)
    start, end, now = (d.replace(second=0, microsecond=0) for d in (*bounds, now))
    end = min(end, now)
    if start > end:
        raise SfError(400, "INVALID_REPLICATION_DATE", "start date must precede end date")
    if start < now - dt.timedelta(days=30):
        raise SfError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    return format_datetime(start), format_datetime(end)


def _sobject(req: Request) -> str:
    name = req.org.schema.canonical(req.params["sobject"])
    if name is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return name


async def updated(req: Request) -> Response:
    sobject = _sobject(req)
    start, end = _window(req)
    ids = store(req.org).updated_ids(sobject, start, end)
    return Response.json({"ids": ids, "latestDateCovered": end})


async def deleted(req: Request) -> Response:
    sobject = _sobject(req)
    start, end = _window(req)
    st = store(req.org)
    log = st.deleted_log(sobject, start, end)
    first = st.deleted_log(sobject, "", end)  # nothing is ever purged from the log
    return Response.json(
        {
            "deletedRecords": [{"id": i, "deletedDate": d} for i, d in log],
            "earliestDateAvailable": first[0][1] if first else start,
            "latestDateCovered": end,
        }
    )


ROUTES: Final = (
    ("GET", "/services/data/v{version}/sobjects/{sobject}/updated", updated),
    ("GET", "/services/data/v{version}/sobjects/{sobject}/deleted", deleted),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
