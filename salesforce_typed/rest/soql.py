"""Pure SOQL text checks: client-side binds, unbound placeholders, the query's FROM object.

Salesforce's REST API has no server-side binds (`:name` is Apex-only and answers
MALFORMED_QUERY "Bind variables only allowed in Apex code"), so `bind()` does it client-side,
and `check_unbound()` refuses a `:name` left in a query sent without params. `query_object()`
reads the top-level FROM object so `check_query_model()` can refuse `query(Account,
"SELECT Id FROM Contact")` before it decodes Contact rows as Account.

What must stay true:
- a bound value is exactly one literal token (or one parenthesised list of them): no user
  string can close its quote, add a condition or comment anything out;
- only `:name` outside string literals and not right after a word character is a
  placeholder, so `LAST_N_DAYS:30`, `NEXT_N_WEEKS:2` and `':x'` are left alone;
- every placeholder has a value and every value a placeholder (a typo is an error, not a
  silently unfiltered query); these raise QueryBindError naming the placeholders and the
  given names, never the values (they may be secrets);
- `{...}` (a SOSL search term) and `\\:` are text too, so `bind()` also serves SOSL;
- output is deterministic (sets are sorted), so the same call always sends the same query;
- `query_object()` answers None whenever it cannot tell, and the checks then let the query
  through: Salesforce stays the judge of what is valid SOQL.

String escapes are the ones the SOQL reference lists (`\\n \\r \\t \\b \\f \\" \\' \\\\`); a
backslash before anything else is a MALFORMED_QUERY, so other control characters are
rejected rather than guessed at.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import math
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from salesforce_typed.core.errors import QueryBindError, QueryModelMismatchError, UsageError
from salesforce_typed.core.models import SObject

__all__ = [
    "LikePattern",
    "bind",
    "check_query_model",
    "check_unbound",
    "escape_like",
    "query_arguments",
    "query_object",
    "quote",
]

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

# A string literal (closed), a lone quote (unclosed), a SOSL search term `{...}`, or a
# placeholder: `:` not after a word character or a backslash (SOSL escapes a literal colon
# as `\:`), then an identifier. Literals and terms are matched first so their insides are
# skipped. SOQL itself has no braces, so skipping them costs SOQL nothing.
_SCAN: Final = re.compile(
    r"(?P<lit>'(?:[^'\\]|\\.)*')"
    r"|(?P<open>')"
    r"|(?P<term>\{(?:[^}\\]|\\.)*\})"
    r"|(?<![A-Za-z0-9_\\]):(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    re.DOTALL,
)


def _check_char(ch: str, text: str) -> None:
    code = ord(ch)
    if code < 0x20 or 0xD800 <= code <= 0xDFFF:
        # SOQL has no escape for these (no \uXXXX, no \0) and surrogates cannot be sent
        # as UTF-8: refusing beats sending something Salesforce reads differently.
        raise UsageError(
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
        raise UsageError(f"SOQL has no literal for {value!r}")
    # repr is the shortest form that round-trips; Decimal then spells out its exponent,
    # because `1e-07` is not a SOQL number.
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else f"{text}.0"


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise UsageError(f"SOQL has no literal for Decimal({str(value)!r})")
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
            raise UsageError("SOQL has no empty IN list: skip the query or the condition")
        if isinstance(value, set | frozenset):
            # Sets have no order, but the query text should not vary from run to run.
            try:
                ordered: list[Any] = sorted(value)
            except TypeError:  # mixed types: order by their literals instead
                return "(" + ",".join(sorted(_scalar(v) for v in value)) + ")"
            return "(" + ",".join(_scalar(v) for v in ordered) + ")"
        return "(" + ",".join(_scalar(v) for v in value) + ")"
    return _scalar(value)


# -- placeholders -------------------------------------------------------------------------


def _placeholders(text: str, *, strict: bool) -> Iterator[re.Match[str]]:
    """The `:name` matches in `text`, in order.

    An unclosed quote makes everything after it ambiguous: `strict` refuses it (bind() must
    not guess where a value goes), otherwise the scan stops there and lets Salesforce answer
    MALFORMED_QUERY for the text it cannot read either.
    """
    for match in _SCAN.finditer(text):
        if match.group("open") is not None:
            if strict:
                # The offset, not the text: the query may already hold values.
                raise QueryBindError(f"unterminated string literal at offset {match.start()}")
            return
        if match.group("name") is not None:
            yield match


def _names(matches: list[re.Match[str]]) -> list[str]:
    return list(dict.fromkeys(m.group("name") for m in matches))


def _listed(names: list[str], *, colon: bool) -> str:
    if not names:
        return "none"
    return ", ".join(f":{n}" if colon else repr(n) for n in names)


def _hints(missing: list[str], unused: list[str]) -> list[str]:
    """`did you mean` pairs for the usual slips: case, a leading colon, a typo."""
    hints: list[str] = []
    spare = list(unused)
    for name in missing:
        bare = {u.lstrip(":").lower(): u for u in spare}
        given = bare.get(name.lower())
        if given is None:
            close = difflib.get_close_matches(name.lower(), list(bare), n=1, cutoff=0.75)
            given = bare[close[0]] if close else None
        if given is not None:
            spare.remove(given)
            hints.append(f"{name!r} instead of {given!r}")
    return hints


def _check_names(placeholders: list[str], given: list[str]) -> None:
    missing = [n for n in placeholders if n not in given]
    unused = sorted(set(given) - set(placeholders))
    if not missing and not unused:
        return
    problems: list[str] = []
    if missing:
        problems.append(f"no value for {_listed(missing, colon=True)}")
    if unused:
        problems.append(f"no placeholder for {_listed(unused, colon=False)}")
    hints = _hints(missing, unused)
    hint = f" (did you mean {'; '.join(hints)}?)" if hints else ""
    # Names only: the values may be secrets and stay out of messages and logs.
    raise QueryBindError(
        f"SOQL bind parameters do not match the query: {'; '.join(problems)}{hint}; "
        f"placeholders in the query: {_listed(placeholders, colon=True)}; "
        f"names given: {_listed(sorted(given), colon=False)}"
    )


def check_unbound(text: str) -> None:
    """Refuse a query sent without params that still holds a `:name` placeholder.

    Outside Apex, Salesforce answers such a query with MALFORMED_QUERY at best; catching it
    here names the placeholder before anything is sent. Literals (`':x'`), date literals
    (`LAST_N_DAYS:30`), datetimes and SOSL terms (`{a\\:b}`) are not placeholders.
    """
    names = _names(list(_placeholders(text, strict=False)))
    if names:
        example = ", ".join(f"{n!r}: ..." for n in names)
        raise QueryBindError(
            "the query has bind placeholders but no params were given: "
            f"{_listed(names, colon=True)}; pass params={{{example}}}"
        )


def bind(soql: str, params: Mapping[str, object] | None) -> str:
    """`soql` with each `:name` replaced by `quote(params[name])`.

    QueryBindError (a ValueError) names placeholders without a value, values without a
    placeholder, and an unterminated string literal (where placeholders would be
    ambiguous). `params=None` means "no binds": the text comes back unchanged once
    `check_unbound()` finds no placeholder in it.
    """
    if params is None:
        check_unbound(soql)
        return soql
    matches = list(_placeholders(soql, strict=True))
    _check_names(_names(matches), list(params))
    out: list[str] = []
    last = 0
    for match in matches:
        name = match.group("name")
        try:
            literal = quote(params[name])
        except (TypeError, ValueError) as exc:
            exc.add_note(f"while binding the SOQL placeholder :{name}")
            raise
        out.append(soql[last : match.start()])
        out.append(literal)
        last = match.end()
    out.append(soql[last:])
    return "".join(out)


# -- the FROM object ----------------------------------------------------------------------

# Literals (skipped), a lone quote, parentheses (subqueries, function calls) and words. A
# word keeps a leading `:` or `.` so `:from` (a placeholder) and `a.From` are not keywords.
_WORDS: Final = re.compile(
    r"(?P<lit>'(?:[^'\\]|\\.)*')|(?P<open>')|(?P<paren>[()])|(?P<word>[:.]?[A-Za-z0-9_]+)",
    re.DOTALL,
)
# What may follow FROM: whitespace, then an API name (Account, ns__Thing__c, Order, Group)
# ending the text or followed by whitespace (an alias, WHERE, USING SCOPE, WITH, FOR ...)
# or a comma (the old `FROM Contact c, c.Account a` form).
_OBJECT: Final = re.compile(r"\s+(?P<name>[A-Za-z][A-Za-z0-9_]*)(?=\s|,|$)")


def query_object(soql: str) -> str | None:
    """The sObject named by the top-level FROM of a SELECT, as written; None if unclear.

    Child subqueries (`(SELECT Id FROM Contacts)`), semi-joins in WHERE, function calls and
    string literals are skipped, keywords are read in any case, and aliases or trailing
    clauses (`FROM Account a USING SCOPE mine WITH SECURITY_ENFORCED FOR VIEW`) do not
    matter. Anything that is not `SELECT ... FROM Name` (SOSL, an unclosed quote or
    parenthesis, `FROM` followed by something other than a name) gives None.
    """
    depth = 0
    started = False
    for match in _WORDS.finditer(soql):
        paren = match.group("paren")
        if match.group("open") is not None:
            return None
        if paren is not None:
            depth += 1 if paren == "(" else -1
            if depth < 0 or not started:
                return None
            continue
        word = match.group("word")
        if word is None or depth:
            continue
        upper = word.upper()
        if not started:
            if upper != "SELECT":
                return None
            started = True
        elif upper == "FROM":
            found = _OBJECT.match(soql, match.end())
            return found.group("name") if found else None
    return None


def check_query_model(soql: str, model_name: str) -> None:
    """Refuse a query whose top-level FROM object is not `model_name` (case-insensitive).

    `query(Account, "SELECT Id FROM Contact")` would decode Contact rows as Account records
    with every field a silent mismatch. Aggregates (`SELECT COUNT() FROM Account`) still name
    their object, so they pass for the right model. When `query_object()` cannot tell, the
    query goes through and Salesforce judges it.
    """
    found = query_object(soql)
    if found is not None and found.lower() != model_name.lower():
        # Object names only: the query text may already hold bound values.
        raise QueryModelMismatchError(
            f"the query reads FROM {found} but the model is {model_name}: "
            f"query the {found} model, or select FROM {model_name}"
        )


def query_arguments(
    model: type[SObject] | str, soql: Any, params: Any
) -> tuple[str, type[SObject] | None]:
    """The one query shape every API takes, checked: (bound SOQL, model or None).

    `query(Account, soql, params)` is typed: the FROM object must be Account's.
    `query(soql, params)` is untyped: each row is decoded as its package model.
    """
    if isinstance(model, str):
        if params is not None:
            raise UsageError(
                "query(soql, params) takes two arguments; a model goes first: "
                "query(Model, soql, params)"
            )
        text, binds, target = model, soql, None
    else:
        text, binds, target = soql, params, model
        if not isinstance(text, str):
            raise UsageError("query(Model, soql, params): soql must be a string")
        check_query_model(text, model.__sobject_type__)
    if binds is not None and not isinstance(binds, Mapping):
        raise UsageError(f"params must be a mapping of names to values, not {type(binds).__name__}")
    return bind(text, binds), target
