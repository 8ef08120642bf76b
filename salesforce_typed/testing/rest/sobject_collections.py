"""sObject Collections (`/composite/sobjects`): up to 200 records per call, one transaction.

Create, update, upsert (v46+), delete and retrieve. Results come in input order as
`{"id","success","errors":[{"statusCode","message","fields"}]}` (upsert adds `created`).
Mixed types run as consecutive same-type chunks (at most 10). With `allOrNone` one failure
rolls the whole call back and the valid records report ALL_OR_NONE_OPERATION_ROLLED_BACK;
an enclosing composite with `allOrNone:true` forces it (its transaction data says so) and
learns of the failure through the same data, since the call itself still answers 200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from salesforce_typed.testing.org import changes
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import (
    Outcome,
    Writer,
    key_field,
    require_index,
    rolled_back,
)
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.rest.render import render, select_fields
from salesforce_typed.testing.soql import normalize_id

MAX_RECORDS = 200
MAX_RETRIEVE = 2000
MAX_CHUNKS = 10
_TOO_MANY = "record limit reached. cannot submit more than {} records into this call"


class _RollbackError(Exception):
    """Raised inside the transaction to undo an allOrNone call that had failures."""


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _records(req: Request) -> tuple[list[dict[str, Any]], bool]:
    body = req.json()
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SfError(400, "JSON_PARSER_ERROR", "Expected a records array of sObjects.")
    if len(records) > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", _TOO_MANY.format(MAX_RECORDS))
    return records, _flag(body.get("allOrNone", False))


def _type_of(state: OrgState, record: dict[str, Any]) -> str:
    attributes = record.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    if not name:
        raise SfError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return require_index(state, str(name)).sobject


def _chunks(state: OrgState, records: list[dict[str, Any]]) -> list[tuple[str, list[int]]]:
    """Consecutive same-type runs of record positions; Salesforce allows 10 per call."""
    chunks: list[tuple[str, list[int]]] = []
    for i, record in enumerate(records):
        sobject = _type_of(state, record)
        if chunks and chunks[-1][0] == sobject:
            chunks[-1][1].append(i)
        else:
            chunks.append((sobject, [i]))
    if len(chunks) > MAX_CHUNKS:
        raise SfError(
            400,
            "INVALID_OPERATION",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data "
            "to reduce chunking.",
        )
    return chunks


def _id_of(record: dict[str, Any]) -> Any:
    return next((v for k, v in record.items() if k.lower() == "id"), None)


def _run(state: OrgState, all_or_none: bool, work: Callable[[], list[Outcome]]) -> list[Outcome]:
    """Run `work()` in one transaction; undo it all when allOrNone and a record failed."""
    st = store(state)
    outer = st.transaction_data()
    forced = bool(outer and outer.get("all_or_none"))
    outcomes: list[Outcome] = []
    try:
        with st.transaction():
            outcomes = work()
            if (all_or_none or forced) and not all(o.success for o in outcomes):
                if outer is not None:
                    outer["failed"] = True
                raise _RollbackError
    except _RollbackError:
        rolled_back(outcomes)
    return outcomes


def _reply(outcomes: list[Outcome]) -> Response:
    return Response.json([o.collection() for o in outcomes])


async def create(req: Request) -> Response:
    records, all_or_none = _records(req)
    chunks = _chunks(req.org, records)
    writer = Writer(req.org, changes.origin_of(req))

    def work() -> list[Outcome]:
        outcomes: list[Outcome] = [Outcome() for _ in records]
        for sobject, positions in chunks:
            done = writer.create(sobject, [records[i] for i in positions])
            for i, outcome in zip(positions, done, strict=True):
                outcomes[i] = outcome
        return outcomes

    return _reply(_run(req.org, all_or_none, work))


async def update(req: Request) -> Response:
    records, all_or_none = _records(req)
    chunks = _chunks(req.org, records)
    writer = Writer(req.org, changes.origin_of(req))

    def work() -> list[Outcome]:
        outcomes: list[Outcome] = [Outcome() for _ in records]
        for sobject, positions in chunks:
            items = [(_id_of(records[i]), records[i]) for i in positions]
            for i, outcome in zip(positions, writer.update(sobject, items), strict=True):
                outcomes[i] = outcome
        return outcomes

    return _reply(_run(req.org, all_or_none, work))


async def upsert(req: Request) -> Response:
    index = require_index(req.org, req.params["sobject"])
    field = key_field(index, req.params["field"])
    records, all_or_none = _records(req)
    writer = Writer(req.org, changes.origin_of(req))
    items = [
        (next((v for k, v in r.items() if k.lower() == field.lower()), None), r) for r in records
    ]
    outcomes = _run(req.org, all_or_none, lambda: writer.upsert(index.sobject, field, items))
    return _reply(outcomes)


async def delete(req: Request) -> Response:
    ids = [i for i in (req.arg("ids") or "").split(",") if i]
    if not ids:
        raise SfError(400, "MISSING_ARGUMENT", "ids was not specified")
    if len(ids) > MAX_RECORDS:
        raise SfError(400, "EXCEEDED_ID_LIMIT", _TOO_MANY.format(MAX_RECORDS))
    writer = Writer(req.org, changes.origin_of(req))
    return _reply(_run(req.org, _flag(req.arg("allOrNone")), lambda: writer.delete(ids)))


def _retrieve(req: Request, ids: Any, fields: Any) -> Response:
    index = require_index(req.org, req.params["sobject"])
    if not ids or not fields:
        raise SfError(400, "MISSING_ARGUMENT", "ids and fields are required")
    ids = ids.split(",") if isinstance(ids, str) else ids
    if len(ids) > MAX_RETRIEVE:
        raise SfError(400, "EXCEEDED_ID_LIMIT", _TOO_MANY.format(MAX_RETRIEVE))
    names = select_fields(index, fields)
    wanted = [normalize_id(str(i)) for i in ids]
    bad = next((raw for raw, i in zip(ids, wanted, strict=True) if i is None), None)
    if bad is not None:
        raise SfError(400, "MALFORMED_ID", f"malformed id {bad}")
    rows = store(req.org).get_many(index.sobject, [i for i in wanted if i])
    return Response.json(
        [render(index, rows[i], req.api_version, names) if i in rows else None for i in wanted]
    )


async def retrieve_get(req: Request) -> Response:
    return _retrieve(req, req.arg("ids"), req.arg("fields"))


async def retrieve_post(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", 'Expected {"ids": [...], "fields": [...]}')
    return _retrieve(req, body.get("ids"), body.get("fields"))


_BASE: Final = "/services/data/v{version}/composite/sobjects"
ROUTES: Final = (
    ("POST", _BASE, create),
    ("PATCH", _BASE, update),
    ("DELETE", _BASE, delete),
    ("GET", _BASE + "/{sobject}", retrieve_get),
    ("POST", _BASE + "/{sobject}", retrieve_post),
    ("PATCH", _BASE + "/{sobject}/{field}", upsert),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
