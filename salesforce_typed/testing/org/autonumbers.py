"""Auto-number fields (Case.CaseNumber, Contract.ContractNumber, ...): one counter per field.

Counters live in the org's SQLite store, in a table of their own (`_autonumber`), and move
inside the writer's transaction: a number is handed out once and never again, whether the
record is later deleted or the org restarts with `--data-dir`. A field is an auto-number
when its describe says `autoNumber`; `KNOWN` also covers standard fields of describes that
lack the flag, with the display formats and first numbers of a new org.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from salesforce_typed.testing.org.store import RecordStore
from salesforce_typed.testing.org.validation import FieldIndex
from salesforce_typed.testing.soql.storage import quote_ident

_TABLE = """CREATE TABLE IF NOT EXISTS "_autonumber" (
  "SObject" TEXT NOT NULL, "Field" TEXT NOT NULL, "Next" INTEGER NOT NULL,
  PRIMARY KEY ("SObject", "Field"))"""


class Format(NamedTuple):
    """A display format such as `{00000000}` (zero-padded width, prefix, suffix) and the
    number the first record gets."""

    pattern: str
    start: int


KNOWN: Mapping[tuple[str, str], Format] = {
    ("Case", "CaseNumber"): Format("{00000000}", 1000),
    ("Contract", "ContractNumber"): Format("{00000000}", 100),
    ("Order", "OrderNumber"): Format("{00000000}", 100),
    ("Solution", "SolutionNumber"): Format("{0000000000}", 1),
}
# an autoNumber field whose format the describe does not carry (it never does)
DEFAULT = Format("{00000000}", 1)

_NUMBER = re.compile(r"\{(0+)\}")


def fields(index: FieldIndex) -> dict[str, Format]:
    """The object's auto-number fields and their formats."""
    return {
        name: KNOWN.get((index.sobject, name), DEFAULT)
        for name, f in index.fields.items()
        if f.get("autoNumber") or (index.sobject, name) in KNOWN
    }


def display(fmt: Format, number: int) -> str:
    """`number` in the display format: `{00000000}` with 1000 -> "00001000"."""
    match = _NUMBER.search(fmt.pattern)
    if match is None:
        return str(number)
    width = len(match.group(1))
    return f"{fmt.pattern[: match.start()]}{number:0{width}d}{fmt.pattern[match.end() :]}"


def assign(store: RecordStore, index: FieldIndex, rows: list[dict[str, Any]]) -> None:
    """Give each row the next numbers of the object's auto-number fields (in place). Call
    inside the store transaction that inserts the rows."""
    found = fields(index)
    if not found or not rows:
        return
    with store.lock:
        store.conn.execute(_TABLE)
        for name, fmt in found.items():
            first = _take(store, index.sobject, name, fmt, len(rows))
            for offset, row in enumerate(rows):
                row[name] = display(fmt, first + offset)


def _take(store: RecordStore, sobject: str, field: str, fmt: Format, count: int) -> int:
    row = store.conn.execute(
        'SELECT "Next" FROM "_autonumber" WHERE "SObject" = ? AND "Field" = ?', [sobject, field]
    ).fetchone()
    first = int(row[0]) if row is not None else max(fmt.start, _stored_max(store, sobject, field))
    store.conn.execute(
        'INSERT OR REPLACE INTO "_autonumber" VALUES (?, ?, ?)', [sobject, field, first + count]
    )
    return first


def _stored_max(store: RecordStore, sobject: str, field: str) -> int:
    """One past the largest all-digit value already stored (a store written before the
    counter existed), so a new counter never repeats one."""
    obj = store.obj(sobject)
    stored = obj.field(field)
    if stored is None or stored.is_compound:
        return 0
    column = quote_ident(stored.name)
    found = store.conn.execute(
        f"SELECT MAX(CAST({column} AS INTEGER)) FROM {quote_ident(obj.name)} "
        f"WHERE {column} GLOB '[0-9]*' AND {column} NOT GLOB '*[^0-9]*'"
    ).fetchone()
    return int(found[0]) + 1 if found and found[0] is not None else 0
