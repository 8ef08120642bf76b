"""A Pub/Sub event's decoded Avro record in the shape CometD delivers, so the CometD
listener's `EventDecoder` types it into the same `<Entity>ChangeEvent` models.

Pure functions. What differs on the wire ("Differences Between Change Events Received with
Streaming API vs. Pub/Sub API") and is undone here:
- Pub/Sub sends every field, unchanged ones null; CometD only what the change carries (on
  UPDATE the fields named in changedFields, nulls included; otherwise the non-null ones).
- Datetimes arrive as epoch milliseconds and dates as epoch days; CometD sends ISO strings.
  Each schema field's `doc` ends in its Salesforce type (`...:DateTime`, `...:Date`).
- The header bitmaps become field names; a long text sent as a diff (named in diffFields)
  becomes CometD's `{"diff": ...}`, which `EventDecoder` keeps out of the typed record.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

import fastavro

from salesforce_typed.pubsub.avro_read import compile_reader
from salesforce_typed.pubsub.bitmaps import field_names, nested_fields

__all__ = [
    "SchemaPlan",
    "cometd_data",
    "cometd_payload",
    "json_value",
    "read_payload",
    "replay_int",
]

_EPOCH = dt.date(1970, 1, 1)
_BITMAPS = ("changedFields", "nulledFields", "diffFields")


def replay_int(replay_id: bytes) -> int | None:
    """Salesforce's 8-byte big-endian replay id as a number (None for another length)."""
    return int.from_bytes(replay_id, "big") if len(replay_id) == 8 else None


def json_value(field: Mapping[str, Any], value: Any) -> Any:
    """An Avro value as CometD's JSON carries it (ISO datetimes and dates)."""
    return _convert(_kind(field), value)


def _kind(field: Mapping[str, Any]) -> str:
    kind = str(field.get("doc") or "").rpartition(":")[2]
    return kind if kind in ("DateTime", "Date") else ""


def _convert(kind: str, value: Any) -> Any:
    if not kind or isinstance(value, bool) or not isinstance(value, int):
        return value
    if kind == "DateTime":
        moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return (_EPOCH + dt.timedelta(days=value)).isoformat()


class SchemaPlan:
    """What decoding needs of one schema, worked out once per schema id: which fields are
    compounds (and their nested fields' kinds), which are datetimes or dates, and the
    schema's compiled reader (`avro_read`; None: fastavro reads it)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.kinds: dict[str, str] = {}
        self.nested: dict[str, dict[str, str]] = {}  # compound -> nested name -> kind
        self.order: list[str] = []  # the fields after the first, in schema order
        for field in list(schema.get("fields") or ())[1:]:
            name = str(field["name"])
            self.order.append(name)
            inner = nested_fields(field["type"])
            if inner is None:
                self.kinds[name] = _kind(field)
            else:
                self.nested[name] = {str(f["name"]): _kind(f) for f in inner}
        self.reader = compile_reader(schema, self.nested)
        self._parsed: Any = None

    @property
    def parsed(self) -> Any:
        """fastavro's parsed schema, for a schema the compiled reader does not take."""
        if self._parsed is None:
            self._parsed = fastavro.parse_schema(dict(self.schema))
        return self._parsed


def read_payload(plan: SchemaPlan, data: bytes) -> dict[str, Any]:
    """One event's Avro bytes as CometD's `data.payload`: what `cometd_payload` makes of
    fastavro's record, read in one pass by the schema's compiled reader when it has one."""
    if plan.reader is None:
        record = fastavro.schemaless_reader(io.BytesIO(data), plan.parsed, None)
        return cometd_payload(plan, record if isinstance(record, Mapping) else {})
    out = plan.reader(data)
    header = out.get("ChangeEventHeader")
    if not isinstance(header, dict):
        return out  # a platform event: the reader kept what CometD carries
    for key in _BITMAPS:
        bits = header.get(key)
        header[key] = field_names(plan.schema, list(bits)) if bits else []
    if header.get("changeType") == "UPDATE":
        return _update_payload(plan, out, header)
    for name in plan.nested:
        if out.get(name) == {}:
            del out[name]
    for name in header["diffFields"]:
        value = out.get(name)
        if isinstance(value, str) and not plan.kinds.get(name):
            out[name] = {"diff": value}
    return out


def _update_payload(
    plan: SchemaPlan, out: Mapping[str, Any], header: dict[str, Any]
) -> dict[str, Any]:
    """An UPDATE carries the fields named in changedFields (nulls too) and its diffs."""
    changed = set(header["changedFields"])
    diffs = set(header["diffFields"])
    payload: dict[str, Any] = {"ChangeEventHeader": header}
    for name in plan.order:
        value = out.get(name)
        inner = plan.nested.get(name)
        if inner is not None:
            if isinstance(value, dict):
                nested = {k: value.get(k) for k in inner if f"{name}.{k}" in changed}
                if nested:
                    payload[name] = nested
        elif name in diffs and isinstance(value, str) and not plan.kinds.get(name):
            payload[name] = {"diff": value}
        elif name in changed:
            payload[name] = value
    return payload


def cometd_payload(plan: SchemaPlan, record: Mapping[str, Any]) -> dict[str, Any]:
    """The decoded record as CometD's `data.payload` (see the module doc)."""
    raw_header = record.get("ChangeEventHeader")
    if not isinstance(raw_header, Mapping):
        kinds = {str(f["name"]): _kind(f) for f in plan.schema.get("fields") or ()}
        return {k: _convert(kinds.get(k, ""), v) for k, v in record.items() if v is not None}
    header = dict(raw_header)
    for key in _BITMAPS:
        header[key] = field_names(plan.schema, list(header.get(key) or ()))
    changed = set(header["changedFields"])
    diffs = set(header["diffFields"])
    update = header.get("changeType") == "UPDATE"
    payload: dict[str, Any] = {"ChangeEventHeader": header}
    for name, value in record.items():
        if value is None and not update:
            continue
        inner = plan.nested.get(name)
        if inner is not None:
            nested = _nested(name, inner, value, changed if update else None)
            if nested:
                payload[name] = nested
        elif name in diffs and isinstance(value, str):
            payload[name] = {"diff": value}
        elif name in plan.kinds and (name in changed if update else True):
            payload[name] = _convert(plan.kinds[name], value)
    return payload


def _nested(
    parent: str,
    inner: Mapping[str, str],
    value: Any,
    changed: set[str] | None,
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, kind in inner.items():
        inner_value = value.get(key)
        keep = f"{parent}.{key}" in changed if changed is not None else inner_value is not None
        if keep:
            out[key] = _convert(kind, inner_value)
    return out


def cometd_data(
    schema_id: str, event_id: str, replay: int | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """The Bayeux `data` CometD would have delivered for this event (the message's `channel`
    is the topic), `replay` its replay id as a number (`replay_int`)."""
    event: dict[str, Any] = {"replayId": replay}
    if "ChangeEventHeader" not in payload:
        event["EventUuid"] = event_id
    return {"schema": schema_id, "payload": payload, "event": event}
