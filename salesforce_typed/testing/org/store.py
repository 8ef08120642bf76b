"""Record storage for the fake org: one SQLite database, one table per sObject.

The storage convention is the SOQL engine's (`soql.storage`): what is written here is what
queries read. In memory by default; `--data-dir` makes it a file that survives restarts.
Every write goes through `RecordStore` so audit fields, ids and the deleted log stay right.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.soql import (
    ObjectDef,
    create_index_sqls,
    create_table_sql,
    from_storage,
    to_storage,
)
from salesforce_typed.testing.soql import format_datetime as _fmt_dt
from salesforce_typed.testing.soql.schema import NUMBER_TYPES, TEXT_TYPES, FieldDef
from salesforce_typed.testing.soql.storage import (
    SqlValue,
    quote_ident,
    storage_converter,
    value_converter,
)

_ID_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_IN_CHUNK = 500  # bound parameters per IN (...) list, well under SQLite's limit

Converter = Callable[[object], SqlValue]

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
        self._savepoints: list[int] = []  # per open savepoint: its mark in _after_commit
        self._after_commit: list[Callable[[], None]] = []
        self._tx_data: dict[str, Any] = {}
        self._converters: dict[FieldDef, Converter] = {}
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
                # declared as create_table_sql does: text compares NOCASE (see storage.py)
                if f.type in TEXT_TYPES:
                    kind = "TEXT COLLATE NOCASE"
                elif f.type in ("boolean", "int"):
                    kind = "INTEGER"
                else:
                    kind = "REAL" if f.type in NUMBER_TYPES else "TEXT"
                self.conn.execute(
                    f"ALTER TABLE {quote_ident(obj.name)} ADD COLUMN {quote_ident(f.name)} {kind}"
                )
        for sql in create_index_sqls(obj):
            self.conn.execute(sql)
        prefix = (self.state.schema.describe(obj.name) or {}).get("keyPrefix")
        if prefix:
            self.state.ids.seen(str(prefix), self._highest(obj, str(prefix)))
        self._tables.add(obj.name)

    def follow_schema(self, sobject: str, dropped: Iterable[str] = ()) -> None:
        """After a run-time schema change: drop the `dropped` columns (and their index), then
        add the describe's new columns, so queries and writes follow the describe."""
        with self.lock:
            obj = self.state.schema.soql_schema().object(sobject)
            if obj is None:
                return
            table = quote_ident(obj.name)
            have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            for name in dropped:
                if name in have:
                    index = quote_ident(f"ix_{obj.name}_{name}")
                    self.conn.execute(f"DROP INDEX IF EXISTS {index}")
                    self.conn.execute(f"ALTER TABLE {table} DROP COLUMN {quote_ident(name)}")
            self._ensure(obj)

    def _highest(self, obj: ObjectDef, prefix: str) -> int:
        """The counter of the highest id `IdFactory` could have made for `prefix` here,
        deleted rows included: numbering goes on above it, never reusing an id."""
        stem = f"{prefix}5g0000"
        found = self.conn.execute(
            f'SELECT MAX("Id") FROM {quote_ident(obj.name)} WHERE "Id" >= ? AND "Id" < ?',
            [stem, f"{prefix}5g0001"],
        ).fetchone()[0]
        counter = 0
        for char in str(found or "")[len(stem) : len(stem) + 6]:
            counter = counter * 62 + _ID_DIGITS.find(char)
        return max(counter, 0)

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
        """Insert validated rows; assigns Id and audit fields. Returns the ids in order.

        Atomic: one savepoint (a transaction of its own unless one is open); rows with the
        same columns go through one `executemany`.
        """
        obj = self.obj(sobject)
        rows = list(rows)
        with self.transaction():
            audits = self._audits(obj)
            ids = self.state.ids.new_many(self._prefix(obj), len(rows))
            # per call, not per row: for each shape of row (its names, the audit fields it
            # left to the call), its stored columns and a converter per name (None: no column)
            shapes: dict[tuple[str, ...], tuple[tuple[str, ...], list[Converter | None]]] = {}
            batch: list[list[Any]] = []
            batch_cols: tuple[str, ...] = ()
            for row, new_id in zip(rows, ids, strict=True):
                values = dict(row)
                values["Id"] = new_id
                filled: list[str] = []
                for audit, _, stored in audits:
                    if values.get(audit) is None:
                        values[audit] = stored  # already in stored form
                        filled.append(audit)
                key = (*values, "", *filled)
                shape = shapes.get(key)
                if shape is None:
                    shape = shapes[key] = self._shape(obj, values, filled)
                cols, converters = shape
                params = [
                    c(v) for c, v in zip(converters, values.values(), strict=True) if c is not None
                ]
                if cols != batch_cols and batch:
                    self._insert_rows(obj, batch_cols, batch)
                    batch = []
                batch_cols = cols
                batch.append(params)
            if batch:
                self._insert_rows(obj, batch_cols, batch)
        return ids

    def insert_stored(
        self, sobject: str, names: Sequence[str], columns: Sequence[Sequence[SqlValue]]
    ) -> list[str]:
        """Insert rows given column by column, already validated and in stored form
        (`column_converters`): `names` are their stored columns, without Id, `columns[i]`
        the values of `names[i]`, one per row. Assigns Id and fills the audit fields as
        `insert_many` does (a null audit value takes the call's). Returns the ids in order."""
        obj = self.obj(sobject)
        count = len(columns[0]) if columns else 0
        with self.transaction():
            audits = self._audits(obj)
            ids = self.state.ids.new_many(self._prefix(obj), count)
            given = {name: i for i, name in enumerate(names)}
            cols = [*names, "Id"]
            values = [*columns, ids]
            for audit, _, stored in audits:
                if audit not in given:
                    cols.append(audit)
                    values.append([stored] * count)
                elif None in (column := columns[given[audit]]):
                    values[given[audit]] = [stored if v is None else v for v in column]
            if count:
                self._insert_rows(obj, tuple(cols), list(zip(*values, strict=True)))
        return ids

    def column_converters(
        self, sobject: str, names: Sequence[str]
    ) -> list[Callable[[Sequence[object]], Sequence[SqlValue]]] | None:
        """`to_storage` per named field over a column of values (`storage_converter`), for
        `insert_stored`; None when one of them has no column of its own (a compound, or a
        field the table lacks)."""
        try:
            obj = self.obj(sobject)
        except KeyError:
            return None
        out = []
        for name in names:
            f = obj.field(name)
            if f is None or f.is_compound or f.name != name:
                return None
            out.append(storage_converter(f))
        return out

    def _prefix(self, obj: ObjectDef) -> str:
        doc = self.state.schema.describe(obj.name) or {}
        return str(doc.get("keyPrefix") or "a00")

    def _audits(self, obj: ObjectDef) -> list[tuple[str, Any, SqlValue]]:
        """(name, value, stored value) of the audit fields the object has, for a write now."""
        now, user = self.now(), self.state.config.user_id
        audits: list[tuple[str, Any, SqlValue]] = []
        for audit, value in (
            ("CreatedDate", now),
            ("LastModifiedDate", now),
            ("SystemModstamp", now),
            ("CreatedById", user),
            ("LastModifiedById", user),
            ("OwnerId", user),
        ):
            found = obj.field(audit)
            if found is not None:
                stored = None if found.is_compound else to_storage(found, value)
                audits.append((audit, value, stored))
        return audits

    def _converter(self, field: FieldDef) -> Converter:
        try:
            return self._converters[field]
        except KeyError:
            made = self._converters[field] = value_converter(field)
            return made

    def _shape(
        self, obj: ObjectDef, values: Mapping[str, Any], filled: Sequence[str]
    ) -> tuple[tuple[str, ...], list[Converter | None]]:
        """A row's stored columns, and per name of `values` its converter (None: no column;
        the `filled` ones are in stored form already)."""
        cols: list[str] = []
        converters: list[Converter | None] = []
        for name in values:
            found = obj.field(name)
            if found is None or found.is_compound:
                converters.append(None)
                continue
            cols.append(found.name)
            converters.append(_stored if name in filled else self._converter(found))
        return tuple(cols), converters

    def _columns(self, obj: ObjectDef, values: dict[str, Any]) -> tuple[tuple[str, ...], list[Any]]:
        """The stored columns and values of a row."""
        cols, converters = self._shape(obj, values, ())
        return cols, [
            c(v) for c, v in zip(converters, values.values(), strict=True) if c is not None
        ]

    def _insert_rows(
        self, obj: ObjectDef, cols: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        marks = ",".join("?" * len(cols))
        names = ",".join(quote_ident(c) for c in cols)
        self.conn.executemany(
            f"INSERT INTO {quote_ident(obj.name)} ({names}) VALUES ({marks})", rows
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

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """A savepoint holding the store lock: nested calls nest, an exception rolls back.

        Yields a dict shared by the whole outermost transaction (modules keep per-transaction
        state there, e.g. change-event numbering or a composite's allOrNone). Callbacks given
        to `after_commit` run once the outermost transaction commits, and are dropped with
        the savepoint they were registered in. Callers must not hand store work to another
        thread while inside: the lock is held by this one.
        """
        with self.lock:
            name = f"sp{len(self._savepoints)}"
            if not self._savepoints:
                self._tx_data = {}
            self.conn.execute(f"SAVEPOINT {name}")
            self._savepoints.append(len(self._after_commit))
            try:
                yield self._tx_data
            except BaseException:
                mark = self._savepoints.pop()
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
                del self._after_commit[mark:]
                raise
            self._savepoints.pop()
            self.conn.execute(f"RELEASE {name}")
            if self._savepoints:
                return
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def transaction_data(self) -> dict[str, Any] | None:
        """The open outermost transaction's shared dict, or None outside a transaction."""
        return self._tx_data if self._savepoints else None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` after the open transaction commits (at once when none is open)."""
        with self.lock:
            if self._savepoints:
                self._after_commit.append(callback)
                return
        callback()

    # -- batch reads (collections, upsert, replication) --------------------------------------

    def get_many(
        self, sobject: str, ids: Sequence[str], *, include_deleted: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Stored rows by id, as `get` returns them; missing ids are absent."""
        obj = self.obj(sobject)
        out: dict[str, dict[str, Any]] = {}
        deleted = "" if include_deleted else ' AND "IsDeleted" = 0'
        with self.lock:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = list(ids[start : start + _IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                cur = self.conn.execute(
                    f'SELECT * FROM {quote_ident(obj.name)} WHERE "Id" IN ({marks}){deleted}',
                    chunk,
                )
                names = [d[0] for d in cur.description]
                types = [(f.type if (f := obj.field(n)) else "string") for n in names]
                for row in cur.fetchall():
                    record = {
                        n: from_storage(t, v) for n, t, v in zip(names, types, row, strict=True)
                    }
                    out[str(record["Id"])] = record
        return out

    def deleted_flags(self, sobject: str, ids: Sequence[str]) -> dict[str, bool]:
        """id -> IsDeleted for the ids that exist at all (recycle bin included)."""
        obj = self.obj(sobject)
        out: dict[str, bool] = {}
        with self.lock:
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = list(ids[start : start + _IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = self.conn.execute(
                    f'SELECT "Id", "IsDeleted" FROM {quote_ident(obj.name)} '
                    f'WHERE "Id" IN ({marks})',
                    chunk,
                ).fetchall()
                out.update((str(r[0]), bool(r[1])) for r in rows)
        return out

    def ids_by_value(self, sobject: str, field: str, values: Sequence[Any]) -> dict[Any, list[str]]:
        """Live record ids per external-id value, all matches (upsert needs to see >1).

        Keys are `match_key(value)`: text compares case-insensitively, as Salesforce
        external ids do (and as the NOCASE columns index them).
        """
        obj = self.obj(sobject)
        f = obj.field(field)
        if f is None:
            raise KeyError(field)
        stored = list(dict.fromkeys(to_storage(f, v) for v in values if v is not None))
        out: dict[Any, list[str]] = {}
        with self.lock:
            for start in range(0, len(stored), _IN_CHUNK):
                chunk = stored[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self.conn.execute(
                    f'SELECT {quote_ident(f.name)}, "Id" FROM {quote_ident(obj.name)} '
                    f'WHERE {quote_ident(f.name)} IN ({marks}) AND "IsDeleted" = 0 ORDER BY "Id"',
                    chunk,
                ).fetchall()
                for value, record_id in rows:
                    out.setdefault(self.match_key(sobject, field, value), []).append(record_id)
        return out

    def match_key(self, sobject: str, field: str, value: Any) -> Any:
        """The key `ids_by_value` files `value` under (stored form, lower-cased for text)."""
        f = self.obj(sobject).field(field)
        if f is None:
            raise KeyError(field)
        stored = to_storage(f, value)
        return stored.lower() if isinstance(stored, str) and f.type in TEXT_TYPES else stored

    def updated_ids(self, sobject: str, start: str, end: str) -> list[str]:
        """Live ids whose SystemModstamp (else LastModifiedDate) is in [start, end)."""
        obj = self.obj(sobject)
        stamp = "SystemModstamp" if obj.field("SystemModstamp") else "LastModifiedDate"
        if obj.field(stamp) is None:
            return []
        with self.lock:
            rows = self.conn.execute(
                f'SELECT "Id" FROM {quote_ident(obj.name)} WHERE {quote_ident(stamp)} >= ? '
                f'AND {quote_ident(stamp)} < ? AND "IsDeleted" = 0 ORDER BY {quote_ident(stamp)}',
                [start, end],
            ).fetchall()
        return [r[0] for r in rows]

    def deleted_log(self, sobject: str, start: str, end: str) -> list[tuple[str, str]]:
        """(id, deletedDate) of records of `sobject` deleted in [start, end)."""
        obj = self.obj(sobject)
        with self.lock:
            rows = self.conn.execute(
                'SELECT "Id", "DeletedDate" FROM "_deleted_log" WHERE "SObject" = ? '
                'AND "DeletedDate" >= ? AND "DeletedDate" < ? ORDER BY "DeletedDate"',
                [obj.name, start, end],
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _stored(value: object) -> SqlValue:
    return value  # type: ignore[return-value]


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
        _seed(created)
        state.extensions["store"] = created
        state.extensions.setdefault("closers", []).append(created.close)
        return created


def _seed(store: RecordStore) -> None:
    """What every org has: its one Organization row and the running user."""
    cfg = store.state.config
    seeds = (
        (
            "Organization",
            cfg.org_id,
            {
                "Name": "Fake Org",
                "OrganizationType": "Developer Edition",
                "IsSandbox": False,
                "InstanceName": "FAKE1",
            },
        ),
        (
            "User",
            cfg.user_id,
            {
                "Username": cfg.username,
                "LastName": "Admin",
                "FirstName": "Org",
                "Name": "Org Admin",  # Salesforce composes it: FirstName LastName
                "Email": cfg.username,
                "Alias": "admin",
                "IsActive": True,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US",
            },
        ),
    )
    now = store.now()
    with store.transaction():
        for sobject, record_id, values in seeds:
            try:
                obj = store.obj(sobject)
            except KeyError:
                continue  # a schema without the object: nothing to seed
            if store.get(sobject, record_id, include_deleted=True) is not None:
                continue  # a persistent org (--data-dir) seeded on an earlier run
            row = {"Id": record_id, **values}
            for audit in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                if obj.field(audit) is not None:
                    row[audit] = now
            for audit in ("CreatedById", "LastModifiedById"):
                if obj.field(audit) is not None:
                    row[audit] = cfg.user_id
            cols, params = store._columns(obj, row)
            store._insert_rows(obj, cols, [params])
