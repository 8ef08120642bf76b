"""Avro schemas the fake org serves over Pub/Sub, derived from the describe, and the encoding
of a bus event (CometD's JSON shape) into a datum of that schema.

docs/pubsub.md has the guide's facts this follows. In short:
- A change event schema is `<Entity>ChangeEvent` with `ChangeEventHeader` first, then the
  entity's fields in describe order, the ones CDC carries (not Id, formulas, IsDeleted...).
  Compound fields (person name, addresses, geolocation) are nested records at the compound's
  position, named after the compound; every field is a union with null, default null.
- Datetimes are longs (epoch milliseconds), dates ints (days since the epoch); each field's
  `doc` names its Salesforce type, so a reader can turn them back into CometD's strings.
- The schema id is a hash of the schema JSON: one id per schema version, a describe change
  (a new field) gives a new id while events already sent keep theirs.
- Pub/Sub carries every field: unchanged ones are null. `changedFields`, `nulledFields` and
  `diffFields` travel as bitmaps of field positions ("Event Deserialization Considerations").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.testing.org.changes import PERSON_NAME, _flat_skips, cdc_compounds
from salesforce_typed.testing.org.records import field_index
from salesforce_typed.testing.org.state import OrgState

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
)
_AVRO_TYPES = {
    "boolean": "boolean",
    "int": "int",
    "long": "long",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "int",
    "datetime": "long",
}
# Describe types by the name the schema's `doc` gives them (what a reader converts back).
_DOC_TYPES = {"date": "Date", "datetime": "DateTime"}
_PLATFORM_SKIPPED = frozenset({"ReplayId", "EventUuid", "CreatedDate", "CreatedById"})
_EPOCH = dt.date(1970, 1, 1)


def _strings(name: str) -> dict[str, Any]:
    return {"name": name, "type": {"type": "array", "items": "string"}}


HEADER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ChangeEventHeader",
    "namespace": "com.salesforce.eventbus",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {
            "name": "changeType",
            "type": {"type": "enum", "name": "ChangeType", "symbols": list(CHANGE_TYPES)},
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        _strings("nulledFields"),
        _strings("diffFields"),
        _strings("changedFields"),
    ],
}


def schema_id_of(schema: Mapping[str, Any]) -> str:
    """A 22-character id (Salesforce's look) that changes whenever the schema does."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _field(name: str, sf_type: str) -> dict[str, Any]:
    avro = _AVRO_TYPES.get(sf_type, "string")
    doc = f"Data:{_DOC_TYPES.get(sf_type, sf_type)}"
    return {"name": name, "type": ["null", avro], "doc": doc, "default": None}


def change_event_schema(state: OrgState, entity: str) -> dict[str, Any] | None:
    """The `<Entity>ChangeEvent` schema, or None for an entity the org does not have."""
    index = field_index(state, entity)
    if index is None:
        return None
    compounds = cdc_compounds(index)
    skipped = _flat_skips(index, compounds)
    parents: dict[str, list[tuple[str, str]]] = {}
    for component, (compound, key) in compounds.items():
        parents.setdefault(compound, []).append((component, key))
    fields: list[dict[str, Any]] = [{"name": "ChangeEventHeader", "type": HEADER_SCHEMA}]
    placed: set[str] = set()
    names = list(index.fields)
    for name in [*names, *(p for p in parents if p not in index.fields)]:
        if name in parents and name not in placed:
            placed.add(name)
            nested = [
                _field(key, str(index.fields[component].get("type")))
                for component, key in sorted(parents[name], key=_component_order(names))
            ]
            record = {"type": "record", "name": name, "fields": nested}
            fields.append({"name": name, "type": ["null", record], "default": None})
        elif name not in skipped and name not in compounds and name in index.fields:
            fields.append(_field(name, str(index.fields[name].get("type"))))
    stem = entity[:-1] if entity.endswith("__c") else entity
    return {
        "type": "record",
        "name": f"{stem}ChangeEvent",
        "namespace": NAMESPACE,
        "fields": fields,
    }


def _component_order(names: list[str]) -> Callable[[tuple[str, str]], int]:
    """Person name components in the order CDC schemas list them; others in describe order."""

    def order(pair: tuple[str, str]) -> int:
        component, key = pair
        if key in PERSON_NAME:
            return PERSON_NAME.index(key)
        return names.index(component)

    return order


def platform_event_schema(state: OrgState, name: str) -> dict[str, Any] | None:
    """The `<Name>__e` schema: CreatedDate and CreatedById, then the custom fields."""
    describe = state.schema.describe(name)
    if describe is None or not name.endswith("__e"):
        return None
    fields: list[dict[str, Any]] = [
        {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
        {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"},
    ]
    for field in describe.get("fields") or ():
        if field["name"] not in _PLATFORM_SKIPPED:
            fields.append(_field(str(field["name"]), str(field.get("type"))))
    return {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}


# -- values ---------------------------------------------------------------------------------


def avro_value(field: Mapping[str, Any], value: Any) -> Any:
    """A CometD JSON value as the field's Avro type: ISO datetimes as epoch ms, dates as
    epoch days, a diff (`{"diff": ...}`) as its text."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"diff"}:
        return str(value["diff"])
    kind = str(field.get("doc", "")).rpartition(":")[2]
    if kind == "DateTime" and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return int(moment.timestamp() * 1000)
    if kind == "Date" and isinstance(value, str):
        return (dt.date.fromisoformat(value) - _EPOCH).days
    return value


def _record_fields(field_type: Any) -> list[dict[str, Any]] | None:
    """The fields of a nested record (a `["null", record]` union), else None."""
    if isinstance(field_type, list):
        for branch in field_type:
            if isinstance(branch, dict) and branch.get("type") == "record":
                fields: list[dict[str, Any]] = branch["fields"]
                return fields
    return None


@attrs.frozen(eq=False)
class _Plan:
    """What encoding needs of one schema, worked out once: field positions, compounds'
    nested fields, each field's type by `doc` (events are encoded by the thousand)."""

    names: tuple[str, ...]  # the fields after the header, in schema order
    top: dict[str, int]  # name -> position
    inner: dict[int, dict[str, int]]  # compound position -> nested name -> position
    nested: dict[str, tuple[tuple[str, str], ...]]  # compound -> (nested name, kind)
    kinds: dict[str, str]  # plain field -> kind


_PLANS: dict[int, tuple[Mapping[str, Any], _Plan]] = {}
# What a header published raw (the admin hook) may leave out: Salesforce always fills these.
_HEADER_DEFAULTS: dict[str, Any] = {
    "recordIds": [],
    "changeOrigin": "",
    "transactionKey": "",
    "sequenceNumber": 0,
    "commitTimestamp": 0,
    "commitNumber": 0,
    "commitUser": "",
}


def _plan(schema: Mapping[str, Any]) -> _Plan:
    found = _PLANS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    fields = schema["fields"]
    inner: dict[int, dict[str, int]] = {}
    nested: dict[str, tuple[tuple[str, str], ...]] = {}
    kinds: dict[str, str] = {}
    for i, field in enumerate(fields):
        record = _record_fields(field["type"])
        if record is not None:
            inner[i] = {f["name"]: j for j, f in enumerate(record)}
            nested[field["name"]] = tuple((f["name"], _doc_kind(f)) for f in record)
        elif i:
            kinds[field["name"]] = _doc_kind(field)
    plan = _Plan(
        names=tuple(f["name"] for f in fields[1:]),
        top={f["name"]: i for i, f in enumerate(fields)},
        inner=inner,
        nested=nested,
        kinds=kinds,
    )
    _PLANS[id(schema)] = (schema, plan)
    return plan


def _doc_kind(field: Mapping[str, Any]) -> str:
    return str(field.get("doc", "")).rpartition(":")[2]


def _value(kind: str, value: Any) -> Any:
    """`avro_value` with the field's kind already known."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"diff"}:
        return str(value["diff"])
    if kind == "DateTime" and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return int(moment.timestamp() * 1000)
    if kind == "Date" and isinstance(value, str):
        return (dt.date.fromisoformat(value) - _EPOCH).days
    return value


def bitmap(schema: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """Field names (`Phone`, `Name.LastName`) as the guide's bitmap strings: first the
    top-level bitmap (`0x...`, bit i = the schema's field i), then one `<i>-0x...` per
    compound field i whose nested fields are named, bit j = its nested field j."""
    if not names:
        return []
    plan = _plan(schema)
    bits = 0
    nested: dict[int, int] = {}
    for name in names:
        parent, _, child = name.partition(".")
        position = plan.top.get(parent)
        if position is None:
            continue
        inner = plan.inner.get(position) if child else None
        if inner is None:
            bits |= 1 << position
            continue
        j = inner.get(child)
        if j is not None:
            nested[position] = nested.get(position, 0) | 1 << j
    out = [_hex(bits)] if bits or not nested else []
    out += [f"{i}-{_hex(b)}" for i, b in sorted(nested.items())]
    return out


def _hex(bits: int) -> str:
    digits = max(2, (bits.bit_length() + 7) // 8 * 2)
    return f"0x{bits:0{digits}X}"


def change_datum(schema: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """A bus CDC payload (CometD's shape) as a datum of `schema`: every field, unchanged ones
    null; `nulledFields` and `diffFields` (which CometD does not carry) derived from the
    payload: a named field whose value is null, a value sent as `{"diff": ...}`."""
    plan = _plan(schema)
    given = payload["ChangeEventHeader"]
    header = _HEADER_DEFAULTS | {k: v for k, v in given.items() if v is not None}
    changed = list(header.get("changedFields") or ())
    datum: dict[str, Any] = dict.fromkeys(plan.names)
    nulled: list[str] = []
    diffs: list[str] = []
    for name, value in payload.items():
        kind = plan.kinds.get(name)
        if kind is None:
            members = plan.nested.get(name)
            if members is None:
                continue  # the header, or a field the schema lacks
            if isinstance(value, dict):
                datum[name] = {k: _value(knd, value.get(k)) for k, knd in members}
                nulled += [f"{name}.{k}" for k, v in value.items() if v is None]
            elif value is None:
                nulled.append(name)
            continue
        if value is None:
            nulled.append(name)
            continue
        if isinstance(value, dict) and set(value) == {"diff"}:
            diffs.append(name)
        datum[name] = _value(kind, value)
    if header.get("changeType") != "UPDATE":
        nulled = []
    header["changedFields"] = bitmap(schema, changed)
    header["nulledFields"] = bitmap(schema, [n for n in nulled if n in changed])
    header["diffFields"] = bitmap(schema, diffs)
    return {"ChangeEventHeader": header, **datum}


def platform_datum(schema: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """A bus platform event payload as a datum of its schema."""
    return {f["name"]: avro_value(f, payload.get(f["name"])) for f in schema["fields"]}


def json_value(field: Mapping[str, Any], value: Any) -> Any:
    """An Avro value back in CometD's JSON form (a published event goes on the bus so)."""
    kind = str(field.get("doc", "")).rpartition(":")[2]
    if kind == "DateTime" and isinstance(value, int):
        moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "Date" and isinstance(value, int):
        return (_EPOCH + dt.timedelta(days=value)).isoformat()
    return value
