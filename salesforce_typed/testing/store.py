"""Record storage for the fake org: one SQLite database, one table per sObject.

The storage convention is the SOQL engine's (`soql.storage`): what is written here is what
queries read. In memory by default; `--data-dir` makes it a file that survives restarts.
Every write goes through `RecordStore` so audit fields, ids and the deleted log stay right.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from salesforce_typed.testing.soql import (
    ObjectDef,
    create_index_sqls,
    create_table_sql,
    from_storage,
    to_storage,
)
from salesforce_typed.testing.soql import format_datetime as _fmt_dt
from salesforce_typed.testing.soql.storage import quote_ident
from salesforce_typed.testing.state import OrgState

_DELETED_LOG = """CREATE TABLE IF NOT EXISTS "_deleted_log" (
  "Id" TEXT PRIMARY KEY, "SObject" TEXT NOT NULL, "DeletedDate" TEXT NOT NULL)"""


class RecordStore:
    """Thread-safe access to the org's SQLite database (one connection, one lock)."""

    def __init__(self, state: OrgState, path: Path | None = None) -> None:
        self.state = state
        self.path = path
        target = str(path) if path is not None else ":memory:"
        self.conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.RLock()
        self._tables: set[str] = set()
        self.conn.execute(_DELETED_LOG)
        self.ensure_tables()

    def ensure_tables(self) -> None:
        """Create (or extend with new columns) a table per sObject of the schema."""
        with self.lock:
            for obj in self.state.schema.soql_schema():
                self._ensure(obj)

    def _ensure(self, obj: ObjectDef) -> None:
        self.conn.execute(create_table_sql(obj))
        have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({quote_ident(obj.name)})")}
        for f in obj.stored_fields():
            if f.name not in have:
                self.conn.execute(
                    f"ALTER TABLE {quote_ident(obj.name)} ADD COLUMN {quote_ident(f.name)}"
                )
        for sql in create_index_sqls(obj):
            self.conn.execute(sql)
        count = self.conn.execute(f"SELECT COUNT(*) FROM {quote_ident(obj.name)}").fetchone()[0]
        prefix = self.state.schema.describe(obj.name) or {}
        if prefix.get("keyPrefix"):
            self.state.ids.seen(str(prefix["keyPrefix"]), int(count))
        self._tables.add(obj.name)

    def obj(self, sobject: str) -> ObjectDef:
        found = self.state.schema.soql_schema().object(sobject)
        if found is None:
            raise KeyError(sobject)
        if found.name not in self._tables:
            with self.lock:
                self._ensure(found)
        return found

    def now(self) -> str:
        import datetime as dt

        return _fmt_dt(dt.datetime.fromtimestamp(self.state.clock(), dt.UTC))

    # -- primitives (values are already validated, canonical field names) -------------------

    def insert_many(self, sobject: str, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Insert validated rows; assigns Id and audit fields. Returns the ids in order."""
        obj = self.obj(sobject)
        doc = self.state.schema.describe(obj.name) or {}
        prefix = str(doc.get("keyPrefix") or "a00")
        user = self.state.config.user_id
        ids: list[str] = []
        with self.lock:
            now = self.now()
            self.conn.execute("BEGIN")
            try:
                for row in rows:
                    values = dict(row)
                    new_id = self.state.ids.new(prefix)
                    values["Id"] = new_id
                    for audit, value in (
                        ("CreatedDate", now),
                        ("LastModifiedDate", now),
                        ("SystemModstamp", now),
                        ("CreatedById", user),
                        ("LastModifiedById", user),
                        ("OwnerId", user),
                    ):
                        if obj.field(audit) is not None and values.get(audit) is None:
                            values[audit] = value
                    self._insert(obj, values)
                    ids.append(new_id)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return ids

    def _insert(self, obj: ObjectDef, values: dict[str, Any]) -> None:
        cols = []
        params = []
        for name, value in values.items():
            f = obj.field(name)
            if f is None or f.is_compound:
                continue
            cols.append(quote_ident(f.name))
            params.append(to_storage(f, value))
        marks = ",".join("?" * len(cols))
        self.conn.execute(
            f"INSERT INTO {quote_ident(obj.name)} ({','.join(cols)}) VALUES ({marks})", params
        )

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> bool:
        """Update one live record; False when it does not exist (or is deleted)."""
        obj = self.obj(sobject)
        values = dict(values)
        now = self.now()
        for audit, value in (
            ("LastModifiedDate", now),
            ("SystemModstamp", now),
            ("LastModifiedById", self.state.config.user_id),
        ):
            if obj.field(audit) is not None:
                values[audit] = value
        sets = []
        params: list[Any] = []
        for name, value in values.items():
            f = obj.field(name)
            if f is None or f.is_compound or f.name == "Id":
                continue
            sets.append(f"{quote_ident(f.name)} = ?")
            params.append(to_storage(f, value))
        params.append(record_id)
        with self.lock:
            cur = self.conn.execute(
                f"UPDATE {quote_ident(obj.name)} SET {', '.join(sets)} "
                f'WHERE "Id" = ? AND "IsDeleted" = 0',
                params,
            )
        return cur.rowcount > 0

    def get(
        self, sobject: str, record_id: str, *, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """The stored row as REST JSON values (no compound fields, no attributes)."""
        obj = self.obj(sobject)
        where = '"Id" = ?' + ("" if include_deleted else ' AND "IsDeleted" = 0')
        with self.lock:
            cur = self.conn.execute(
                f"SELECT * FROM {quote_ident(obj.name)} WHERE {where}", [record_id]
            )
            row = cur.fetchone()
            if row is None:
                return None
            names = [d[0] for d in cur.description]
        out: dict[str, Any] = {}
        for name, value in zip(names, row, strict=True):
            f = obj.field(name)
            out[name] = from_storage(f.type if f else "string", value)
        return out

    def find_ids(self, sobject: str, field: str, value: Any) -> list[str]:
        """Live records whose `field` equals `value` (external id lookups)."""
        obj = self.obj(sobject)
        f = obj.field(field)
        if f is None:
            raise KeyError(field)
        with self.lock:
            rows = self.conn.execute(
                f'SELECT "Id" FROM {quote_ident(obj.name)} WHERE {quote_ident(f.name)} = ? '
                f'AND "IsDeleted" = 0 LIMIT 2',
                [to_storage(f, value)],
            ).fetchall()
        return [r[0] for r in rows]

    def set_deleted(self, sobject: str, record_id: str, deleted: bool) -> bool:
        """Soft delete (recycle bin) or undelete; logs deletions for getDeleted."""
        obj = self.obj(sobject)
        with self.lock:
            cur = self.conn.execute(
                f'UPDATE {quote_ident(obj.name)} SET "IsDeleted" = ?, "SystemModstamp" = ? '
                f'WHERE "Id" = ? AND "IsDeleted" = ?'
                if obj.field("SystemModstamp") is not None
                else f'UPDATE {quote_ident(obj.name)} SET "IsDeleted" = ?, "Id" = "Id" '
                f'WHERE "Id" = ? AND "IsDeleted" = ?',
                [int(deleted), self.now(), record_id, int(not deleted)]
                if obj.field("SystemModstamp") is not None
                else [int(deleted), record_id, int(not deleted)],
            )
            if cur.rowcount and deleted:
                self.conn.execute(
                    'INSERT OR REPLACE INTO "_deleted_log" VALUES (?, ?, ?)',
                    [record_id, obj.name, self.now()],
                )
            elif cur.rowcount:
                self.conn.execute('DELETE FROM "_deleted_log" WHERE "Id" = ?', [record_id])
        return cur.rowcount > 0

    def hard_delete(self, sobject: str, record_id: str) -> bool:
        obj = self.obj(sobject)
        with self.lock:
            cur = self.conn.execute(
                f'DELETE FROM {quote_ident(obj.name)} WHERE "Id" = ?', [record_id]
            )
        return cur.rowcount > 0

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def store(state: OrgState) -> RecordStore:
    """The org's store, created on first use (file-backed when the org has a data dir)."""
    existing = state.extensions.get("store")
    if isinstance(existing, RecordStore):
        return existing
    with state.lock:
        existing = state.extensions.get("store")
        if isinstance(existing, RecordStore):
            return existing
        data_dir = state.extensions.get("data_dir")
        path = None
        if data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            path = Path(data_dir) / "org.sqlite3"
        created = RecordStore(state, path)
        state.extensions["store"] = created
        state.extensions.setdefault("closers", []).append(created.close)
        return created
