"""Running a compiled query and shaping rows into Salesforce's REST JSON, page by page.

A `QueryResult` holds one open SQLite cursor and reads only as many rows as it is asked for,
so the HTTP layer can serve `nextRecordsUrl` pages of a million-row result without holding
it in memory. Each page costs one extra statement per child relationship (all parent ids of
the page at once), never one per row. totalSize comes from a separate COUNT, run on first
use.

The cursor is live, not a snapshot: rows written through the same connection between two
`fetch` calls may show up in later pages (Salesforce cursors are snapshots). A caller that
needs snapshots reads through its own connection in WAL mode. Calls into one result are not
thread-safe; serialise them with whatever lock guards the connection.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from typing import Final, cast

from .compiler import compile_soql
from .plan import (
    AggregateSlot,
    ChildSlot,
    CompiledQuery,
    CompoundSlot,
    Params,
    ParentSlot,
    RecordShape,
    ScalarSlot,
)
from .schema import Schema
from .storage import SqlValue, from_storage

JsonValue = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
Record = dict[str, JsonValue]
Row = tuple[SqlValue, ...]

DEFAULT_BATCH_SIZE: Final = 2000


class QueryResult:
    """A lazily read query result: `total_size`, then `fetch(n)` / iteration / `pages()`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        compiled: CompiledQuery,
        *,
        api_version: str = "62.0",
        instance_path_prefix: str = "/services/data",
    ) -> None:
        self.compiled = compiled
        self._conn = conn
        self._sobjects = f"{instance_path_prefix.rstrip('/')}/v{api_version}/sobjects"
        self._cursor: sqlite3.Cursor | None = None
        self._lookahead: Row | None = None
        self._started = compiled.sql is None
        self._total: int | None = None
        self.returned = 0

    def _execute(self, sql: str, params: Params) -> sqlite3.Cursor:
        cursor = self._conn.cursor()
        cursor.row_factory = None  # tuples, whatever the connection's factory is
        return cursor.execute(sql, params)

    @property
    def total_size(self) -> int:
        """Rows (groups for aggregates) the query returns, or the count for COUNT()."""
        if self._total is None:
            row = self._execute(self.compiled.count_sql, self.compiled.params).fetchone()
            self._total = int(row[0])
        return self._total

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        assert self.compiled.sql is not None
        self._cursor = self._execute(self.compiled.sql, self.compiled.params)
        self._lookahead = self._cursor.fetchone()
        if self._lookahead is None:
            self.close()

    @property
    def done(self) -> bool:
        """True once every row has been returned (peeks one row ahead to know)."""
        self._start()
        return self._lookahead is None

    def fetch(self, n: int = DEFAULT_BATCH_SIZE) -> list[Record]:
        """The next at most `n` records (fewer only at the end)."""
        if n < 1:
            raise ValueError("fetch needs n >= 1")
        self._start()
        if self._lookahead is None or self._cursor is None:
            return []
        rows = [self._lookahead]
        if n > 1:  # fetchmany(0) would mean "arraysize rows", not none
            rows.extend(self._cursor.fetchmany(n - 1))
        self._lookahead = self._cursor.fetchone()
        if self._lookahead is None:
            self.close()
        self.returned += len(rows)
        if self.compiled.kind == "aggregate":
            return [self._aggregate(self.compiled.aggregate_slots, row) for row in rows]
        assert self.compiled.shape is not None
        return self._records(self.compiled.shape, rows)

    def next_page(self, n: int = DEFAULT_BATCH_SIZE) -> Record:
        """One REST page body without `nextRecordsUrl`, which only the HTTP layer can mint."""
        records = self.fetch(n)
        page: Record = {"totalSize": self.total_size, "done": self.done}
        page["records"] = cast(JsonValue, records)
        return page

    def pages(self, size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[Record]]:
        while not self.done:
            yield self.fetch(size)

    def __iter__(self) -> Iterator[Record]:
        for page in self.pages():
            yield from page

    @property
    def records(self) -> Iterator[Record]:
        """The remaining records, read lazily."""
        return iter(self)

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        self._lookahead = None

    # Shaping -----------------------------------------------------------------------------

    def _aggregate(self, slots: tuple[AggregateSlot, ...], row: Row) -> Record:
        record: Record = {"attributes": {"type": "AggregateResult"}}
        for slot in slots:
            record[slot.key] = from_storage(slot.value_type, row[slot.column])
        return record

    def _records(self, shape: RecordShape, rows: list[Row]) -> list[Record]:
        records = [self._record(shape, row) for row in rows]
        for slot in shape.slots:
            if isinstance(slot, ChildSlot) and rows:
                self._attach_children(slot, shape, rows, records)
        return records

    def _record(self, shape: RecordShape, row: Row) -> Record:
        record_id = str(row[shape.id_column])
        sobject = shape.object_name if shape.type_column is None else str(row[shape.type_column])
        url = f"{self._sobjects}/{sobject}/{record_id}"
        record: Record = {"attributes": {"type": sobject, "url": url}}
        for slot in shape.slots:
            if isinstance(slot, ScalarSlot):
                value = row[slot.column]
                if slot.field_type == "base64" and value is not None:
                    record[slot.key] = f"{url}/{slot.key}"  # blobs read back as a URL
                else:
                    record[slot.key] = from_storage(slot.field_type, value)
            elif isinstance(slot, CompoundSlot):
                parts: dict[str, JsonValue] = {
                    key: from_storage(ftype, row[column]) for key, column, ftype in slot.parts
                }
                empty = all(v is None for v in parts.values())
                record[slot.key] = None if empty else parts
            elif isinstance(slot, ParentSlot):
                has_parent = row[slot.shape.id_column] is not None
                record[slot.key] = self._record(slot.shape, row) if has_parent else None
            else:
                record[slot.key] = None  # filled per page by _attach_children
        return record

    def _attach_children(
        self, slot: ChildSlot, shape: RecordShape, rows: list[Row], records: list[Record]
    ) -> None:
        plan = slot.plan
        parent_ids = [row[shape.id_column] for row in rows]
        params = {**plan.params, "parent_ids": json.dumps(parent_ids)}
        child_rows = cast(list[Row], self._execute(plan.sql, params).fetchall())
        children = self._records(plan.shape, child_rows)
        by_parent: dict[SqlValue, list[JsonValue]] = {}
        for row, child in zip(child_rows, children, strict=True):
            by_parent.setdefault(row[plan.fk_column], []).append(child)
        for parent_id, record in zip(parent_ids, records, strict=True):
            kids = by_parent.get(parent_id)
            record[slot.key] = (
                {"totalSize": len(kids), "done": True, "records": kids} if kids else None
            )


def execute_query(
    conn: sqlite3.Connection,
    schema: Schema,
    soql: str,
    *,
    include_deleted: bool = False,
    now: dt.datetime | None = None,
    api_version: str = "62.0",
    instance_path_prefix: str = "/services/data",
) -> QueryResult:
    """Compile `soql` and open it: `include_deleted` gives queryAll semantics.

    Raises SoqlError (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...) before touching
    the database when the query is wrong.
    """
    compiled = compile_soql(schema, soql, now=now, include_deleted=include_deleted)
    return QueryResult(
        conn, compiled, api_version=api_version, instance_path_prefix=instance_path_prefix
    )
