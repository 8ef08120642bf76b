"""REST query rows (JSON objects) into Arrow record batches, pure.

Columns are the row's fields, parents flattened to dotted names (`Owner.Name`) as Bulk names
them. JSON numbers arrive as floats (orjson); a decimal column takes the shortest text that
reads back as the same float (`repr`), so a value Salesforce sent with up to 15 significant
digits lands exactly, as its text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from salesforce_typed.columnar.csv_pages import fit_decimal, parse_time
from salesforce_typed.columnar.schema import FieldSource, arrow_schema

__all__ = ["row_columns", "rows_batch", "rows_schema"]


def row_columns(row: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The columns of one row: its fields, a parent object's fields as `Parent.Field`."""
    names: list[str] = []
    for key, value in row.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping) and "attributes" in value:
            names.extend(row_columns(value, f"{prefix}{key}."))
        else:
            names.append(prefix + key)
    return names


def rows_schema(source: FieldSource, row: Mapping[str, Any], *, extra_scale: int = 0) -> pa.Schema:
    return arrow_schema(source, row_columns(row), extra_scale=extra_scale)


def _cell(row: Mapping[str, Any], column: str) -> Any:
    value: Any = row
    for step in column.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _decimal(column: str, kind: pa.Decimal128Type, round_half_up: bool) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        text = repr(value) if isinstance(value, float) else str(value)
        return fit_decimal(text, column, kind, round_half_up)

    return convert


def _timestamp(value: Any) -> Any:
    return None if value is None else dt.datetime.fromisoformat(value)


def _date(value: Any) -> Any:
    return None if value is None else dt.date.fromisoformat(value)


def _multi(value: Any) -> Any:
    return None if value is None else value.split(";")


def _converter(kind: pa.DataType, column: str, rounding: bool) -> Callable[[Any], Any] | None:
    if isinstance(kind, pa.Decimal128Type):
        return _decimal(column, kind, rounding)
    if pa.types.is_timestamp(kind):
        return _timestamp
    if pa.types.is_date(kind):
        return _date
    if pa.types.is_time(kind):
        return parse_time
    if pa.types.is_list(kind):
        return _multi
    if pa.types.is_struct(kind):
        parts = [(f.name, _converter(f.type, f"{column}.{f.name}", rounding)) for f in kind]

        def struct(value: Any) -> Any:
            if value is None:
                return None
            return {n: (c(value.get(n)) if c else value.get(n)) for n, c in parts}

        return struct
    return None


def rows_batch(
    rows: Iterable[Mapping[str, Any]], schema: pa.Schema, *, round_decimals: bool = False
) -> pa.RecordBatch:
    """`rows` (one page) as a batch of `schema`; missing fields are null."""
    page: Sequence[Mapping[str, Any]] = rows if isinstance(rows, Sequence) else list(rows)
    arrays = []
    for field in schema:
        convert = _converter(field.type, field.name, round_decimals)
        values = [_cell(row, field.name) for row in page]
        if convert is not None:
            values = [convert(v) for v in values]
        arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
