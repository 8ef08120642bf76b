"""One Bulk 2.0 result page (CSV bytes with its header) into an Arrow record batch, pure.

Arrow's CSV reader parses decimals straight from the text (exact, no float on the way),
ISO timestamps with their `Z`, dates, booleans and integers; an empty cell is null, as in
Salesforce's CSV. What it cannot read directly is read as text and converted afterwards:
multipicklists split on `;`, times (`10:00:00.000Z`), and numbers with more decimals
than their column's scale (refused, or rounded when asked: `fit_decimal`). Every page gets
the same schema, so pages append to one Parquet file or stream.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from salesforce_typed.columnar.schema import FieldSource, arrow_schema
from salesforce_typed.core.errors import UsageError
from salesforce_typed.jobs.csv_chunks import CsvDialect

__all__ = ["csv_header", "fit_decimal", "page_batch", "parse_time", "schema_for_page"]

_Tests = tuple[Callable[[pa.DataType], bool], ...]
_AS_TEXT: _Tests = (pa.types.is_list, pa.types.is_time)


def csv_header(data: bytes | bytearray, dialect: CsvDialect) -> list[str]:
    """The column names of a page (its first line)."""
    end = data.find(b"\n")
    line = (data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    parsed = pacsv.read_csv(
        io.BytesIO(line.encode() + b"\n"),
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
        read_options=pacsv.ReadOptions(autogenerate_column_names=False),
    )
    return list(parsed.column_names)


def schema_for_page(
    source: FieldSource, data: bytes | bytearray, dialect: CsvDialect, *, extra_scale: int = 0
) -> pa.Schema:
    """The schema of a result whose first page is `data`: its columns, typed by `source`.

    Bulk queries refuse compound fields, so a struct column here is text.
    """
    schema = arrow_schema(source, csv_header(data, dialect), extra_scale=extra_scale)
    for i, field in enumerate(schema):
        if pa.types.is_struct(field.type):
            schema = schema.set(i, field.with_type(pa.string()))
    return schema


def parse_time(text: str | None) -> dt.time | None:
    """Salesforce's time (`10:00:00.000Z`, always UTC) as a naive time."""
    if text is None:
        return None
    return dt.time.fromisoformat(text.removesuffix("Z"))


def fit_decimal(
    text: str | None, column: str, kind: pa.Decimal128Type, round_half_up: bool
) -> decimal.Decimal | None:
    """A number for a decimal column: exact, or rounded half up to its scale when asked;
    a number the column cannot hold exactly is refused, naming the way out."""
    if text is None:
        return None
    value = decimal.Decimal(text)
    quantum = decimal.Decimal(1).scaleb(-kind.scale)
    fitted = value.quantize(quantum, decimal.ROUND_HALF_UP)
    if fitted != value and not round_half_up:
        raise UsageError(
            f"{column} = {text} has more decimals than its column's scale ({kind}): "
            "Salesforce keeps what the API sent beyond the field's scale. Pass "
            "extra_scale=N to widen decimal columns, or round_decimals=True to round half up"
        )
    if len(fitted.as_tuple().digits) > kind.precision:
        raise UsageError(f"{column} = {text} does not fit its column ({kind})")
    return fitted


def _read(
    data: bytes | bytearray, schema: pa.Schema, dialect: CsvDialect, text: _Tests
) -> pa.Table:
    read_types = {
        f.name: pa.string() if any(test(f.type) for test in text) else f.type for f in schema
    }
    return pacsv.read_csv(
        pa.BufferReader(data),  # type: ignore[arg-type]  # the page's memory, not a copy
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True),
        read_options=pacsv.ReadOptions(block_size=max(len(data), 1 << 20), use_threads=False),
        convert_options=pacsv.ConvertOptions(
            column_types=read_types,
            strings_can_be_null=True,
            null_values=[""],
            timestamp_parsers=[pacsv.ISO8601],  # type: ignore[list-item]
            include_columns=schema.names,
        ),
    )


def page_batch(
    data: bytes | bytearray, schema: pa.Schema, dialect: CsvDialect, *, round_decimals: bool = False
) -> pa.RecordBatch:
    """The rows of one page (`data`: header plus rows) as a batch of `schema`.

    Decimals parse exactly; only a page holding a number its column cannot hold as is is
    read again with those columns as text, then refused or rounded (`fit_decimal`).
    """
    try:
        table = _read(data, schema, dialect, _AS_TEXT)
    except pa.ArrowInvalid:
        table = _read(data, schema, dialect, (*_AS_TEXT, pa.types.is_decimal))
    columns: list[pa.Array[Any]] = []
    for field in schema:
        column = table.column(field.name).combine_chunks()
        if pa.types.is_list(field.type):
            import pyarrow.compute as pc  # only here: the module costs 13 MB of RSS

            column = pc.split_pattern(column, ";")
        elif pa.types.is_time(field.type):
            column = pa.array([parse_time(v) for v in column.to_pylist()], field.type)
        elif isinstance(field.type, pa.Decimal128Type) and pa.types.is_string(column.type):
            kind, name = field.type, field.name
            fitted = [fit_decimal(v, name, kind, round_decimals) for v in column.to_pylist()]
            column = pa.array(fitted, kind)
        # A cast loads pyarrow.compute (13 MB of RSS): only when the read type differs.
        columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
