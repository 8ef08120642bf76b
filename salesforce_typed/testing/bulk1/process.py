"""What a Bulk API 1.0 batch does in the fake org: DML through the shared `Writer`, and queries
through the SOQL engine, PK chunking included.

What must stay true:
- Writes go through `org.records.Writer`, the path REST, collections and composite use: the same
  describe validation, the same error codes and texts, the same CDC events (with the job's
  `Sforce-Call-Options` client as changeOrigin). Bulk 1.0 is never all-or-none: each record
  succeeds or fails alone, 200 records per transaction as Salesforce processes a batch.
- A value that does not fit its field type fails only its record
  (`INVALID_TYPE_ON_FIELD_IN_RECORD`), where REST would refuse the whole body; an unknown
  column fails the whole batch (`InvalidBatch : Field name not found : X`).
- Batch limits: more records or characters than the settings allow fail the batch with an
  `InvalidBatch : Exceeded ...` stateMessage (the byte limit is refused at upload).
- PK chunking cuts the object's Ids (deleted ones too for queryAll) into ranges of chunkSize
  and runs the original query once per range, `Id >= lo AND Id < hi` added to its WHERE.
- Bulk queries refuse what Salesforce's do: subqueries, aggregates, compound fields.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.bulk1.wire import (
    BatchFailedError,
    RowOutcome,
    csv_rows,
    json_rows,
    query_csv,
    query_json,
    query_xml,
    xml_rows,
)
from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.records import Outcome, Writer, field_index
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import FieldError, FieldIndex, PayloadError, coerce
from salesforce_typed.testing.soql import (
    QueryResult,
    SoqlError,
    compile_query,
    execute_query,
    normalize_id,
    parse_query,
)
from salesforce_typed.testing.soql import ast as soql_ast
from salesforce_typed.testing.soql.plan import ChildSlot, CompoundSlot, ParentSlot, RecordShape

if TYPE_CHECKING:
    from salesforce_typed.testing.bulk1.jobs import Batch, BulkV1Settings, Job

__all__ = ["chunk_ranges", "run_dml", "run_query"]

_QUERY_FAILED: Final = "InvalidBatch : Failed to process query: "
_NOT_ENABLED: Final = _QUERY_FAILED + "FUNCTIONALITY_NOT_ENABLED: "


# -- DML ------------------------------------------------------------------------------------


def _rows(
    job: Job, batch: Batch, settings: BulkV1Settings
) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        text = batch.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchFailedError("InvalidBatch : The batch is not valid UTF-8") from None
    if len(text) > settings.max_chars:
        raise BatchFailedError(
            f"InvalidBatch : Exceeded max character limit of {settings.max_chars}"
        )
    if job.content_type == "CSV":
        header, rows = csv_rows(text)
    else:
        rows = json_rows(batch.body) if job.content_type == "JSON" else xml_rows(batch.body)
        header = list(dict.fromkeys(name for row in rows for name in _columns_of(row)))
    if len(rows) > settings.max_records:
        raise BatchFailedError(
            f"InvalidBatch : Exceeded number of records: {len(rows)}. Number of records "
            f"should be less than or equal to {settings.max_records}"
        )
    return header, rows


def _columns_of(row: Mapping[str, Any]) -> list[str]:
    """A JSON/XML record's columns as CSV would name them (`Account.Ext__c`)."""
    out: list[str] = []
    for key, value in row.items():
        if isinstance(value, Mapping):
            out += [f"{key}.{sub}" for sub in value]
        else:
            out.append(key)
    return out


def _check_columns(index: FieldIndex, header: Sequence[str]) -> None:
    for name in header:
        head, dot, _ = name.partition(".")
        known = index.relationship(head) if dot else index.field(name)
        if known is None:
            raise BatchFailedError(f"InvalidBatch : Field name not found : {name}")


def _type_error(index: FieldIndex, row: Mapping[str, Any]) -> FieldError | None:
    for key, value in row.items():
        field = index.field(key)
        if field is None or value is None or isinstance(value, Mapping):
            continue
        try:
            coerce(field, value)
        except PayloadError:
            name = str(field["name"])
            return FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{index.label(name)}: value not of required type: {value}",
                (name,),
            )
    return None


def _pop(row: dict[str, Any], name: str) -> Any:
    for key in list(row):
        if key.lower() == name.lower():
            return row.pop(key)
    return None


