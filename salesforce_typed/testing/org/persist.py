"""What a fake org with a data dir keeps across restarts, besides its records.

One SQLite file, `org-state.sqlite3`, beside the record store: config and credentials,
sessions, OAuth families, id reservations, Bulk job metadata and the retained events.
A file of its own because the record store's savepoints must not roll back a session or an
id reservation, and a second connection to the record file would contend for its write
lock. Sessions, OAuth families, ids and events are written through as they change, each
write committed at once (WAL), so a killed process loses at most the write in flight; Bulk
jobs are written at each state change and at a clean stop (`bulk1.jobs`, `bulk2.jobs`), their
data files beside this one, atomically (`write_file`).

What must stay true:
- Without a data dir nothing here runs: `journal(state)` is None and the org is in memory.
- The credentials an org printed once are the ones it answers to after every restart.
- Ids never repeat: each key prefix reserves ids in blocks before handing them out.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from salesforce_typed.testing.org.state import OrgState, Session

__all__ = ["Journal", "attach", "journal", "write_file"]

STATE_FILE: Final = "org-state.sqlite3"
ID_BLOCK: Final = 1024  # ids reserved per write: one small commit per block, not per id
# What identifies the org and lets clients in; knobs (api version, rotation) come from
# whoever starts it, so a restart with other flags takes them.
_IDENTITY: Final = (
    "client_id",
    "client_secret",
    "username",
    "password",
    "security_token",
    "org_id",
    "user_id",
)

_SCHEMA: Final = (
    'CREATE TABLE IF NOT EXISTS "entries" ("kind" TEXT NOT NULL, "key" TEXT NOT NULL, '
    '"value" TEXT NOT NULL, PRIMARY KEY ("kind", "key"))',
    'CREATE TABLE IF NOT EXISTS "events" ("seq" INTEGER PRIMARY KEY, "channel" TEXT NOT NULL, '
    '"replay_id" INTEGER NOT NULL, "at" REAL NOT NULL, "body" BLOB NOT NULL)',
    'CREATE INDEX IF NOT EXISTS "events_by_channel" ON "events" ("channel", "replay_id")',
)


class Journal:
    """The org's bookkeeping file: `entries` (kind, key) -> JSON, and the event log."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        path = folder / STATE_FILE
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        path.chmod(0o600)  # it holds secrets: client secret, password, tokens
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.Lock()
        for sql in _SCHEMA:
            self.conn.execute(sql)

    def __repr__(self) -> str:
        return f"Journal({str(self.folder)!r})"

    # -- entries ---------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Any:
        with self.lock:
            row = self.conn.execute(
                'SELECT "value" FROM "entries" WHERE "kind" = ? AND "key" = ?', [kind, key]
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, kind: str, key: str, value: Any) -> None:
        self.put_many(kind, [(key, value)])

    def put_many(self, kind: str, items: list[tuple[str, Any]]) -> None:
        if not items:
            return
        rows = [(kind, key, json.dumps(value, separators=(",", ":"))) for key, value in items]
        self._write_many('INSERT OR REPLACE INTO "entries" VALUES (?, ?, ?)', rows)

    def _write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """`sql` once per row, in one transaction: all rows or none."""
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany(sql, rows)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def delete(self, kind: str, key: str | None = None) -> None:
        """One entry, or every entry of `kind` when `key` is None."""
        with self.lock:
            if key is None:
                self.conn.execute('DELETE FROM "entries" WHERE "kind" = ?', [kind])
            else:
                self.conn.execute(
                    'DELETE FROM "entries" WHERE "kind" = ? AND "key" = ?', [kind, key]
                )

    def entries(self, kind: str) -> list[tuple[str, Any]]:
        """Every (key, value) of `kind`, in insertion order."""
        with self.lock:
            rows = self.conn.execute(
                'SELECT "key", "value" FROM "entries" WHERE "kind" = ? ORDER BY rowid', [kind]
            ).fetchall()
        return [(str(k), json.loads(v)) for k, v in rows]

    # -- the retained event log --------------------------------------------------------------

    def save_events(
        self,
        events: list[tuple[int, str, int, float, bytes]],
        streams: list[tuple[str, Any]],
        floors: list[tuple[str, int]],
    ) -> None:
        """In one transaction: new (seq, channel, replay id, at, body) rows, the streams'
        last ids, and moved floors (each channel's events up to its floor are forgotten)."""
        if not (events or streams or floors):
            return
        entries = [("stream", key, json.dumps(row)) for key, row in streams]
        entries += [("floor", channel, json.dumps(floor)) for channel, floor in floors]
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany('INSERT OR REPLACE INTO "events" VALUES (?,?,?,?,?)', events)
                self.conn.executemany('INSERT OR REPLACE INTO "entries" VALUES (?,?,?)', entries)
                self.conn.executemany(
                    'DELETE FROM "events" WHERE "channel" = ? AND "replay_id" <= ?', floors
                )
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def events(self) -> Iterator[tuple[int, str, int, float, bytes]]:
        """Every retained event, in publication order."""
        with self.lock:
            rows = self.conn.execute(
                'SELECT "seq", "channel", "replay_id", "at", "body" FROM "events" ORDER BY "seq"'
            ).fetchall()
        for seq, channel, replay_id, at, body in rows:
            yield int(seq), str(channel), int(replay_id), float(at), bytes(body)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def write_file(path: Path, source: IO[bytes] | bytes) -> None:
    """Write `path` whole or not at all: a temp file beside it, then a rename over it."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(source, bytes):
                handle.write(source)
            else:
                source.seek(0)
                shutil.copyfileobj(source, handle)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def journal(state: OrgState) -> Journal | None:
    """The org's journal; None for an in-memory org (no data dir)."""
    found = state.extensions.get("journal")
    return found if isinstance(found, Journal) else None


