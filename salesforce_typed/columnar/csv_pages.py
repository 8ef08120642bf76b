"""One Bulk 2.0 result page (CSV bytes with its header) into an Arrow record batch, pure.

Arrow's CSV reader parses decimals straight from the text (exact, no float on the way),
ISO timestamps with their `Z`, dates, booleans and integers; an empty cell is null, as in
Salesforce's CSV. What it cannot read directly is read as text and converted afterwards:
multipicklists split on `;`, times (`10:00:00.000Z`), and numbers whose text must be
rescaled. Every page gets the same schema, so pages append to one Parquet file or stream.
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
from salesforce_typed.jobs.csv_chunks import CsvDialect

__all__ = ["csv_header", "page_batch", "parse_time", "schema_for_page"]

_Tests = tuple[Callable[[pa.DataType], bool], ...]
_AS_TEXT: _Tests = (pa.types.is_list, pa.types.is_time)


def csv_header(data: bytes, dialect: CsvDialect) -> list[str]:
    """The column names of a page (its first line)."""
    end = data.find(b"\n")
    line = (data if end < 0 else data[:end]).decode("utf-8").rstrip("\r")
    parsed = pacsv.read_csv(
        io.BytesIO(line.encode() + b"\n"),
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
        read_options=pacsv.ReadOptions(autogenerate_column_names=False),
    )
    return list(parsed.column_names)


def schema_for_page(source: FieldSource, data: bytes, dialect: CsvDialect) -> pa.Schema:
    """The schema of a result whose first page is `data`: its columns, typed by `model`.

    Bulk queries refuse compound fields, so a struct column here is text.
    """
    schema = arrow_schema(source, csv_header(data, dialect))
    for i, field in enumerate(schema):
        if pa.types.is_struct(field.type):
            schema = schema.set(i, field.with_type(pa.string()))
    return schema


def parse_time(text: str | None) -> dt.time | None:
    """Salesforce's time (`10:00:00.000Z`, always UTC) as a naive time."""
    if text is None:
        return None
    return dt.time.fromisoformat(text.removesuffix("Z"))


def rescale(text: str | None, scale: int) -> decimal.Decimal | None:
    """A number with more decimals than its field's scale, rounded half up as Salesforce
    rounds a stored currency, percent or number."""
    if text is None:
        return None
    return decimal.Decimal(text).quantize(decimal.Decimal(1).scaleb(-scale), decimal.ROUND_HALF_UP)


def _read(data: bytes, schema: pa.Schema, dialect: CsvDialect, text: _Tests) -> pa.Table:
    read_types = {
        f.name: pa.string() if any(test(f.type) for test in text) else f.type for f in schema
    }
    return pacsv.read_csv(
        io.BytesIO(data),
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


def page_batch(data: bytes, schema: pa.Schema, dialect: CsvDialect) -> pa.RecordBatch:
    """The rows of one page (`data`: header plus rows) as a batch of `schema`.

    Decimals parse exactly; only a page holding a number with more decimals than its
    field's scale is read again with those columns as text, and rounded (`rescale`).
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
        elif pa.types.is_decimal(field.type) and pa.types.is_string(column.type):
            scale = field.type.scale
            column = pa.array([rescale(v, scale) for v in column.to_pylist()], field.type)
        columns.append(column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)