def _result(outcome: Outcome, *, created: bool) -> RowOutcome:
    return RowOutcome(
        id=outcome.id if outcome.success else None,
        success=outcome.success,
        created=created and outcome.success,
        errors=tuple((e.code, e.message, tuple(e.fields)) for e in outcome.errors),
    )


def _failed(error: FieldError) -> RowOutcome:
    return RowOutcome(
        id=None,
        success=False,
        created=False,
        errors=((error.code, error.message, tuple(error.fields)),),
    )


def _apply(
    state: OrgState, job: Job, index: FieldIndex, rows: list[dict[str, Any]]
) -> list[RowOutcome]:
    """One transaction's worth of records through the shared Writer, results in input order."""
    writer = Writer(state, job.origin)
    out: list[RowOutcome | None] = [None] * len(rows)
    pending: list[tuple[int, dict[str, Any]]] = []
    deleting = job.operation in ("delete", "hardDelete")
    for i, row in enumerate(rows):
        error = None if deleting else _type_error(index, row)
        if error is not None:
            out[i] = _failed(error)
        else:
            pending.append((i, dict(row)))
    bodies = [body for _, body in pending]
    try:
        if job.operation == "insert":
            results = [_result(o, created=True) for o in writer.create(index.sobject, bodies)]
        elif job.operation == "update":
            items = [(_pop(b, "Id"), b) for b in bodies]
            results = [_result(o, created=False) for o in writer.update(index.sobject, items)]
        elif job.operation == "upsert":
            field = str(job.external_id)
            items = [(_pop(b, field), b) for b in bodies]
            outcomes = writer.upsert(index.sobject, field, items)
            results = [_result(o, created=bool(o.created)) for o in outcomes]
        else:
            results = _delete(state, writer, index, [_pop(b, "Id") for b in bodies], job)
    except SfError as exc:  # a body the Writer could not deserialize fails the batch
        raise BatchFailedError(f"InvalidBatch : {exc.entry()['message']}") from None
    for (i, _), result in zip(pending, results, strict=True):
        out[i] = result
    return [o for o in out if o is not None]


def _delete(
    state: OrgState, writer: Writer, index: FieldIndex, raw_ids: list[Any], job: Job
) -> list[RowOutcome]:
    """Soft delete through the Writer (CDC DELETE events); hardDelete then purges the rows."""
    records = store(state)
    wrong = FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    ids = [normalize_id(r) if isinstance(r, str) else None for r in raw_ids]
    foreign = [i is not None and state.schema.by_prefix(i[:3]) != index.sobject for i in ids]
    with records.transaction():
        outcomes = writer.delete([r for r, bad in zip(raw_ids, foreign, strict=True) if not bad])
        if job.operation == "hardDelete":
            for outcome in outcomes:
                if outcome.success and outcome.id:
                    records.hard_delete(index.sobject, outcome.id)
    done = iter(outcomes)
    return [_failed(wrong) if bad else _result(next(done), created=False) for bad in foreign]


async def run_dml(
    state: OrgState, job: Job, batch: Batch, settings: BulkV1Settings
) -> list[RowOutcome]:
    # Off the event loop: a 10 MB body must not hold up every other request while it parses.
    header, rows = await asyncio.to_thread(_rows, job, batch, settings)
    index = field_index(state, job.sobject)
    if index is None:
        raise BatchFailedError(f"InvalidBatch : Unable to find object: {job.sobject}")
    _check_columns(index, header)
    results: list[RowOutcome] = []
    mode = latency(state)
    for start in range(0, len(rows), max(settings.dml_chunk, 1)):
        began = mode.clock()
        results += _apply(state, job, index, rows[start : start + settings.dml_chunk])
        batch.processed = len(results)
        batch.failed = sum(not r.success for r in results)
        spent = mode.clock() - began
        await asyncio.sleep(0)  # let the server answer polls between chunks
        # realistic-latency mode: the chunk's own time counts toward its server work
        await mode.work(min(max(settings.dml_chunk, 1), len(rows) - start), spent=spent)
    return results


# -- queries --------------------------------------------------------------------------------


def _parse(soql: str) -> soql_ast.Query:
    try:
        return parse_query(soql)
    except SoqlError as exc:
        raise BatchFailedError(f"{_QUERY_FAILED}{exc.error_code}: {exc.message}") from None


