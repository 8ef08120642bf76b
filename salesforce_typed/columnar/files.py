"""Record batches into files: Parquet, an Arrow IPC stream, JSON lines.

A sink takes batches one at a time (nothing is held but the writer's own buffers) and writes
to `<path>.part`, renamed when finished: a crash never leaves a file that looks complete.
Parquet gets one row group per batch, i.e. per result page.
"""

from __future__ import annotations

import decimal
import os
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

import attrs
import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

__all__ = ["FORMATS", "BatchSink", "Format", "Written", "open_sink"]

Format = Literal["parquet", "arrow", "jsonl"]
FORMATS: tuple[Format, ...] = ("parquet", "arrow", "jsonl")


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
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, batch: pa.RecordBatch) -> None:
        for row in batch.to_pylist():
            self._out.write(orjson.dumps(row, default=_json_default) + b"\n")

    def close(self) -> None:
        self._out.close()


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
            return pq.ParquetWriter(self.part, schema, compression="zstd")
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
