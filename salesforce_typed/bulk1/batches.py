"""Bulk API 1.0 batch bodies: rows in, CSV / JSON / XML batches out, cut at Salesforce's limits.

Rows are typed models or plain mappings; `row_payload` turns each into the fields the operation
sends. `BatchSplitter` takes rows one at a time (so a generator of a million rows is never held
whole) and hands back an encoded batch whenever the next row would break a limit: 10,000
records, 10 MB, 10,000,000 characters (wire reference §7).

What must stay true:
- UNSET (not sent) and None (set to null) stay apart: a CSV cell left empty changes nothing,
  `#N/A` writes null; JSON leaves the key out or sends `null`; XML omits the element or sends
  `xsi:nil="true"`.
- A CSV batch's header is the union of its rows' fields, so the size accounting charges every
  earlier row one comma when a later row brings a new column: the counted size is the encoded
  size, byte for byte.
- A row that alone breaks a limit raises: no batch could carry it.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from salesforce_typed.bulk1.wire import NS, XSI
from salesforce_typed.core.codecs import format_date, format_datetime, format_time
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.core.unset import UNSET
from salesforce_typed.jobs.csv_chunks import NULL_VALUE as NULL_CELL
from salesforce_typed.jobs.csv_chunks import format_value

__all__ = [
    "DEFAULT_LIMITS",
    "NULL_CELL",
    "BatchLimits",
    "BatchSplitter",
    "EncodedBatch",
    "csv_cell",
    "flatten",
    "row_payload",
]

_XML_HEAD: Final = (
    f'<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="{NS}" xmlns:xsi="{XSI}">'
)
_XML_TAIL: Final = "</sObjects>"


@attrs.frozen(kw_only=True, slots=True)
class BatchLimits:
    """Per-batch limits; tests shrink them to see splitting without 10,000 rows."""

    max_records: int = attrs.field(default=10_000, validator=attrs.validators.ge(1))
    max_bytes: int = attrs.field(default=10_000_000, validator=attrs.validators.ge(1))
    max_chars: int = attrs.field(default=10_000_000, validator=attrs.validators.ge(1))


DEFAULT_LIMITS: Final = BatchLimits()


@attrs.frozen(kw_only=True, slots=True)
class EncodedBatch:
    """A batch body and the input rows it carries: indexes `first` .. `first + count - 1`."""

    body: bytes = attrs.field(repr=False)
    first: int
    count: int


# -- rows -> payload dicts --------------------------------------------------------------------


def row_payload(row: Any, operation: str) -> dict[str, Any]:
    """The fields a row sends for `operation`; delete and hardDelete send only the Id."""
    if operation in ("delete", "hardDelete"):
        record_id = row if isinstance(row, str) else _get(row, "Id")
        if not isinstance(record_id, str) or not record_id:
            raise UsageError(f"{operation} needs an Id for every row, got {row!r}")
        return {"Id": record_id}
    if isinstance(row, SObject):
        if operation == "insert":
            payload = row.to_create_payload()
        elif operation == "update":
            payload = row.to_update_payload()
        else:  # upsert: createable or updateable, the key included
            payload = {**row.to_update_payload(), **row.to_create_payload()}
        record_id = getattr(row, "Id", UNSET)
        if operation != "insert" and isinstance(record_id, str) and record_id:
            payload = {"Id": record_id, **payload}
        return payload
    if isinstance(row, Mapping):
        return {str(k): v for k, v in row.items() if k != "attributes"}
    raise TypeError(f"a Bulk row is an SObject or a mapping, not {type(row).__name__}")


def _get(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _scalar(value: Any) -> Any:
    """A Python value as the text-or-number Salesforce reads (dates in its own form)."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, dt.time):
        return format_time(value)
    if isinstance(value, list | tuple):
        return ";".join(str(_scalar(v)) for v in value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def flatten(payload: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`{"Account": {"Ext__c": "A-1"}}` -> `("Account.Ext__c", "A-1")`: CSV relationship columns."""
    for key, value in payload.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def csv_cell(value: Any) -> str:
    """One CSV cell: Bulk 2.0's value format (`jobs/csv_chunks.py`), quoted only when it must be."""
    text = format_value(value)
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return None if value is None else _scalar(value)


def _xml_text(value: Any) -> str:
    value = _scalar(value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_fields(payload: Mapping[str, Any]) -> str:
    parts = []
    for key, value in payload.items():
        if key == "attributes":
            continue
        if value is None:
            parts.append(f'<{key} xsi:nil="true"/>')
        elif isinstance(value, Mapping):  # a parent by external id: <Account><sObject>...
            parts.append(f"<{key}><sObject>{_xml_fields(value)}</sObject></{key}>")
        else:
            parts.append(f"<{key}>{_xml_text(value)}</{key}>")
    return "".join(parts)


# -- splitting --------------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    return len(text), len(text.encode("utf-8"))


class BatchSplitter:
    """Accumulates payloads into one batch body; `add` returns the previous batch when full."""

    def __init__(self, content_type: str, limits: BatchLimits = DEFAULT_LIMITS) -> None:
        self.content_type = content_type.upper()
        if self.content_type not in ("CSV", "JSON", "XML"):
            raise UsageError(f"content type {content_type!r} is not CSV, JSON or XML")
        self.limits = limits
        self._next_index = 0
        self._reset()

    def _reset(self) -> None:
        self._first = self._next_index
        self._pieces: list[Any] = []  # encoded rows (JSON/XML) or {column: cell} (CSV)
        self._columns: dict[str, tuple[int, int]] = {}  # CSV column -> its header cell size
        self._chars, self._bytes = self._overhead()

    def _overhead(self) -> tuple[int, int]:
        if self.content_type == "JSON":
            return 2, 2  # [ ]
        if self.content_type == "XML":
            head, tail = _size(_XML_HEAD), _size(_XML_TAIL)
            return head[0] + tail[0], head[1] + tail[1]
        return 0, 0

    def add(self, payload: Mapping[str, Any]) -> EncodedBatch | None:
        """Take one row; a full batch comes back when this row had to start the next one."""
        piece, chars, nbytes, columns = self._measure(payload)
        full = None
        fits = (
            len(self._pieces) + 1 <= self.limits.max_records
            and self._chars + chars <= self.limits.max_chars
            and self._bytes + nbytes <= self.limits.max_bytes
        )
        if self._pieces and not fits:
            full = self._emit()
            piece, chars, nbytes, columns = self._measure(payload)
        if (
            self._chars + chars > self.limits.max_chars
            or self._bytes + nbytes > self.limits.max_bytes
        ):
            raise UsageError(
                f"row {self._next_index} alone exceeds the batch limits "
                f"({self.limits.max_chars} characters, {self.limits.max_bytes} bytes)"
            )
        self._pieces.append(piece)
        self._columns.update(columns)
        self._chars += chars
        self._bytes += nbytes
        self._next_index += 1
        return full

    def flush(self) -> EncodedBatch | None:
        """The last, partly filled batch (None when no row is waiting)."""
        return self._emit() if self._pieces else None

    def _measure(
        self, payload: Mapping[str, Any]
    ) -> tuple[Any, int, int, dict[str, tuple[int, int]]]:
        """The row's encoded form and what adding it costs the current batch."""
        if self.content_type == "JSON":
            text = json.dumps(_json_value(payload), separators=(",", ":"), ensure_ascii=False)
            chars, nbytes = _size(text)
            comma = 1 if self._pieces else 0
            return text, chars + comma, nbytes + comma, {}
        if self.content_type == "XML":
            text = f"<sObject>{_xml_fields(payload)}</sObject>"
            chars, nbytes = _size(text)
            return text, chars, nbytes, {}
        cells = {name: csv_cell(value) for name, value in flatten(payload)}
        new = {name: _size(csv_cell(name)) for name in cells if name not in self._columns}
        width = len(self._columns) + len(new)
        chars = sum(len(c) for c in cells.values()) + width  # commas + newline
        nbytes = sum(len(c.encode("utf-8")) for c in cells.values()) + width
        # The header grows by each new name plus a separator; every earlier row by a comma.
        for header_chars, header_bytes in new.values():
            chars += header_chars + 1 + len(self._pieces)
            nbytes += header_bytes + 1 + len(self._pieces)
        return cells, chars, nbytes, new

    def _emit(self) -> EncodedBatch:
        if self.content_type == "JSON":
            body = "[" + ",".join(self._pieces) + "]"
        elif self.content_type == "XML":
            body = _XML_HEAD + "".join(self._pieces) + _XML_TAIL
        else:
            names = list(self._columns)
            lines = [",".join(csv_cell(n) for n in names)]
            lines += [",".join(cells.get(n, "") for n in names) for cells in self._pieces]
            body = "".join(line + "\n" for line in lines)
        batch = EncodedBatch(body=body.encode("utf-8"), first=self._first, count=len(self._pieces))
        self._reset()
        return batch