# -- the org core: config, sessions, ids -------------------------------------------------------


class _SessionSink:
    """Writes sessions through to the journal as `OrgState.sessions` changes."""

    def __init__(self, state: OrgState, book: Journal) -> None:
        self.state = state
        self.book = book

    def put(self, session: Session) -> None:
        self.book.put("session", session.access_token, _session_row(session))
        self.auth_changed()

    def drop(self, token: str) -> None:
        self.book.delete("session", token)

    def clear(self) -> None:
        self.book.delete("session")

    def auth_changed(self) -> None:
        from salesforce_typed.testing.oauth import storage

        storage.save(self.state, self.book)


def _session_row(session: Session) -> dict[str, Any]:
    return {
        "user_id": session.user_id,
        "username": session.username,
        "issued_at": session.issued_at,
        "expires_at": session.expires_at,
        "family": session.family,
        "client_id": session.client_id,
    }


def attach(state: OrgState, folder: Path) -> Journal:
    """Open the org's journal in `folder` and restore what it holds into `state`: the
    identity and credentials (or record them on the first start), live sessions, OAuth
    families and id reservations; from then on each of them is written through."""
    book = Journal(folder)
    state.extensions["journal"] = book
    state.extensions.setdefault("closers", []).append(book.close)
    cfg = state.config
    saved = book.get("config", "identity")
    if isinstance(saved, dict):
        for name in _IDENTITY:
            if isinstance(saved.get(name), str):
                setattr(cfg, name, saved[name])
    else:
        book.put("config", "identity", {name: getattr(cfg, name) for name in _IDENTITY})
    now = state.clock()
    for token, row in book.entries("session"):
        if float(row["expires_at"]) > now:
            state.sessions.load(Session(access_token=token, **row))
        else:
            book.delete("session", token)
    from salesforce_typed.testing.oauth import storage

    storage.load(state, book)
    reserved = {prefix: int(n) for prefix, n in book.entries("ids")}
    state.ids.restore(reserved, lambda prefix, upto: book.put("ids", prefix, upto), ID_BLOCK)
    state.sessions.sink = _SessionSink(state, book)
    return book
