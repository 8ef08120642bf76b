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
from collections.abc import Mapping
from typing import Any

from salesforce_typed.pubsub.bitmaps import field_names, nested_fields

__all__ = ["bayeux_message", "cometd_payload", "json_value", "replay_int"]

_EPOCH = dt.date(1970, 1, 1)
_BITMAPS = ("changedFields", "nulledFields", "diffFields")


def replay_int(replay_id: bytes) -> int | None:
    """Salesforce's 8-byte big-endian replay id as a number (None for another length)."""
    return int.from_bytes(replay_id, "big") if len(replay_id) == 8 else None


def json_value(field: Mapping[str, Any], value: Any) -> Any:
    """An Avro value as CometD's JSON carries it (ISO datetimes and dates)."""
    kind = str(field.get("doc") or "").rpartition(":")[2]
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    if kind == "DateTime":
        moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "Date":
        return (_EPOCH + dt.timedelta(days=value)).isoformat()
    return value


def cometd_payload(schema: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The decoded record as CometD's `data.payload` (see the module doc)."""
    fields: list[Mapping[str, Any]] = list(schema.get("fields") or ())
    raw_header = record.get("ChangeEventHeader")
    if not isinstance(raw_header, Mapping):
        return {
            str(f["name"]): json_value(f, record.get(str(f["name"])))
            for f in fields
            if record.get(str(f["name"])) is not None
        }
    header = dict(raw_header)
    for key in _BITMAPS:
        header[key] = field_names(schema, list(header.get(key) or ()))
    changed = set(header["changedFields"])
    diffs = set(header["diffFields"])
    update = header.get("changeType") == "UPDATE"
    payload: dict[str, Any] = {"ChangeEventHeader": header}
    for field in fields[1:]:
        name = str(field["name"])
        value = record.get(name)
        inner = nested_fields(field["type"])
        if inner is not None:
            nested = _nested(name, inner, value, changed if update else None)
            if nested:
                payload[name] = nested
        elif name in diffs and isinstance(value, str):
            payload[name] = {"diff": value}
        elif (name in changed) if update else value is not None:
            payload[name] = json_value(field, value)
    return payload


def _nested(
    parent: str,
    inner: list[Mapping[str, Any]],
    value: Any,
    changed: set[str] | None,
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, Any] = {}
    for field in inner:
        key = str(field["name"])
        inner_value = value.get(key)
        keep = f"{parent}.{key}" in changed if changed is not None else inner_value is not None
        if keep:
            out[key] = json_value(field, inner_value)
    return out


def bayeux_message(
    topic: str,
    schema_id: str,
    event_id: str,
    replay_id: bytes,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The Bayeux message CometD would have delivered for this event."""
    event: dict[str, Any] = {"replayId": replay_int(replay_id)}
    if "ChangeEventHeader" not in payload:
        event["EventUuid"] = event_id
    return {"channel": topic, "data": {"schema": schema_id, "payload": payload, "event": event}}
