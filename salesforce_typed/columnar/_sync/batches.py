# DO NOT EDIT: generated from salesforce_typed/columnar/_async/batches.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/columnar/_async/batches.py`: its docstring there says what must stay true."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from salesforce_typed.bulk2._sync.query import Bulk2Query
from salesforce_typed.bulk2._sync.transport import ResponseMeta
from salesforce_typed.bulk2.wire import build_query_results, parse_locator
from salesforce_typed.columnar.csv_pages import page_batch, schema_for_page
from salesforce_typed.columnar.files import BatchSink, Written, open_sink
from salesforce_typed.columnar.json_rows import rows_batch, rows_schema
from salesforce_typed.columnar.schema import FieldSource
from salesforce_typed.core.models import Record, resolve_sobject
from salesforce_typed.rest._sync.client import Query

__all__ = [
    "arrow_batches",
    "bulk2_batches",
    "rest_batches",
    "write_arrow",
    "write_jsonl",
    "write_parquet",
]


def arrow_batches(
    query: Bulk2Query[Any] | Query[Any],
    fields: FieldSource | None = None,
    *,
    extra_scale: int = 0,
    round_decimals: bool = False,
) -> Iterator[pa.RecordBatch]:
    """One record batch per page of `query` (Bulk 2.0 or REST), typed by `fields` (a model
    or `fields_from_describe(...)`; default: the pager's model; unknown columns are text).

    A number with more decimals than its field's scale (Salesforce keeps what the API sent)
    raises UsageError unless `extra_scale` widens decimal columns enough to hold it, or
    `round_decimals` rounds it half up to the scale.
    """
    if isinstance(query, Bulk2Query):
        return bulk2_batches(query, fields, extra_scale=extra_scale, round_decimals=round_decimals)
    return rest_batches(query, fields, extra_scale=extra_scale, round_decimals=round_decimals)


def bulk2_batches(
    query: Bulk2Query[Any],
    fields: FieldSource | None = None,
    *,
    extra_scale: int = 0,
    round_decimals: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Each remaining Bulk 2.0 result page as a batch: with `parallel=N` on the query, the
    pages `resultPages` lists, N downloading while one is converted; else by locator."""
    source = query.model if fields is None else fields
    job = query.start()
    schema: pa.Schema | None = None
    listing = query._listing_for(job, query.parallel)
    if listing is not None and query.parallel is not None:
        for spool, _ in query._listed(job, listing, query.parallel, query._page_file):
            with spool:  # the pages under way wait on disk: only this one is read in
                page = spool.read()
            if schema is None and _has_rows(page):
                schema = schema_for_page(source, page, job.dialect, extra_scale=extra_scale)
            if schema is not None:
                batch = page_batch(page, schema, job.dialect, round_decimals=round_decimals)
                del page  # the bytes go before the batch is written, not after
                query.records_read += batch.num_rows
                query._report(job)
                yield batch
        query.done = True
    transport = query._bulk.transport
    while not query.done:
        meta = ResponseMeta()
        spec = build_query_results(job.id, locator=query.locator, page_size=query.page_size)
        body = bytearray()  # grown in place: a list of chunks and their join would be 2x
        for chunk in transport.raw(spec, meta):
            body += chunk
        if schema is None and _has_rows(body):
            schema = schema_for_page(source, body, job.dialect, extra_scale=extra_scale)
        found = None
        if schema is not None:
            found = page_batch(body, schema, job.dialect, round_decimals=round_decimals)
        del body  # the bytes go before the batch is written, not after
        query.records_read += 0 if found is None else found.num_rows
        query.locator = parse_locator(meta.headers or {})
        query.done = query.locator is None
        query._report(job)
        if found is not None:
            yield found


def _has_rows(page: bytes | bytearray) -> bool:
    """Anything but blanks (without `strip()`: a copy of the page)."""
    return bool(page) and not page.isspace()


def rest_batches(
    query: Query[Any],
    fields: FieldSource | None = None,
    *,
    extra_scale: int = 0,
    round_decimals: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Each REST query page as a batch; columns from the first row (parents dotted)."""
    schema: pa.Schema | None = None
    for page in query._raw_pages():
        if not page.records:
            continue
        if schema is None:
            # Each row names its sObject: that model of the client's package types it.
            kind = str((page.records[0].get("attributes") or {}).get("type", ""))
            package = query._client.package
            source = fields or (resolve_sobject(package, kind) if package else Record)
            schema = rows_schema(source, page.records[0], extra_scale=extra_scale)
        yield rows_batch(page.records, schema, round_decimals=round_decimals)


def _drain(batches: Iterable[pa.RecordBatch], sink: BatchSink) -> Written:
    """Every batch into `sink`, then renamed into place (a crash leaves only `.part`)."""
    try:
        for batch in batches:
            sink.write(batch)
    except BaseException:
        sink.abandon()
        raise
    return sink.finish()


def write_parquet(
    batches: Iterable[pa.RecordBatch], path: str | os.PathLike[str]
) -> Written:
    """A Parquet file with one row group per batch (page), split at 25,000 rows (`ROW_GROUP`:
    the writer buffers a row group); zstd-compressed."""
    return _drain(batches, open_sink("parquet", path))


def write_arrow(
    batches: Iterable[pa.RecordBatch], path: str | os.PathLike[str]
) -> Written:
    """An Arrow IPC stream file (`pyarrow.ipc.open_stream` reads it)."""
    return _drain(batches, open_sink("arrow", path))


def write_jsonl(
    batches: Iterable[pa.RecordBatch], path: str | os.PathLike[str]
) -> Written:
    """One JSON object a row; decimals as their exact text, datetimes as ISO 8601."""
    return _drain(batches, open_sink("jsonl", path))
