"""REST `/sobjects/{T}` record routes: create, read, update, delete by id; read, upsert
and delete by external id (201 / 200 `created:false` from v46, 204 before / 300 on several
matches). Every write goes through `org.records.Writer`.
"""

from __future__ import annotations

from typing import Any, Final

from salesforce_typed.testing.org import changes
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import (
    NOT_FOUND,
    Outcome,
    RecordLookups,
    Writer,
    key_field,
    no_external_field,
    require_index,
)
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import FieldIndex, PayloadError, coerce
from salesforce_typed.testing.rest.recent import mark_viewed
from salesforce_typed.testing.rest.render import record_url, render, select_fields
from salesforce_typed.testing.soql import normalize_id


def _body(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {req.params.get('sobject', 'SObject')} from "
            "START_ARRAY value [ or request may be missing a required field",
        )
    return body


def _fail(outcome: Outcome) -> Response:
    status = 404 if outcome.errors[0].code in ("ENTITY_IS_DELETED", "NOT_FOUND") else 400
    return Response.json([e.rest() for e in outcome.errors], status=status)


def _created(req: Request, sobject: str, outcome: Outcome, *, upsert: bool) -> Response:
    body: dict[str, Any] = {"id": outcome.id, "success": True, "errors": []}
    if upsert and float(req.api_version) >= 46.0:
        body["created"] = True
    location = record_url(req.api_version, sobject, str(outcome.id))
    return Response.json(body, status=201, headers=[("location", location)])


def _own_id(index: FieldIndex, state: OrgState, segment: str) -> str | None:
    record_id = normalize_id(segment)
    if record_id is None or state.schema.by_prefix(record_id[:3]) != index.sobject:
        return None
    return record_id


def _target(req: Request, *, live: bool) -> tuple[FieldIndex, str]:
    """The sObject and record id of `/sobjects/T/{id}`; a segment that is not an id of T is
    read as an external-id field (404). `live`: 404 NOT_FOUND / ENTITY_IS_DELETED."""
    index = require_index(req.org, req.params["sobject"])
    record_id = _own_id(index, req.org, req.params["id"])
    if record_id is None:
        raise no_external_field(req.params["id"])
    flags = store(req.org).deleted_flags(index.sobject, [record_id]) if live else {}
    if live and record_id not in flags:
        raise SfError(404, "NOT_FOUND", NOT_FOUND)
    if flags.get(record_id):
        raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return index, record_id


def _show(req: Request, index: FieldIndex, record_id: str | None) -> Response:
    row = store(req.org).get(index.sobject, record_id) if record_id else None
    if row is None:
        raise SfError(404, "NOT_FOUND", NOT_FOUND)
    fields = select_fields(index, req.arg("fields"))
    return Response.json(render(index, row, req.api_version, fields))


def _choices(req: Request, index: FieldIndex, ids: list[str]) -> Response:
    """300 Multiple Choices: the URLs of every record an external id matched."""
    return Response.json([record_url(req.api_version, index.sobject, i) for i in ids], 300)


def _by_key(state: OrgState, index: FieldIndex, segment: str, value: str) -> list[str]:
    """Live ids matching `/sobjects/T/{field}/{value}`."""
    field = key_field(index, segment)
    try:
        key = coerce(index.fields[field], value)
    except PayloadError as exc:
        raise SfError(400, exc.code, exc.message) from None
    return RecordLookups(state).match(index.sobject, field, key)


async def create(req: Request) -> Response:
    index = require_index(req.org, req.params["sobject"])
    outcome = Writer(req.org, changes.origin_of(req)).create(index.sobject, [_body(req)])[0]
    return (
        _created(req, index.sobject, outcome, upsert=False) if outcome.success else _fail(outcome)
    )


async def get_record(req: Request) -> Response:
    index, record_id = _target(req, live=False)
    response = _show(req, index, record_id)
    user = req.session.user_id if req.session is not None else req.org.config.user_id
    mark_viewed(req.org, user, index.sobject, record_id)
    return response


async def patch_record(req: Request) -> Response:
    index, record_id = _target(req, live=False)
    body = _body(req)
    _target(req, live=True)
    outcome = Writer(req.org, changes.origin_of(req)).update(index.sobject, [(record_id, body)])[0]
    return Response.empty(204) if outcome.success else _fail(outcome)


async def delete_record(req: Request) -> Response:
    _, record_id = _target(req, live=True)
    outcome = Writer(req.org, changes.origin_of(req)).delete([record_id])[0]
    return Response.empty(204) if outcome.success else _fail(outcome)


async def post_id(req: Request) -> Response:
    # since v37.0 `POST /sobjects/{Type}/Id` creates a record; other ids take no POST
    if req.params["id"].lower() != "id":
        raise SfError(
            405,
            "METHOD_NOT_ALLOWED",
            "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
        )
    return await create(req)


async def get_by_key(req: Request) -> Response:
    index = require_index(req.org, req.params["sobject"])
    ids = _by_key(req.org, index, req.params["field"], req.params["value"])
    if len(ids) > 1:
        return _choices(req, index, ids)
    return _show(req, index, ids[0] if ids else None)


async def upsert(req: Request) -> Response:
    index = require_index(req.org, req.params["sobject"])
    field = key_field(index, req.params["field"])
    body = _body(req)
    writer = Writer(req.org, changes.origin_of(req))
    update_only = (req.arg("updateOnly") or "").lower() == "true"
    outcome = writer.upsert(
        index.sobject, field, [(req.params["value"], body)], update_only=update_only
    )[0]
    if outcome.matches:
        return _choices(req, index, outcome.matches)
    if not outcome.success:
        return _fail(outcome)
    if outcome.created:
        return _created(req, index.sobject, outcome, upsert=True)
    if float(req.api_version) < 46.0:
        return Response.empty(204)
    return Response.json({"id": outcome.id, "success": True, "errors": [], "created": False})


async def delete_by_key(req: Request) -> Response:
    index = require_index(req.org, req.params["sobject"])
    ids = _by_key(req.org, index, req.params["field"], req.params["value"])
    if len(ids) > 1:
        return _choices(req, index, ids)
    if not ids:
        raise SfError(404, "NOT_FOUND", NOT_FOUND)
    outcome = Writer(req.org, changes.origin_of(req)).delete(ids)[0]
    return Response.empty(204) if outcome.success else _fail(outcome)


_BASE = "/services/data/v{version}/sobjects/{sobject}"
ROUTES: Final = (
    ("POST", _BASE, create),
    ("GET", _BASE + "/{id}", get_record),
    ("PATCH", _BASE + "/{id}", patch_record),
    ("DELETE", _BASE + "/{id}", delete_record),
    ("POST", _BASE + "/{id}", post_id),
    ("GET", _BASE + "/{field}/{value}", get_by_key),
    ("PATCH", _BASE + "/{field}/{value}", upsert),
    ("DELETE", _BASE + "/{field}/{value}", delete_by_key),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