def _columns(shape: RecordShape, prefix: str = "") -> tuple[list[str], set[str]]:
    """CSV columns (`Owner.Name`) and the paths of date/datetime fields (JSON millis)."""
    columns: list[str] = []
    dates: set[str] = set()
    for slot in shape.slots:
        if isinstance(slot, ChildSlot):
            raise BatchFailedError(
                _NOT_ENABLED + "Aggregate Relationships not supported in Bulk Query"
            )
        if isinstance(slot, CompoundSlot):
            raise BatchFailedError(
                _NOT_ENABLED + "Selecting compound data not supported in Bulk Query"
            )
        if isinstance(slot, ParentSlot):
            sub, sub_dates = _columns(slot.shape, f"{prefix}{slot.key}.")
            columns += sub
            dates |= sub_dates
            continue
        columns.append(prefix + slot.key)
        if slot.field_type in ("date", "datetime"):
            dates.add(prefix + slot.key)
    return columns, dates


def _with_range(
    where: soql_ast.Condition | None, lo: str | None, hi: str | None
) -> soql_ast.Condition | None:
    pos = soql_ast.Pos(1, 1)
    conditions: list[soql_ast.Condition] = []
    bounds: tuple[tuple[soql_ast.CompareOp, str | None], ...] = ((">=", lo), ("<", hi))
    for op, value in bounds:
        if value is not None:
            literal = soql_ast.StringLit(value=value, like_pattern=value, pos=pos)
            path = soql_ast.Path(parts=("Id",), pos=pos)
            conditions.append(soql_ast.Comparison(left=path, op=op, value=literal, pos=pos))
    if where is not None:
        conditions.append(where)
    if len(conditions) <= 1:
        return conditions[0] if conditions else None
    return soql_ast.BoolOp(op="AND", operands=tuple(conditions))


def _now(state: OrgState) -> dt.datetime:
    return dt.datetime.fromtimestamp(state.clock(), dt.UTC)


def chunk_ranges(
    state: OrgState, job: Job, batch: Batch, size: int
) -> list[tuple[str | None, str | None]]:
    """Id ranges of `size` rows over the whole object; the query must compile first."""
    soql = batch.body.decode("utf-8", "replace")
    query = _parse(soql)
    records = store(state)
    include_deleted = job.operation == "queryAll"
    with records.lock:
        try:
            compiled = compile_query(
                state.schema.soql_schema(),
                query,
                source=soql,
                now=_now(state),
                include_deleted=include_deleted,
            )
            ids_query = f"SELECT Id FROM {compiled.object_name} ORDER BY Id"
            result = execute_query(
                records.conn,
                state.schema.soql_schema(),
                ids_query,
                include_deleted=include_deleted,
                now=_now(state),
            )
            ids = [str(row["Id"]) for row in result]
        except SoqlError as exc:
            raise BatchFailedError(f"{_QUERY_FAILED}{exc.error_code}: {exc.message}") from None
    if compiled.shape is None:
        raise BatchFailedError(_NOT_ENABLED + "Aggregate queries are not supported in Bulk Query")
    _columns(compiled.shape)
    starts = ids[::size]
    if not starts:
        return [(None, None)]
    return [(lo, starts[n + 1] if n + 1 < len(starts) else None) for n, lo in enumerate(starts)]


async def run_query(
    state: OrgState, job: Job, batch: Batch, settings: BulkV1Settings
) -> tuple[list[bytes], int]:
    """The batch's result files (cut every `result_file_rows` rows) and its row count."""
    soql = batch.body.decode("utf-8", "replace")
    query = _parse(soql)
    if batch.id_range is not None:
        query = attrs.evolve(query, where=_with_range(query.where, *batch.id_range))
    records = store(state)
    with records.lock:
        try:
            compiled = compile_query(
                state.schema.soql_schema(),
                query,
                source=soql,
                now=_now(state),
                include_deleted=job.operation == "queryAll",
            )
            if compiled.kind != "records" or compiled.shape is None:
                raise BatchFailedError(
                    _NOT_ENABLED + "Aggregate queries are not supported in Bulk Query"
                )
            columns, dates = _columns(compiled.shape)
            result = QueryResult(records.conn, compiled, api_version=job.api_version)
            rows = list(result)
        except SoqlError as exc:
            raise BatchFailedError(f"{_QUERY_FAILED}{exc.error_code}: {exc.message}") from None
    size = max(settings.result_file_rows, 1)
    pieces = [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]
    files = []
    for piece in pieces:
        if job.content_type == "JSON":
            files.append(query_json(piece, frozenset(dates)))
        elif job.content_type == "XML":
            files.append(query_xml(piece))
        else:
            files.append(query_csv(columns, piece))
        await asyncio.sleep(0)
        await latency(state).work(len(piece))  # realistic-latency mode: server time
    return files, len(rows)
