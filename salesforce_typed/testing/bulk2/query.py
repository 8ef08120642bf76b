"""Running a Bulk API 2.0 query job in the fake org, and serving its result pages.

The SOQL engine runs the query (under `store.lock`, as every reader of the shared connection
must) and the rows are written once, as CSV, to a spooled file with each row's byte offset.
A page is then the header plus a byte range: locators stay valid for the job's life, as
Salesforce promises, and serving one costs a seek.

What must stay true:
- Columns follow the SELECT (v50+): `Name`, `Account.Name` for a parent path. A parent that
  is null leaves its cells empty. Child subqueries, aggregates and compound fields cannot
  be flattened into CSV and are refused when the job is created.
- Every cell is quoted; null is an empty cell; datetimes are `...000Z`; booleans `true` /
  `false`. The job's delimiter and line ending apply.
- A locator is opaque (base64 of the row offset, `MTAwMDA` style); the last page's
  `Sforce-Locator` is the string `null`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.bulk2.jobs import (
    ABORTED,
    FAILED,
    IN_PROGRESS,
    JOB_COMPLETE,
    BulkJob,
    JobTable,
    spool,
)
from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soql import CompiledQuery, SoqlError, compile_soql, execute_query
from salesforce_typed.testing.soql.plan import (
    ChildSlot,
    CompoundSlot,
    ParentSlot,
    RecordShape,
    ScalarSlot,
)

__all__ = ["check_query", "decode_locator", "encode_locator", "page", "run_query"]

_FETCH: Final = 2000
Cell = Callable[[Any], str]


def check_query(table: JobTable, soql: str, *, include_deleted: bool) -> CompiledQuery:
    """Compile at creation, as Salesforce validates the SOQL before it queues the job."""
    state = table.state
    now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
    try:
        compiled = compile_soql(
            state.schema.soql_schema(), soql, now=now, include_deleted=include_deleted
        )
    except SoqlError as exc:
        raise SfError(400, exc.error_code, exc.message) from None
    if compiled.kind != "records" or compiled.shape is None:
        raise SfError(
            400, "FEATURENOTENABLED", "Aggregate queries are not supported by Bulk API 2.0"
        )
    _columns(compiled.shape)  # raises for what CSV cannot hold
    return compiled


def _number(value: float) -> str:
    text = repr(value)
    return format(value, "f") if "e" in text else text


def _cell_for(field_type: str) -> Cell:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _number(value)
        text = str(value)
        if field_type == "datetime" and text.endswith("+0000"):
            return text[:-5] + "Z"
        return text

    return cell


def _columns(shape: RecordShape, prefix: str = "") -> list[tuple[str, tuple[str, ...], Cell]]:
    """(header name, path into the REST record, formatter) per CSV column."""
    out: list[tuple[str, tuple[str, ...], Cell]] = []
    for slot in shape.slots:
        if isinstance(slot, ScalarSlot):
            out.append((prefix + slot.key, (slot.key,), _cell_for(slot.field_type)))
        elif isinstance(slot, ParentSlot):
            for name, path, cell in _columns(slot.shape, f"{prefix}{slot.key}."):
                out.append((name, (slot.key, *path), cell))
        elif isinstance(slot, ChildSlot):
            raise SfError(
                400, "FEATURENOTENABLED", "Nested queries are not supported by Bulk API 2.0"
            )
        elif isinstance(slot, CompoundSlot):
            raise SfError(
                400,
                "FEATURENOTENABLED",
                f"Compound fields are not supported by Bulk API 2.0: {prefix}{slot.key}",
            )
    return out


def _value(record: Any, path: Sequence[str]) -> Any:
    for step in path:
        if not isinstance(record, dict):
            return None
        record = record.get(step)
    return record


class _Lines:
    """A csv writer sink: one `write` per row, kept as encoded lines."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def write(self, text: str) -> int:
        self.lines.append(text.encode())
        return len(text)


async def run_query(table: JobTable, job: BulkJob) -> None:
    """The job's task: wait for a processing slot, run the query and write every row once,
    a fetch at a time."""
    async with latency(table.state).slot(job.id):
        await _run_query(table, job)


async def _run_query(table: JobTable, job: BulkJob) -> None:
    if not await table.gate(job):
        return
    table.transition(job, IN_PROGRESS)
    started = time.monotonic()
    state = table.state
    st = store(state)
    sink = _Lines()
    writer = csv.writer(
        sink, delimiter=job.delimiter, lineterminator=job.terminator, quoting=csv.QUOTE_ALL
    )
    job.rows = spool()
    position = 0
    try:
        now = dt.datetime.fromtimestamp(state.clock(), dt.UTC)
        with st.lock:
            result = execute_query(
                st.conn,
                state.schema.soql_schema(),
                str(job.query),
                include_deleted=job.operation == "queryAll",
                now=now,
                api_version=job.api_version,
            )
        assert result.compiled.shape is not None
        columns = _columns(result.compiled.shape)
        writer.writerow([name for name, _, _ in columns])
        job.header_line = sink.lines.pop()
        try:
            while job.state == IN_PROGRESS:
                sliced = time.monotonic()
                with st.lock:
                    records = result.fetch(_FETCH)
                if not records:
                    break
                writer.writerows(
                    [cell(_value(r, path)) for _, path, cell in columns] for r in records
                )
                for line in sink.lines:
                    job.offsets.append(position)
                    position += len(line)
                job.rows.write(b"".join(sink.lines))
                sink.lines.clear()
                job.processed += len(records)
                await asyncio.sleep(0)  # polls and other requests run between fetches
                # realistic-latency mode: the slice's own time counts toward its server work
                await latency(state).work(len(records), spent=time.monotonic() - sliced)
        finally:
            with st.lock:
                result.close()
    except (SoqlError, SfError) as exc:
        if job.state == IN_PROGRESS:
            table.transition(job, FAILED, error=str(exc))
    job.offsets.append(position)  # the end of the last row
    job.total_processing_time = int((time.monotonic() - started) * 1000)
    if job.state == IN_PROGRESS:
        table.transition(job, JOB_COMPLETE)
    elif job.state == ABORTED:
        job.rows.close()
        job.rows = None


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int:
    padded = locator + "=" * (-len(locator) % 4)
    try:
        return int(base64.b64decode(padded, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise SfError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}") from None


def page(job: BulkJob, locator: str | None, max_records: int) -> tuple[bytes, str, int]:
    """(body, next locator or `null`, rows) of the page starting at `locator`."""
    total = len(job.offsets) - 1
    start = decode_locator(locator) if locator else 0
    if not 0 <= start <= total:
        raise SfError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}")
    end = min(start + max_records, total)
    body = job.header_line
    if end > start and job.rows is not None:
        job.rows.seek(job.offsets[start])
        body += job.rows.read(job.offsets[end] - job.offsets[start])
    return body, encode_locator(end) if end < total else "null", end - start
