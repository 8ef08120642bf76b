"""What `salesforce-typed bulk extract --format ...` and `bulk load FILE.parquet` call.

Extract: a Bulk 2.0 query typed by the FROM object's generated model, page by page into a
Parquet file, an Arrow IPC stream or JSON lines (CSV keeps the byte-for-byte path of
`query_to_csv`). Load: a Parquet file read one row group at a time, each row handed to the
ordinary CSV ingest as values it formats the Salesforce way (decimals as their text,
datetimes in UTC, multipicklists joined with `;`); a null cell is left empty (the field is
left alone), as an empty CSV cell would be.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from salesforce_typed.bulk2._sync.client import Bulk2
from salesforce_typed.bulk2.memory import lean_malloc
from salesforce_typed.bulk2.window import DEFAULT_PARALLEL
from salesforce_typed.bulk2.wire import ProgressCallback
from salesforce_typed.columnar._sync.batches import bulk2_batches
from salesforce_typed.columnar.files import FORMATS, Format, Written, open_sink
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.unset import UNSET
from salesforce_typed.jobs.csv_chunks import format_value

__all__ = [
    "extract",
    "extract_command",
    "is_parquet",
    "parquet_as_csv",
    "parquet_columns",
    "parquet_rows",
]


def extract(
    bulk: Bulk2,
    soql: str,
    path: str | os.PathLike[str],
    kind: Format,
    *,
    include_deleted: bool = False,
    page_size: int | None = None,
    progress: ProgressCallback | None = None,
    parallel: int | None = None,
    extra_scale: int = 0,
    round_decimals: bool = False,
) -> tuple[str, Written]:
    """(job id, what was written): every page of `soql` into `path` as `kind`. As
    `query_to_csv`, listed pages download in parallel unless a `page_size` is asked for."""
    if parallel is None and page_size is None:
        parallel = DEFAULT_PARALLEL
    _lean_memory_pool()
    query = bulk.query(
        soql,
        page_size=page_size,
        include_deleted=include_deleted,
        progress=progress,
        parallel=parallel,
    )
    sink = open_sink(kind, path)
    try:
        batches = bulk2_batches(query, extra_scale=extra_scale, round_decimals=round_decimals)
        for batch in batches:
            sink.write(batch)
    except BaseException:
        sink.abandon()
        raise
    return str(query.job_id), sink.finish()


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """A file named `.parquet`, or one that starts with Parquet's magic bytes."""
    if os.fspath(path).lower().endswith(".parquet"):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"PAR1"
    except OSError:
        return False


def parquet_columns(path: str | os.PathLike[str]) -> list[str]:
    """The file's columns: the ingest's CSV header. Struct columns cannot be loaded."""
    import pyarrow.parquet as pq  # only to load: an extract writes without it (files.py)

    schema = pq.read_schema(os.fspath(path))
    for field in schema:
        if pa.types.is_struct(field.type):
            raise UsageError(
                f"column {field.name!r} is a {field.type}: load its components "
                "(e.g. BillingCity), not the compound field"
            )
    return list(schema.names)


def parquet_rows(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Each row of the file as a mapping, one row group in memory at a time."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(os.fspath(path)) as source:
        for group in range(source.num_row_groups):
            for row in source.read_row_group(group).to_pylist():
                yield {k: UNSET if v is None else v for k, v in row.items()}


def extract_command(
    bulk: Bulk2,
    soql: str,
    out: str | os.PathLike[str],
    kind: str,
    include_deleted: bool,
    page_size: int | None,
    progress: ProgressCallback | None,
    *,
    extra_scale: int = 0,
    round_decimals: bool = False,
) -> None:
    """`bulk extract --format parquet|arrow|jsonl`: write, then print what was written."""
    if kind not in FORMATS:
        raise ValueError(f"--format is csv or one of {', '.join(FORMATS)}, not {kind!r}")
    job_id, written = extract(
        bulk,
        soql,
        out,
        kind,
        include_deleted=include_deleted,
        page_size=page_size,
        progress=progress,
        extra_scale=extra_scale,
        round_decimals=round_decimals,
    )
    print(f"job {job_id}: {written.rows} rows, {written.bytes} bytes to {written.path} ({kind})")


def parquet_as_csv(path: str | os.PathLike[str]) -> Path:
    """The Parquet file as a Bulk CSV beside it (`<name>.csv`), written row group by row
    group, for `bulk load`: the load (and its job journal) then reads a plain CSV file. A
    CSV newer than the Parquet file is reused, so a re-run after a crash loads the same
    bytes. Null cells are left empty (the field is left alone)."""
    source = Path(path)
    target = source.with_name(source.name + ".csv")
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    columns = parquet_columns(source)
    part = target.with_name(target.name + ".part")
    with part.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in parquet_rows(source):
            writer.writerow([format_value(row[c]) for c in columns])
    os.replace(part, target)
    return target


def _lean_memory_pool() -> None:
    """Arrow's default pool (mimalloc) keeps freed pages and peaked 60 MB above jemalloc (or
    the system allocator) on a 1M-row extract; jemalloc with no decay time hands a page's
    memory back as soon as it is freed. glibc's own settings: `bulk2/memory.py`."""
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())
    lean_malloc()
