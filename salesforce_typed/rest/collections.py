"""sObject Collections (`/composite/sobjects`): many records per call, as pure build/parse.

Each builder returns one `RequestSpec` per chunk of at most 200 records (the API's cap);
the client sends them in order and concatenates `parse_save_results` of each answer, so
results line up with the input records one for one.

What must stay true:
- per-record failures are values (`RecordResult.success is False` with its errors), never
  exceptions: a 200 answer with failed rows is a normal outcome (STYLE §8);
- chunks keep input order, and a chunk never holds more than 10 runs of one sObject type
  (Salesforce refuses an 11th type switch in one request);
- `all_or_none` holds per request only: a failed chunk does not roll back earlier chunks;
- create is marked non-idempotent (a replay duplicates records); update, upsert, delete
  and retrieve are idempotent and may be retried.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias, TypeVar
from urllib.parse import quote

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import Record, SObject
from salesforce_typed.core.unset import UNSET

__all__ = [
    "MAX_RECORDS",
    "MAX_TYPE_RUNS",
    "RecordErrorInfo",
    "RecordInput",
    "RecordResult",
    "build_create_many",
    "build_delete_many",
    "build_retrieve_many",
    "build_update_many",
    "build_upsert_many",
    "chunk",
    "parse_retrieve_many",
    "parse_save_results",
    "record_payload",
    "sobject_type_of",
]

MAX_RECORDS: Final = 200
MAX_TYPE_RUNS: Final = 10

T = TypeVar("T", bound=SObject)
E = TypeVar("E")

RecordInput: TypeAlias = SObject | tuple[str, Mapping[str, Any]]
"""A typed record, or `(sObject type, field dict)` for types without a model."""

_PATH: Final = "/composite/sobjects"


@attrs.frozen(kw_only=True, slots=True)
class RecordErrorInfo:
    """One error on one record, as Collections report it (`statusCode`, not `errorCode`)."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class RecordResult:
    """The outcome for one input record; `created` is set by upsert only."""

    id: str | None
    success: bool
    created: bool | None = None
    errors: tuple[RecordErrorInfo, ...] = ()


# -- records -> JSON ----------------------------------------------------------------------


def _seg(value: str) -> str:
    return quote(value, safe="")


def sobject_type_of(record: RecordInput | type[SObject] | str) -> str:
    """The sObject API name of a record, model class, `(type, fields)` pair or name."""
    if isinstance(record, str):
        name = record
    elif isinstance(record, tuple):
        name = record[0]
    elif isinstance(record, type):
        name = record.__sobject_type__
    else:
        name = type(record).__sobject_type__
        if not name and isinstance(record.attributes, dict):
            name = str(record.attributes.get("type") or "")
    if not name:
        raise UsageError(f"cannot tell the sObject type of {record!r}: set attributes.type")
    return name


def _field(record: RecordInput, name: str) -> Any:
    """A field's value, or UNSET when the record does not carry it."""
    if isinstance(record, tuple):
        return record[1].get(name, UNSET)
    try:
        return record[name]
    except KeyError:
        return UNSET


def record_payload(record: RecordInput, op: Literal["create", "update"]) -> dict[str, Any]:
    """The JSON body fields of one record, without `attributes`.

    Typed models send only set, createable (or updateable) fields; a `Record` has no
    declared fields, so everything it carries is sent; a `(type, fields)` pair is sent as is.
    """
    if isinstance(record, tuple):
        return {k: v for k, v in record[1].items() if k != "attributes"}
    include_extra = isinstance(record, Record)
    if op == "create":
        return record.to_create_payload(include_extra=include_extra)
    return record.to_update_payload(include_extra=include_extra)


def _with_attributes(type_name: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"attributes": {"type": type_name}, **payload}


def _record_id(record: RecordInput, index: int) -> str:
    value = _field(record, "Id")
    if not isinstance(value, str) or not value:
        raise UsageError(f"record {index} has no Id: collections update needs one per record")
    return value


# -- chunking -----------------------------------------------------------------------------


def chunk(items: Sequence[E], size: int = MAX_RECORDS) -> Iterator[Sequence[E]]:
    """Consecutive slices of at most `size` items, in order."""
    if size < 1:
        raise UsageError(f"chunk size must be positive, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _typed_chunks(
    records: Sequence[RecordInput], size: int
) -> Iterator[list[tuple[str, RecordInput]]]:
    """Like `chunk`, but also ending a chunk before its 11th run of one sObject type."""
    if not 1 <= size <= MAX_RECORDS:
        raise UsageError(f"chunk size must be 1..{MAX_RECORDS}, got {size}")
    current: list[tuple[str, RecordInput]] = []
    runs = 0
    for record in records:
        type_name = sobject_type_of(record)
        new_run = not current or current[-1][0] != type_name
        if current and (len(current) == size or (new_run and runs == MAX_TYPE_RUNS)):
            yield current
            current, runs, new_run = [], 0, True
        runs += new_run
        current.append((type_name, record))
    if current:
        yield current


def _body(all_or_none: bool, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"allOrNone": all_or_none, "records": records}


# -- builders -----------------------------------------------------------------------------


def build_create_many(
    records: Sequence[RecordInput], all_or_none: bool = False, *, size: int = MAX_RECORDS
) -> list[RequestSpec]:
    """POST `/composite/sobjects`, one request per chunk; types may be mixed.

    `all_or_none` is per request: past 200 records, a failed chunk leaves earlier ones saved.
    """
    return [
        RequestSpec(
            method="POST",
            path=_PATH,
            json=_body(
                all_or_none, [_with_attributes(t, record_payload(r, "create")) for t, r in part]
            ),
            idempotent=False,  # a replay after a lost answer creates the records twice
        )
        for part in _typed_chunks(records, size)
    ]


