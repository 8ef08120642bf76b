"""SOQL tokens with 1-based row/column positions, for Salesforce's caret error messages.

Keywords are not a token kind: SOQL lets keywords name objects (`FROM Group`, `FROM Order`),
so the parser decides from context. Date and datetime literals are single tokens because
`2024-01-31` must not read as arithmetic. String escapes follow the SOQL reference; LIKE
patterns keep `\\%` and `\\_` distinct from the `%` and `_` wildcards.
"""

from __future__ import annotations

import bisect
import re
from typing import Final, Literal, cast

import attrs

from .errors import MALFORMED_QUERY, SoqlError

TokenKind = Literal["ident", "string", "number", "date", "datetime", "punct", "eof"]

_TOKEN_RE: Final = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<punct>!=|<>|<=|>=|[(),.:=<>])
    """,
    re.VERBOSE | re.DOTALL,
)

_SIMPLE_ESCAPES: Final = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}


@attrs.frozen
class Token:
    """One token; `value` is the decoded string for string tokens, else the raw text."""

    kind: TokenKind
    text: str
    value: str
    offset: int
    line: int
    column: int

    def is_word(self, *words: str) -> bool:
        """True for an identifier spelling one of `words` (upper-case), in any case."""
        return self.kind == "ident" and self.text.upper() in words

    def is_punct(self, *symbols: str) -> bool:
        return self.kind == "punct" and self.text in symbols


class _Positions:
    """Offset -> (row, column), 1-based, over the original source."""

    def __init__(self, source: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def at(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self._starts, offset)
        return row, offset - self._starts[row - 1] + 1


def _escape_error(source: str, pos: _Positions, offset: int, raw: str, seq: str) -> SoqlError:
    row, col = pos.at(offset)
    detail = (
        f"Invalid string literal '{raw}'. Illegal character sequence '{seq}' in string literal."
    )
    return SoqlError.at(MALFORMED_QUERY, detail, source, row, col)


def _decode(raw: str, *, like: bool) -> str:
    """Decode escapes; for LIKE, emit an SQL pattern whose escape char is backslash.

    Raises ValueError(sequence) on an illegal escape so the caller can report its position.
    """
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in ("%", "_"):
            out.append("\\" + nxt if like else nxt)
            i += 2
        elif nxt.lower() in _SIMPLE_ESCAPES or nxt in _SIMPLE_ESCAPES:
            char = _SIMPLE_ESCAPES.get(nxt, _SIMPLE_ESCAPES.get(nxt.lower(), nxt))
            out.append("\\\\" if like and char == "\\" else char)
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise ValueError(raw[i : i + 2])
    return "".join(out)


def like_pattern(token: Token) -> str:
    """The SQL LIKE pattern (ESCAPE '\\') for a string token already validated by the lexer."""
    return _decode(token.text[1:-1], like=True)


def tokenize(source: str, start: int = 0) -> list[Token]:
    """All tokens of `source[start:]`, ending with an `eof` token; positions stay absolute."""
    pos = _Positions(source)
    tokens: list[Token] = []
    offset = start
    while offset < len(source):
        match = _TOKEN_RE.match(source, offset)
        if match is None:
            row, col = pos.at(offset)
            char = source[offset]
            if char == "'":
                detail = f"unexpected token: '{source[offset:].splitlines()[0]}'"
            else:
                detail = f"unexpected token: '{char}'"
            raise SoqlError.at(MALFORMED_QUERY, detail, source, row, col)
        kind = match.lastgroup
        text = match.group()
        if kind != "ws":
            row, col = pos.at(offset)
            value = text
            if kind == "string":
                try:
                    value = _decode(text[1:-1], like=False)
                except ValueError as exc:
                    raise _escape_error(source, pos, offset, text[1:-1], str(exc)) from None
            tokens.append(Token(cast(TokenKind, kind), text, value, offset, row, col))
        offset = match.end()
    row, col = pos.at(len(source))
    tokens.append(Token("eof", "<EOF>", "<EOF>", len(source), row, col))
    return tokens
