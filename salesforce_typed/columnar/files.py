"""Record batches into files: Parquet, an Arrow IPC stream, JSON lines.

A sink takes batches one at a time (nothing is held but the writer's own buffers) and writes
to `<path>.part`, renamed when finished: a crash never leaves a file that looks complete.
Parquet gets one row group per batch, i.e. per result page, split at `ROW_GROUP` rows: the
writer buffers a whole row group, and 25,000 rows of the benchmark's Opportunities (CLI pages
are 50,000) peak 10 MB lower.

Memory: the Parquet writer is `pyarrow._parquet`'s, the one `pyarrow.parquet.ParquetWriter`
wraps. `pyarrow.parquet` itself loads `pyarrow.fs` (S3, GCS, Azure, HDFS
bindings: 11 MB of RSS) that a local file never uses; it is the fallback should a pyarrow
release move the class.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

import attrs
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc

__all__ = ["FORMATS", "ROW_GROUP", "BatchSink", "Format", "Written", "open_sink"]

Format = Literal["parquet", "arrow", "jsonl"]
FORMATS: tuple[Format, ...] = ("parquet", "arrow", "jsonl")
ROW_GROUP = 25_000


@attrs.frozen(kw_only=True, slots=True)
class Written:
    """What a sink wrote: the file, its rows, its size on disk."""

    path: Path
    rows: int
    bytes: int


class _Writer(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...
    def close(self) -> None: ...


class _Jsonl:
    """A row a line, `_ROWS` rows of Python values at a time, built column by column: the
    costly conversions (aware datetimes, Decimals, dictionary lookups) done in bulk."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, batch: pa.RecordBatch) -> None:
        names, write = batch.schema.names, self._out.write
        for start in range(0, batch.num_rows, _ROWS):
            part = batch.slice(start, _ROWS)
            columns = [_json_values(column) for column in part.columns]
            for row in zip(*columns, strict=True):
                # Written one by one: each dumps() result holds a 4 KB buffer while alive.
                line = dict(zip(names, row, strict=True))
                write(orjson.dumps(line, default=_json_default, option=_NEWLINE))

    def close(self) -> None:
        self._out.close()


_ROWS = 8192
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def _json_values(column: pa.Array[Any]) -> list[Any]:
    """A column as the values orjson writes as `to_pylist()` would have them written."""
    kind = column.type
    if isinstance(column, pa.DictionaryArray):
        words = column.dictionary.to_pylist()
        return [None if i is None else words[i] for i in column.indices.to_pylist()]
    if isinstance(kind, pa.TimestampType) and kind.tz in ("UTC", "+00:00"):
        naive: list[Any] = column.view(pa.timestamp(kind.unit)).to_pylist()
        return [None if v is None else v.isoformat() + "+00:00" for v in naive]
    if isinstance(kind, pa.Decimal128Type):
        return [None if v is None else format(v, "f") for v in column.to_pylist()]
    if pa.types.is_date32(kind):  # few distinct days: each one's text made once
        days: list[Any] = column.view(pa.int32()).to_pylist()
        text = {d: (_EPOCH + dt.timedelta(days=d)).isoformat() for d in set(days) - {None}}
        return [None if d is None else text[d] for d in days]
    return column.to_pylist()


_EPOCH = dt.date(1970, 1, 1)


class _Parquet:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_table(pa.Table.from_batches([batch]), row_group_size=ROW_GROUP)

    def close(self) -> None:
        self._writer.close()


def _parquet_writer(path: Path, schema: pa.Schema) -> _Writer:
    """zstd, a row group per batch (at most `ROW_GROUP` rows), `pyarrow.parquet`'s defaults
    otherwise, but dictionary pages for dictionary columns (picklists) only: for ids and
    names, mostly unique, they only cost (50,000 Opportunities a page: 8 MB of RSS, and a
    file 2.8x the size)."""
    picklists = [f.name for f in schema if pa.types.is_dictionary(f.type)]
    try:
        from pyarrow._parquet import ParquetWriter
    except ImportError:  # pragma: no cover - a pyarrow that moved it
        import pyarrow.parquet as pq

        dictionary: Any = picklists  # the stubs say bool; a list of columns is documented
        return _Parquet(
            pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=dictionary)
        )
    writer = ParquetWriter(
        str(path),
        schema,
        compression="ZSTD",
        version="2.6",
        use_dictionary=picklists,
        writer_engine_version="V2",
    )
    return _Parquet(writer)


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


class BatchSink:
    """Batches into one file of `kind`; the schema is the first batch's."""

    def __init__(self, kind: Format, path: str | os.PathLike[str]) -> None:
        if kind not in FORMATS:
            raise ValueError(f"unknown format {kind!r} (one of {', '.join(FORMATS)})")
        self.kind = kind
        self.path = Path(path)
        self.part = self.path.with_name(self.path.name + ".part")
        self.rows = 0
        self._writer: _Writer | None = None

    def _open(self, schema: pa.Schema) -> _Writer:
        if self.kind == "parquet":
            return _parquet_writer(self.part, schema)
        if self.kind == "arrow":
            return ipc.new_stream(pa.OSFile(str(self.part), "wb"), schema)
        return _Jsonl(self.part.open("wb"))

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = self._open(batch.schema)
        self._writer.write(batch)
        self.rows += batch.num_rows

    def finish(self) -> Written:
        """Close and rename into place; no batch at all writes an empty file."""
        if self._writer is None:
            self.part.write_bytes(b"")
        else:
            self._writer.close()
        os.replace(self.part, self.path)
        return Written(path=self.path, rows=self.rows, bytes=self.path.stat().st_size)

    def abandon(self) -> None:
        """Close and remove the partial file."""
        if self._writer is not None:
            self._writer.close()
        self.part.unlink(missing_ok=True)


def open_sink(kind: Format, path: str | os.PathLike[str]) -> BatchSink:
    return BatchSink(kind, path)