def build_update_many(
    records: Sequence[RecordInput], all_or_none: bool = False, *, size: int = MAX_RECORDS
) -> list[RequestSpec]:
    """PATCH `/composite/sobjects`; each record carries its `Id` (not updateable, but the key)."""
    specs: list[RequestSpec] = []
    offset = 0
    for part in _typed_chunks(records, size):
        rows = []
        for i, (type_name, record) in enumerate(part, start=offset):
            payload = {"Id": _record_id(record, i), **record_payload(record, "update")}
            rows.append(_with_attributes(type_name, payload))
        offset += len(part)
        specs.append(RequestSpec(method="PATCH", path=_PATH, json=_body(all_or_none, rows)))
    return specs


def build_upsert_many(
    model_or_type: type[SObject] | str,
    external_id_field: str,
    records: Sequence[RecordInput],
    all_or_none: bool = False,
    *,
    size: int = MAX_RECORDS,
) -> list[RequestSpec]:
    """PATCH `/composite/sobjects/{type}/{field}`: one type per call, matched on the field.

    Records carry their createable fields (an upsert may insert) plus the external id
    value, which the URL does not hold here. Upserting on `Id`, a record without one is sent
    with `"Id": null` and is created, as Salesforce's own clients do.
    """
    type_name = sobject_type_of(model_or_type)
    if isinstance(model_or_type, type):
        _check_external_id(model_or_type, external_id_field)
    path = f"{_PATH}/{_seg(type_name)}/{_seg(external_id_field)}"
    specs: list[RequestSpec] = []
    for start, part in enumerate(chunk(records, size)):
        rows = []
        for i, record in enumerate(part, start=start * size):
            if sobject_type_of(record) != type_name:
                raise UsageError(
                    f"record {i} is a {sobject_type_of(record)}, not a {type_name}: "
                    "a collections upsert takes one sObject type"
                )
            payload = record_payload(record, "create")
            if external_id_field not in payload:
                value = _field(record, external_id_field)
                if value is UNSET:
                    if external_id_field != "Id":
                        raise UsageError(f"record {i} has no {external_id_field} to match on")
                    value = None
                payload[external_id_field] = value
            rows.append(_with_attributes(type_name, payload))
        specs.append(RequestSpec(method="PATCH", path=path, json=_body(all_or_none, rows)))
    return specs


def _check_external_id(model: type[SObject], field: str) -> None:
    # Only existence (typo protection): whether a field may key an upsert is the org's call,
    # and generated metadata can miss idLookup flags (Contact.Email is one in real orgs).
    try:
        model.field_info(field)
    except KeyError:
        raise UsageError(
            f"{model.__sobject_type__} has no field {field!r} "
            "(pass the type name as a string to upsert on a field the model lacks)"
        ) from None


def build_delete_many(
    ids: Sequence[str], all_or_none: bool = False, *, size: int = MAX_RECORDS
) -> list[RequestSpec]:
    """DELETE `/composite/sobjects?ids=...&allOrNone=...`, at most 200 ids per request."""
    for value in ids:
        if not value or "," in value:
            raise UsageError(f"not a record id: {value!r}")
    if not 1 <= size <= MAX_RECORDS:
        raise UsageError(f"chunk size must be 1..{MAX_RECORDS}, got {size}")
    return [
        RequestSpec(
            method="DELETE",
            path=_PATH,
            params=(("ids", ",".join(part)), ("allOrNone", "true" if all_or_none else "false")),
        )
        for part in chunk(ids, size)
    ]


def build_retrieve_many(
    model_or_type: type[SObject] | str,
    ids: Sequence[str],
    fields: Sequence[str],
    *,
    size: int = MAX_RECORDS,
) -> list[RequestSpec]:
    """GET `/composite/sobjects/{type}?ids=&fields=`; `fields` is required by the API.

    Chunks of 200 keep the URL well under the 414 limit; missing ids come back as null.
    """
    if not fields:
        raise UsageError("collections retrieve needs at least one field")
    for value in ids:
        if not value or "," in value:
            raise UsageError(f"not a record id: {value!r}")
    path = f"{_PATH}/{_seg(sobject_type_of(model_or_type))}"
    return [
        RequestSpec(
            method="GET", path=path, params=(("ids", ",".join(part)), ("fields", ",".join(fields)))
        )
        for part in chunk(ids, size)
    ]


# -- parsers ------------------------------------------------------------------------------


def _error(data: Any) -> RecordErrorInfo:
    if not isinstance(data, Mapping):
        return RecordErrorInfo(status_code="", message=str(data))
    return RecordErrorInfo(
        status_code=str(data.get("statusCode") or data.get("errorCode") or ""),
        message=str(data.get("message") or ""),
        fields=tuple(str(f) for f in data.get("fields") or ()),
    )


def parse_save_results(data: Any) -> list[RecordResult]:
    """One answer of create/update/upsert/delete: a JSON array, in input order."""
    if not isinstance(data, list):
        raise UsageError(f"expected a JSON array of save results, got {type(data).__name__}")
    results = []
    for item in data:
        if not isinstance(item, Mapping):
            raise UsageError(f"expected a save result object, got {item!r}")
        created = item.get("created")
        results.append(
            RecordResult(
                id=item.get("id") or None,
                success=bool(item.get("success", False)),
                created=None if created is None else bool(created),
                errors=tuple(_error(e) for e in item.get("errors") or ()),
            )
        )
    return results


def parse_retrieve_many(model: type[T], data: Any) -> list[T | None]:
    """One retrieve answer: a record per requested id, `None` where the id matched nothing."""
    if not isinstance(data, list):
        raise UsageError(f"expected a JSON array of records, got {type(data).__name__}")
    return [None if row is None else model.from_dict(row) for row in data]
