"""SOSL: `FIND {term} [IN ... FIELDS] RETURNING Obj(fields WHERE ... ORDER BY ... LIMIT n)`.

The fake org has no search index: a term matches a record when it occurs, ignoring case, as a
substring of one of the searched text fields (`*` = any characters, `?` = one character).
Terms combine with AND, OR, AND NOT and parentheses; plain juxtaposition means AND, and a
quoted phrase is matched as one substring. Each RETURNING object is compiled as a SOQL query
plus the term's predicate, so its field list, WHERE and ORDER BY behave exactly as in SOQL.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from typing import Any, Final, Literal, cast

import attrs

from . import ast, sosl_match
from .compiler import compile_query
from .errors import MALFORMED_SEARCH, SoqlError
from .parser import MAX_NESTING, MAX_STATEMENT_CHARS, Parser
from .results import JsonValue, QueryResult
from .schema import ObjectDef, Schema
from .scope import Scope

SearchGroup = Literal["ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR"]

DEFAULT_SEARCH_LIMIT: Final = 2000
# "If the SearchQuery string is longer than 10,000 characters, no result rows are returned."
MAX_TERM_CHARS: Final = 10_000
# "If SearchQuery is longer than 4,000 characters, any logical operators are removed" (the
# words are then ORed: "the AND operator ... will default to the OR operator").
MAX_OPERATOR_TERM_CHARS: Final = 4_000
_NO_TERM: Final = "No search term found. The search term must be enclosed in braces."
_ALL_FIELD_TYPES: Final = frozenset({"string", "textarea", "email", "phone", "url", "combobox"})
_TERM_TOKEN_RE: Final = re.compile(
    r'\s*(?:(?P<paren>[()])|"(?P<phrase>(?:[^"\\]|\\.)*)"|(?P<word>(?:[^\s()"\\]|\\.)+))'
)


# Term syntax ------------------------------------------------------------------------------


@attrs.frozen
class Word:
    text: str
    phrase: bool


@attrs.frozen
class TermOp:
    op: Literal["AND", "OR", "NOT"]
    operands: tuple[Term, ...]


Term = Word | TermOp


@attrs.frozen
class Returning:
    object_name: str
    pos: ast.Pos
    query: ast.Query


@attrs.frozen
class SearchQuery:
    term: Term
    group: SearchGroup
    returning: tuple[Returning, ...]
    limit: int | None
    term_chars: int = 0


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _TermParser:
    """or := and (OR and)* ; and := atom ((AND [NOT] | nothing) atom)* ; atom := word | ( or )."""

    def __init__(self, raw: str, fail: SoqlError) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.fail = fail
        self.depth = 0  # open parentheses, bounded like SOQL's nesting
        pos = 0
        end = len(raw.rstrip())  # linear: no re-slicing of the rest per token
        while pos < end:
            match = _TERM_TOKEN_RE.match(raw, pos)
            if match is None:
                raise fail
            kind = match.lastgroup or "word"
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _is_op(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token == ("word", word)

    def parse(self) -> Term:
        term = self._or()
        if self._peek() is not None:
            raise self.fail
        return term

    def _or(self) -> Term:
        operands = [self._and()]
        while self._is_op("OR"):
            self.index += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else TermOp("OR", tuple(operands))

    def _and(self) -> Term:
        operands = [self._atom()]
        while (
            (token := self._peek()) is not None
            and token != ("paren", ")")
            and not self._is_op("OR")
        ):
            negate = False
            if self._is_op("AND"):
                self.index += 1
                if self._is_op("NOT"):
                    self.index += 1
                    negate = True
            atom = self._atom()
            operands.append(TermOp("NOT", (atom,)) if negate else atom)
        return operands[0] if len(operands) == 1 else TermOp("AND", tuple(operands))

    def _atom(self) -> Term:
        token = self._peek()
        operator = token is not None and token[0] == "word" and token[1] in ("AND", "OR", "NOT")
        if token is None or operator or token == ("paren", ")"):
            raise self.fail
        self.index += 1
        kind, text = token
        if kind == "paren":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.fail
            inner = self._or()
            self.depth -= 1
            if self._peek() != ("paren", ")"):
                raise self.fail
            self.index += 1
            return inner
        return Word(_unescape(text), phrase=kind == "phrase")


def _without_operators(term: Term) -> Term:
    """Every word of `term`, in order, ORed: AND, OR, AND NOT and grouping dropped."""
    words: list[Term] = []
    pending: list[Term] = [term]
    while pending:  # depth-first, left to right, without recursion
        node = pending.pop()
        if isinstance(node, Word):
            words.append(node)
        else:
            pending.extend(reversed(node.operands))
    return words[0] if len(words) == 1 else TermOp("OR", tuple(words))


def _extract_term(sosl: str) -> tuple[str, int, int]:
    """The raw term, the offset just after it and its own offset.

    The REST API takes the term in braces only; `FIND 'term'` is Apex syntax and is refused.
    """
    match = re.match(r"\s*FIND\s*", sosl, re.IGNORECASE)
    if match is None:
        raise SoqlError(MALFORMED_SEARCH, _NO_TERM)
    start = match.end()
    closing = {"{": "}"}.get(sosl[start : start + 1])
    if closing is None:
        raise SoqlError(MALFORMED_SEARCH, _NO_TERM)
    pos = start + 1
    while pos < len(sosl) and sosl[pos] != closing:
        pos += 2 if sosl[pos] == "\\" else 1
    if pos >= len(sosl):
        raise SoqlError(MALFORMED_SEARCH, _NO_TERM)
    return sosl[start + 1 : pos], pos + 1, start


# Statement syntax -------------------------------------------------------------------------


def _parse_returning(parser: Parser) -> Returning:
    token = parser.peek
    if token.kind != "ident":
        parser.fail()
    parser.advance()
    pos = parser.pos(token)
    select: tuple[ast.SelectItem, ...] = (ast.FieldItem(ast.Path(("Id",), pos)),)
    where = None
    order_by: tuple[ast.OrderItem, ...] = ()
    limit = offset = None
    offset_pos = None
    if parser.peek.is_punct("("):
        parser.advance()
        select = parser.parse_select_list()
        for item in select:
            if not isinstance(item, ast.FieldItem) or item.alias is not None:
                parser.fail(None, "Only fields may be listed in RETURNING")
        where = parser.parse_condition() if parser.accept_word("WHERE") else None
        if parser.accept_word("ORDER"):
            parser.expect_word("BY")
            order_by = parser.parse_order_by()
        limit = parser.parse_int() if parser.accept_word("LIMIT") else None
        if parser.accept_word("OFFSET"):
            offset_pos = parser.pos(parser.peek)
            offset = parser.parse_int()
        parser.expect_punct(")")
    query = ast.Query(
        select=select,
        from_name=token.text,
        from_pos=pos,
        where=where,
        order_by=order_by,
        limit=limit,
        offset=offset,
        offset_pos=offset_pos,
    )
    return Returning(token.text, pos, query)


def _skip_with(parser: Parser) -> None:
    """WITH SNIPPET, WITH METADATA = 'LABELS', ...: accepted and ignored."""
    depth = 0
    parser.advance()
    while parser.peek.kind != "eof":
        token = parser.peek
        if depth == 0 and token.is_word("WITH", "LIMIT", "UPDATE"):
            return
        depth += token.is_punct("(") - token.is_punct(")")
        parser.advance()


def parse_search(schema: Schema, sosl: str) -> SearchQuery:
    """Parse SOSL; raises SoqlError(MALFORMED_SEARCH) on bad syntax."""
    if len(sosl) > MAX_STATEMENT_CHARS:  # before the term is read: refused in constant time
        Parser(sosl, error_code=MALFORMED_SEARCH)
    raw_term, rest, term_offset = _extract_term(sosl)
    line = sosl.count("\n", 0, term_offset) + 1
    column = term_offset - (sosl.rfind("\n", 0, term_offset) + 1) + 1
    bad_term = SoqlError.at(MALFORMED_SEARCH, "invalid search term", sosl, line, column)
    if not raw_term.strip():
        raise SoqlError(MALFORMED_SEARCH, _NO_TERM)
    term = _TermParser(raw_term, bad_term).parse()
    if len(raw_term) > MAX_OPERATOR_TERM_CHARS:
        term = _without_operators(term)
    parser = Parser(sosl, rest, error_code=MALFORMED_SEARCH)
    group: SearchGroup = "ALL"
    if parser.accept_word("IN"):
        word = parser.expect_word("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR").text.upper()
        group = cast(SearchGroup, word)
        parser.expect_word("FIELDS")
    returning: list[Returning] = []
    if parser.accept_word("RETURNING"):
        returning.append(_parse_returning(parser))
        while parser.peek.is_punct(","):
            parser.advance()
            returning.append(_parse_returning(parser))
    while parser.peek.is_word("WITH"):
        _skip_with(parser)
    limit = parser.parse_int() if parser.accept_word("LIMIT") else None
    if parser.accept_word("UPDATE"):
        parser.expect_word("TRACKING", "VIEWSTAT")
    if parser.peek.kind != "eof":
        parser.fail()
    if not returning:  # every object with searchable fields, Id only
        for obj in schema:
            if _search_fields(obj, group):
                pos = ast.Pos(1, 1)
                query = ast.Query((ast.FieldItem(ast.Path(("Id",), pos)),), obj.name, pos)
                returning.append(Returning(obj.name, pos, query))
    return SearchQuery(term, group, tuple(returning), limit, len(raw_term))


# Matching -----------------------------------------------------------------------------------


def _search_fields(obj: ObjectDef, group: SearchGroup) -> list[str]:
    stored = obj.stored_fields()
    if group == "NAME":
        names = [f.name for f in stored if f.name_field]
        return names or [f.name for f in stored if f.name == "Name"]
    if group == "EMAIL":
        return [f.name for f in stored if f.type == "email"]
    if group == "PHONE":
        return [f.name for f in stored if f.type == "phone"]
    # ALL and SIDEBAR: every searchable text field.
    return [f.name for f in stored if f.type in _ALL_FIELD_TYPES]


def _term_node(term: Term) -> list[Any]:
    if isinstance(term, Word):
        return ["w", term.text, term.phrase]
    return [term.op, *(_term_node(operand) for operand in term.operands)]


def _term_sql(scope: Scope, term: Term, columns: list[str]) -> str:
    """One call of the Python matcher per row (`sosl_match`): linear in the term's size."""
    args = ", ".join([scope.bind(sosl_match.term_key(_term_node(term))), *columns])
    return f"{sosl_match.FUNCTION}({args})"


def execute_search(
    conn: sqlite3.Connection,
    schema: Schema,
    sosl: str,
    *,
    now: dt.datetime | None = None,
    api_version: str = "62.0",
    instance_path_prefix: str = "/services/data",
) -> dict[str, JsonValue]:
    """Run SOSL and return the v36.0+ body `{"searchRecords": [...]}`, objects in RETURNING
    order, at most LIMIT records overall (2,000 by default)."""
    search = parse_search(schema, sosl)
    budget = DEFAULT_SEARCH_LIMIT if search.limit is None else search.limit
    found: list[JsonValue] = []
    if search.term_chars > MAX_TERM_CHARS:
        return {"searchRecords": found}
    sosl_match.register(conn)

    def term_filter(scope: Scope) -> str:
        fields = _search_fields(scope.obj, search.group)
        return _term_sql(scope, search.term, [scope.col(scope.table, f) for f in fields])

    for item in search.returning:
        if budget <= len(found):
            break
        compiled = compile_query(schema, item.query, source=sosl, now=now, extra_filter=term_filter)
        result = QueryResult(
            conn, compiled, api_version=api_version, instance_path_prefix=instance_path_prefix
        )
        found.extend(result.fetch(budget - len(found)))
        result.close()
    return {"searchRecords": found}
