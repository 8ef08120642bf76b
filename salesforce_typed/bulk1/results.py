"""Bulk API 1.0 results: DML result rows matched to inputs, and query rows streamed and typed.

What must stay true (wire reference §7):
- DML results come in input order, one per row: result i of a batch belongs to input
  `batch.first + i`. A count mismatch is reported, never papered over.
- Per-record failures are values (`RowResult.errors`), never exceptions (STYLE §8).
- The CSV error cell `CODE:message:Field1,Field2 --` is read by Bulk 2.0's `parse_sf_error`:
  both APIs spell per-record errors alike, so both return the same `RowError`.
- Query CSV is parsed as it arrives (`CsvRowStream`): a field holding a newline stays whole
  and no result file is held in memory.
- `Records not found for this query` is an empty CSV result, not a one-column row.
- Typed decoding turns CSV text into the JSON a REST record would carry (numbers, booleans,
  `null` for empty cells, `Parent.Field` columns nested), then uses the model's own decoder.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs
import httpx

from salesforce_typed.bulk1.wire import XSI, BatchInfo, JobInfo, is_json, parse_xml
from salesforce_typed.core.codecs import format_datetime
from salesforce_typed.core.errors import SalesforceError
from salesforce_typed.core.models import SObject, resolve_sobject
from salesforce_typed.jobs.csv_chunks import CsvStreamParser
from salesforce_typed.jobs.row_errors import RowError, parse_sf_error

__all__ = [
    "NO_RECORDS",
    "BulkLoadResult",
    "CsvRowStream",
    "ResultRow",
    "RowError",
    "RowResult",
    "decode_record",
    "has_results",
    "match_rows",
    "parse_query_records",
    "parse_results",
    "unprocessed",
]

T = TypeVar("T", bound=SObject)

NO_RECORDS: Final = "Records not found for this query"
_NIL: Final = "{" + XSI + "}nil"
_NUMBERS: Final = frozenset({"double", "currency", "percent"})


@attrs.frozen(kw_only=True, slots=True)
class ResultRow:
    """One line of a batch's result file, before it is matched to its input."""

    id: str | None
    success: bool
    created: bool
    errors: tuple[RowError, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class RowResult:
    """A result matched to its input: `input` is the row exactly as the caller gave it."""

    index: int
    input: Any = attrs.field(repr=False)
    batch_id: str
    id: str | None
    success: bool
    created: bool
    errors: tuple[RowError, ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class BulkLoadResult:
    """A finished load: the final job and batch infos and one result per input row."""

    job: JobInfo
    batches: tuple[BatchInfo, ...]
    rows: tuple[RowResult, ...] = attrs.field(repr=False)

    @property
    def succeeded(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if r.success)

    @property
    def failed(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if not r.success)

    @property
    def reconciles(self) -> bool:
        """Salesforce's counters agree with the rows: per completed batch and for the job."""
        if [r.index for r in self.rows] != list(range(len(self.rows))):
            return False
        mine: dict[str, list[RowResult]] = {}
        for row in self.rows:
            mine.setdefault(row.batch_id, []).append(row)
        for batch in self.batches:
            rows = mine.get(batch.id, [])
            if batch.state == "Completed" and (
                batch.numberRecordsProcessed != len(rows)
                or batch.numberRecordsFailed != sum(not r.success for r in rows)
            ):
                return False
        return (
            self.job.numberRecordsProcessed == sum(b.numberRecordsProcessed for b in self.batches)
            and self.job.numberRecordsFailed == sum(b.numberRecordsFailed for b in self.batches)
            and self.job.numberBatchesTotal == len(self.batches)
        )


def has_results(batch: BatchInfo) -> bool:
    """Whether a batch has a result file: Completed, or Failed after processing some rows."""
    return batch.state == "Completed" or (
        batch.state == "Failed" and batch.numberRecordsProcessed > 0
    )


def unprocessed(batch: BatchInfo, count: int) -> list[ResultRow]:
    """Results for the rows of a batch that has none: each fails with the batch's reason."""
    message = batch.stateMessage or f"batch {batch.state}"
    code = message.partition(" : ")[0].strip() if " : " in message else batch.state
    error = RowError(code=code, message=message)
    return [ResultRow(id=None, success=False, created=False, errors=(error,))] * count


def match_rows(
    batch_id: str, first: int, count: int, results: Sequence[ResultRow], inputs: Sequence[Any]
) -> list[RowResult]:
    """Result i of a batch belongs to input `first + i`; a count mismatch raises."""
    if len(results) != count:
        raise SalesforceError(
            f"bulk batch {batch_id}: {len(results)} results for {count} rows; "
            "results cannot be matched to inputs"
        )
    return [
        RowResult(
            index=first + offset,
            input=inputs[first + offset],
            batch_id=batch_id,
            id=result.id,
            success=result.success,
            created=result.created,
            errors=result.errors,
        )
        for offset, result in enumerate(results)
    ]


# -- DML results ------------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def parse_results(response: httpx.Response) -> list[ResultRow]:
    """A DML batch's results in input order, from CSV, JSON or XML."""
    ctype = response.headers.get("content-type", "")
    if "csv" in ctype:
        return _csv_results(response.text)
    if is_json(response):
        return [_json_result(item) for item in response.json()]
    root = parse_xml(response.content)
    return [_xml_result(item) for item in root]


def _csv_results(text: str) -> list[ResultRow]:
    reader = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(reader, [])]
    out = []
    for cells in reader:
        if not cells:
            continue
        row = dict(zip(header, cells, strict=False))
        error = row.get("error", "")
        out.append(
            ResultRow(
                id=row.get("id") or None,
                success=_flag(row.get("success")),
                created=_flag(row.get("created")),
                errors=(parse_sf_error(error),) if error else (),
            )
        )
    return out


def _json_result(item: Mapping[str, Any]) -> ResultRow:
    errors = tuple(
        RowError(
            code=str(e.get("statusCode") or e.get("errorCode") or ""),
            message=str(e.get("message") or ""),
            fields=tuple(str(f) for f in e.get("fields") or ()),
        )
        for e in item.get("errors") or ()
    )
    return ResultRow(
        id=item.get("id") or None,
        success=_flag(item.get("success")),
        created=_flag(item.get("created")),
        errors=errors,
    )


def _xml_result(element: Any) -> ResultRow:
    values: dict[str, str] = {}
    errors = []
    for child in element:
        tag = child.tag.rpartition("}")[2]
        if tag == "errors":
            parts = {c.tag.rpartition("}")[2]: (c.text or "") for c in child}
            names = tuple(
                (c.text or "").strip() for c in child if c.tag.rpartition("}")[2] == "fields"
            )
            errors.append(
                RowError(
                    code=parts.get("statusCode", ""),
                    message=parts.get("message", ""),
                    fields=tuple(n for n in names if n),
                )
            )
        elif child.get(_NIL) != "true":
            values[tag] = (child.text or "").strip()
    return ResultRow(
        id=values.get("id") or None,
        success=_flag(values.get("success")),
        created=_flag(values.get("created")),
        errors=tuple(errors),
    )


# -- query results ----------------------------------------------------------------------------


class CsvRowStream:
    """Feed bytes as they arrive; get back whole rows as `{column: text}` dicts.

    Record splitting is Bulk 2.0's streaming parser (`jobs/csv_chunks.py`); this adds the
    header row and Bulk 1.0's `Records not found for this query` answer for no rows.
    """

    def __init__(self) -> None:
        self._parser = CsvStreamParser()
        self._header: list[str] | None = None
        self.rows = 0

    def feed(self, data: bytes) -> list[dict[str, str]]:
        return self._rows(self._parser.feed(data))

    def close(self) -> list[dict[str, str]]:
        return self._rows(self._parser.close())

    def _rows(self, records: list[list[str]]) -> list[dict[str, str]]:
        out = []
        for cells in records:
            if self._header is None:
                self._header = [] if cells == [NO_RECORDS] else cells
                continue
            if not self._header:
                continue
            self.rows += 1
            out.append(dict(zip(self._header, cells, strict=False)))
        return out


def parse_query_records(response: httpx.Response) -> list[dict[str, Any]]:
    """A JSON or XML query result file as REST-like dicts (CSV goes through CsvRowStream)."""
    if is_json(response):
        data = response.json()
        return [dict(item) for item in data] if isinstance(data, list) else []
    root = parse_xml(response.content)
    return [_xml_record(item) for item in root]


def _xml_record(element: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag.rpartition("}")[2]
        if tag == "type":
            out["attributes"] = {"type": (child.text or "").strip()}
        elif tag in out:  # the SOAP habit of sending Id twice
            continue
        elif child.get(_NIL) == "true":
            out[tag] = None
        elif len(child):
            out[tag] = _xml_record(child)
        else:
            out[tag] = child.text or ""
    return out


def decode_record(model: type[T], row: Mapping[str, Any], *, text: bool) -> T:
    """A query row as `model`: text (CSV, XML) or Bulk JSON made REST JSON, then decoded."""
    return model.from_dict(_rest_json(model, row, text))


def _rest_json(model: type[SObject], row: Mapping[str, Any], text: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in row.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        elif isinstance(value, Mapping) and key != "attributes":
            nested.setdefault(key, {}).update(value)
        else:
            out[key] = _value(model, key, value, text)
    for name, sub in nested.items():
        target = _parent_model(model, name)
        values = {k: v for k, v in sub.items() if k != "attributes"}
        if all(v in (None, "") for v in values.values()):
            out[name] = None
        elif target is None:
            out[name] = dict(sub)
        else:
            out[name] = _rest_json(target, sub, text)
    return out


def _parent_model(model: type[SObject], name: str) -> type[SObject] | None:
    for parent in model.__sf_parents__:
        if parent.name == name and parent.reference_to:
            return resolve_sobject(model.__sf_package__, parent.reference_to[0])
    return None


def _value(model: type[SObject], key: str, value: Any, text: bool) -> Any:
    try:
        ftype = model.field_info(key).type
    except KeyError:
        return (value or None) if text and isinstance(value, str) else value
    if text and isinstance(value, str):
        if value == "":
            return None
        if ftype == "boolean":
            return value.lower() == "true"
        if ftype in ("int", "long"):
            return int(float(value))
        if ftype in _NUMBERS:
            return float(value)
        return value
    if ftype in ("date", "datetime") and isinstance(value, int | float):
        # Bulk JSON query results carry dates as epoch milliseconds.
        when = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return when.date().isoformat() if ftype == "date" else format_datetime(when)
    return value
