"""`/limits/recordCount`: live (not recycle-binned) rows per sObject, counted in the store.

Salesforce answers from a cached snapshot; the fake org counts at request time, which is the
value the snapshot converges to. Unknown names in `sObjects=` are ignored, as documented.
"""

from __future__ import annotations

from typing import Any, Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soql.storage import quote_ident


def record_counts(state: OrgState, names: list[str] | None) -> list[dict[str, Any]]:
    """`[{"count": n, "name": T}]` for each named sObject the org has (all when `names` is None)."""
    schema = state.schema.soql_schema()
    records = store(state)
    wanted = names if names is not None else [obj.name for obj in schema]
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in wanted:
        obj = schema.object(name)
        if obj is None or obj.name in seen or obj.field("IsDeleted") is None:
            continue
        seen.add(obj.name)
        records.obj(obj.name)  # creates the table of an object added at run time
        with records.lock:
            row = records.conn.execute(
                f'SELECT COUNT(*) FROM {quote_ident(obj.name)} WHERE "IsDeleted" = 0'
            ).fetchone()
        out.append({"count": int(row[0]), "name": obj.name})
    return out


MIN_VERSION: Final = 40.0


async def record_count(req: Request) -> Response:
    if float(req.api_version) < MIN_VERSION:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    raw = req.arg("sObjects")
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw is not None else None
    return Response.json({"sObjects": record_counts(req.org, names)})


ROUTES: Final = (("GET", "/services/data/v{version}/limits/recordCount", record_count),)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
