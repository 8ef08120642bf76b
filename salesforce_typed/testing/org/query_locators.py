"""Query locators: the org's table of open SOQL results that REST `/query` pages
(`nextRecordsUrl`) and SOAP `queryMore` continue, and the JSON page they serve.

What must stay true:

- A page reads only its own rows from the engine's lazy cursor; nothing materialises a
  whole result, so a million-row table pages in constant memory.
- Every touch of the shared SQLite connection (compile+open, COUNT, fetch, close) happens
  under `store.lock`: the connection is shared by every module, and results.py cursors are
  live, not snapshots.
- Locators follow Salesforce's older, stricter rules (wire reference §3.1, doc conflict in
  §14): 15 minutes idle by `state.clock`, at most 10 open per user with the oldest freed
  silently; a dead locator answers 400 `INVALID_QUERY_LOCATOR`. Clients that page promptly
  and handle that code work against either rule.
- The last page a locator served can be asked for again (a client retrying after a dropped
  connection gets the same bytes), even after the cursor finished.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from typing import Final

import attrs

from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import RecordStore, store
from salesforce_typed.testing.soql import QueryResult, Record

CURSOR_IDLE_SECONDS: Final = 15 * 60
MAX_OPEN_CURSORS: Final = 10  # per user; Salesforce frees the oldest without telling
MIN_BATCH_SIZE: Final = 200
MAX_BATCH_SIZE: Final = 2000
DEFAULT_BATCH_SIZE: Final = 2000
LOCATOR_PREFIX: Final = "01g"  # the older locator key prefix (`0r8` is the newer one)
_INVALID_LOCATOR: Final = "invalid query locator"


def batch_size(header: str | None) -> int | None:
    """`Sforce-Query-Options: batchSize=N`, clamped to 200..2000; None when absent or unreadable.

    The wire reference calls the size a request, not a guarantee; what a real org does with
    an unreadable value is not documented, so the emulator falls back to the default.
    """
    if not header:
        return None
    for part in header.replace(",", ";").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "batchsize":
            try:
                size = int(value.strip())
            except ValueError:
                return None
            return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, size))
    return None


def page_body(total_size: int, done: bool, next_url: str | None, records: list[Record]) -> bytes:
    """One page in Salesforce's key order; compact separators and raw UTF-8 keep big pages cheap."""
    page: dict[str, object] = {"totalSize": total_size, "done": done}
    if next_url is not None:
        page["nextRecordsUrl"] = next_url
    page["records"] = records
    return json.dumps(page, separators=(",", ":"), ensure_ascii=False).encode()


@attrs.define(kw_only=True, slots=True)
class Cursor:
    """One locator: the engine's open result plus the paging position clients see."""

    locator: str
    owner: str
    endpoint: str  # "query" or "queryAll": the path nextRecordsUrl points back to
    result: QueryResult | None  # None once every row was served (kept only for replays)
    batch_size: int
    last_used: float
    offset: int = 0  # rows served so far: the next page starts here
    last_offset: int = -1  # where the last served page started
    last_body: bytes = b""


class QueryCursors:
    """The org's open locators; every method must be called with `store.lock` held."""

    def __init__(self, state: OrgState, records: RecordStore) -> None:
        self.state = state
        self.store = records
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()  # oldest first

    def _drop(self, locator: str) -> None:
        cursor = self.cursors.pop(locator)
        if cursor.result is not None:
            cursor.result.close()

    def sweep(self, now: float) -> None:
        """Forget locators idle longer than CURSOR_IDLE_SECONDS."""
        for locator in [
            k for k, c in self.cursors.items() if now - c.last_used > CURSOR_IDLE_SECONDS
        ]:
            self._drop(locator)

    def _make_room(self, owner: str, *, finished: bool) -> None:
        """Evict the owner's oldest open (or finished) cursors down to MAX_OPEN_CURSORS - 1."""
        mine = [
            k
            for k, c in self.cursors.items()
            if c.owner == owner and (c.result is None) == finished
        ]
        for locator in mine[: max(0, len(mine) - MAX_OPEN_CURSORS + 1)]:
            self._drop(locator)

    def first_page(
        self,
        result: QueryResult,
        *,
        owner: str,
        endpoint: str,
        version: str,
        size: int,
    ) -> bytes:
        """Serve page one; register a locator only when rows remain."""
        now = self.state.clock()
        self.sweep(now)
        records = result.fetch(size) if not result.done else []
        if result.done:
            result.close()
            return page_body(result.total_size, True, None, records)
        self._make_room(owner, finished=False)
        cursor = Cursor(
            locator=self.state.ids.new(LOCATOR_PREFIX),
            owner=owner,
            endpoint=endpoint,
            result=result,
            batch_size=size,
            last_used=now,
        )
        self.cursors[cursor.locator] = cursor
        return self._serve(cursor, version, records, start=0)

    def next_page(self, token: str, *, owner: str, version: str, size: int | None) -> bytes:
        """Serve `<locator>-<offset>`: the next page, a replay of the last one, or a skip ahead."""
        now = self.state.clock()
        self.sweep(now)
        locator, _, offset_text = token.rpartition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or cursor.owner != owner or not offset_text.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", _INVALID_LOCATOR)
        offset = int(offset_text)
        cursor.last_used = now
        self.cursors.move_to_end(locator)  # an active cursor is not the oldest
        if offset == cursor.last_offset:
            return cursor.last_body
        result = cursor.result
        if result is None or offset < cursor.offset:
            raise SfError(400, "INVALID_QUERY_LOCATOR", _INVALID_LOCATOR)
        if size is not None:
            cursor.batch_size = size
        try:
            while cursor.offset < offset and not result.done:  # a client may skip ahead
                cursor.offset += len(result.fetch(min(offset - cursor.offset, MAX_BATCH_SIZE)))
            start = cursor.offset
            records = result.fetch(cursor.batch_size)
        except sqlite3.Error as exc:  # the statement died under us (schema change, rollback)
            self._drop(locator)
            raise SfError(400, "INVALID_QUERY_LOCATOR", _INVALID_LOCATOR) from exc
        return self._serve(cursor, version, records, start=start)

    def _serve(self, cursor: Cursor, version: str, records: list[Record], *, start: int) -> bytes:
        result = cursor.result
        assert result is not None
        cursor.offset = start + len(records)
        done = result.done
        next_url = None
        if not done:
            next_url = (
                f"/services/data/v{version}/{cursor.endpoint}/{cursor.locator}-{cursor.offset}"
            )
        body = page_body(result.total_size, done, next_url, records)
        cursor.last_offset, cursor.last_body = start, body
        if done:
            result.close()
            cursor.result = None
            self._make_room(cursor.owner, finished=True)
        return body


def cursors(state: OrgState) -> QueryCursors:
    """The org's locator table, created on first use next to its store."""
    existing = state.extensions.get("query_cursors")
    if isinstance(existing, QueryCursors):
        return existing
    with state.lock:
        existing = state.extensions.get("query_cursors")
        if not isinstance(existing, QueryCursors):
            existing = QueryCursors(state, store(state))
            state.extensions["query_cursors"] = existing
        return existing
