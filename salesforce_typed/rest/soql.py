"""SOQL bind parameters: Python values become SOQL literals that cannot change the query.

Salesforce's REST API has no server-side binds (`:name` is Apex-only and answers
MALFORMED_QUERY "Bind variables only allowed in Apex code"), so `bind()` does it client-side.

What must stay true:
- a bound value is exactly one literal token (or one parenthesised list of them): no user
  string can close its quote, add a condition or comment anything out;
- only `:name` outside string literals and not right after a word character is a
  placeholder, so `LAST_N_DAYS:30`, `NEXT_N_WEEKS:2` and `':x'` are left alone;
- every placeholder has a value and every value a placeholder (a typo is an error, not a
  silently unfiltered query);
- output is deterministic (sets are sorted), so the same call always sends the same query.

String escapes are the ones the SOQL reference lists (`\\n \\r \\t \\b \\f \\" \\' \\\\`); a
backslash before anything else is a MALFORMED_QUERY, so other control characters are
rejected rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from salesforce_typed.core.models import SObject

__all__ = ["LikePattern", "bind", "escape_like", "quote"]

_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_LIKE_ESCAPES: Final = {**_ESCAPES, "%": "\\%", "_": "\\_"}

# A string literal (closed), a lone quote (unclosed), or a placeholder: `:` not after a word
# character, then an identifier. Literals are matched first so their insides are skipped.
_SCAN: Final = re.compile(
    r"(?P<lit>'(?:[^'\\]|\\.)*')|(?P<open>')|(?<![A-Za-z0-9_]):(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    re.DOTALL,
)


def _check_char(ch: str, text: str) -> None:
    code = ord(ch)
    if code < 0x20 or 0xD800 <= code <= 0xDFFF:
        # SOQL has no escape for these (no \uXXXX, no \0) and surrogates cannot be sent
        # as UTF-8: refusing beats sending something Salesforce reads differently.
        raise ValueError(
            f"SOQL string literals cannot hold U+{code:04X} (in {text[:40]!r}): "
            "strip control characters before binding"
        )


def _escape(text: str, table: Mapping[str, str]) -> str:
    out: list[str] = []
    for ch in text:
        escaped = table.get(ch)
        if escaped is None:
            _check_char(ch, text)
            escaped = ch
        out.append(escaped)
    return "".join(out)


@attrs.frozen(slots=True)
class LikePattern:
    """A LIKE pattern whose literal parts match only themselves.

    Built by `escape_like()` and joined with plain strings, which keep `%` and `_` as
    wildcards: `"%" + escape_like(user_text) + "%"` matches names containing `user_text`,
    even if it holds `%`, `_`, quotes or backslashes. Bind it (or `quote()` it) as a value.
    """

    parts: tuple[tuple[str, bool], ...]  # (text, is_literal)

    def __add__(self, other: LikePattern | str) -> LikePattern:
        if isinstance(other, LikePattern):
            return LikePattern(self.parts + other.parts)
        if isinstance(other, str):
            return LikePattern((*self.parts, (other, False)))
        return NotImplemented

    def __radd__(self, other: str) -> LikePattern:
        if isinstance(other, str):
            return LikePattern(((other, False), *self.parts))
        return NotImplemented

    def body(self) -> str:
        """The escaped pattern without its quotes."""
        return "".join(
            _escape(text, _LIKE_ESCAPES if literal else _ESCAPES) for text, literal in self.parts
        )


def escape_like(text: str) -> LikePattern:
    """`text` as a LIKE pattern matching itself only: `%` and `_` lose their wildcard role."""
    return LikePattern(((text, True),))


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"SOQL has no literal for {value!r}")
    # repr is the shortest form that round-trips; Decimal then spells out its exponent,
    # because `1e-07` is not a SOQL number.
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else f"{text}.0"


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"SOQL has no literal for Decimal({str(value)!r})")
    # Positional notation, trailing zeros dropped by hand: Decimal.normalize() would round
    # to the context's 28 digits and turn 100 into 1E+2.
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _datetime(value: dt.datetime) -> str:
    # Naive means UTC, as Salesforce reads it. Sub-second precision is dropped: the
    # documented SOQL datetime forms have none.
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(dt.UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def _scalar(value: object) -> str:
    # Order matters: bool is an int, datetime is a date, a str enum is a str.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _scalar(value.value)  # `.value`, not str(): str() of a str enum is its name
    if isinstance(value, LikePattern):
        return f"'{value.body()}'"
    if isinstance(value, str):
        return f"'{_escape(value, _ESCAPES)}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, SObject):
        raise TypeError(
            f"cannot bind a {type(value).__name__} record: bind one of its fields "
            "(for example record.Id) instead"
        )
    raise TypeError(
        f"cannot bind {type(value).__name__} {value!r}: SOQL literals are str, bool, int, "
        "float, Decimal, date, datetime, None, enums and lists of them"
    )


def quote(value: object) -> str:
    """One SOQL literal for `value`; a list, tuple or set becomes `(v1,v2)` for IN.

    Raises TypeError for values SOQL has no literal for, ValueError for values it cannot
    hold (NaN, infinity, control characters, an empty list).
    """
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            raise ValueError("SOQL has no empty IN list: skip the query or the condition")
        if isinstance(value, set | frozenset):
            # Sets have no order, but the query text should not vary from run to run.
            try:
                ordered: list[Any] = sorted(value)
            except TypeError:  # mixed types: order by their literals instead
                return "(" + ",".join(sorted(_scalar(v) for v in value)) + ")"
            return "(" + ",".join(_scalar(v) for v in ordered) + ")"
        return "(" + ",".join(_scalar(v) for v in value) + ")"
    return _scalar(value)


def bind(soql: str, params: Mapping[str, object]) -> str:
    """`soql` with each `:name` replaced by `quote(params[name])`.

    KeyError names a placeholder without a value; ValueError names values without a
    placeholder, and an unterminated string literal (where placeholders would be ambiguous).
    """
    used: set[str] = set()
    out: list[str] = []
    last = 0
    for match in _SCAN.finditer(soql):
        if match.group("open") is not None:
            raise ValueError(f"unterminated string literal at offset {match.start()} in {soql!r}")
        name = match.group("name")
        if name is None:
            continue
        if name not in params:
            raise KeyError(f"no value for SOQL bind parameter :{name}")
        out.append(soql[last : match.start()])
        out.append(quote(params[name]))
        last = match.end()
        used.add(name)
    unused = sorted(set(params) - used)
    if unused:
        raise ValueError(f"bind parameters not used in the query: {', '.join(unused)}")
    out.append(soql[last:])
    return "".join(out)
