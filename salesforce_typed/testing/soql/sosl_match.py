"""A SOSL search term evaluated in Python, as one SQLite function call per row.

Compiling the term to SQL (a LIKE per word and per searched column) made SQLite prepare an
expression of words x columns terms: a 10,000-character term took a minute and held the
server's loop. Here the term is compiled once to regexes, and each row's searched columns are
joined (NUL-separated, so no match spans two fields) and tested word by word: linear in the
term and in the row, the same matches (case-insensitive substrings, `*` = any characters,
`?` = one character, phrases literal).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any, Final

FUNCTION: Final = "sf_sosl_match"
_SEP: Final = "\x00"

Matcher = Callable[[str], bool]


def term_key(node: Any) -> str:
    """The JSON form of a term (`["w", text, phrase]` or `[op, operand...]`), bound as the
    function's first argument so the compiled matcher is cached per term."""
    return json.dumps(node, separators=(",", ":"))


def register(conn: sqlite3.Connection) -> None:
    conn.create_function(FUNCTION, -1, _match, deterministic=True)


def _match(key: str, *columns: Any) -> int:
    text = _SEP.join(value.lower() for value in columns if isinstance(value, str))
    return int(_compiled(key)(text))


@functools.lru_cache(maxsize=64)
def _compiled(key: str) -> Matcher:
    return _compile(json.loads(key))


def _word(text: str, phrase: bool) -> Matcher:
    pattern = re.escape(text.lower())
    if not phrase:
        pattern = pattern.replace(r"\*", f"[^{_SEP}]*").replace(r"\?", f"[^{_SEP}]")
    regex = re.compile(pattern)
    return lambda row: regex.search(row) is not None


def _compile(node: list[Any]) -> Matcher:
    kind = node[0]
    if kind == "w":
        return _word(str(node[1]), bool(node[2]))
    # The same operand twice (`a a a ...`) is tested once.
    unique = {term_key(operand): operand for operand in node[1:]}
    parts = [_compile(operand) for operand in unique.values()]
    if kind == "NOT":
        return lambda row: not parts[0](row)
    if kind == "AND":
        return lambda row: all(part(row) for part in parts)
    return lambda row: any(part(row) for part in parts)
