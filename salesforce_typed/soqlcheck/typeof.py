"""TYPEOF clauses, read beside the project's parser (which the fake org keeps without them).

`TYPEOF What WHEN Account THEN Phone WHEN Opportunity THEN Amount ELSE Name END` is cut out
of the text (replaced by `Id` and blanks of the same length, so every other column stays put)
and returned as a `Typeof` for the checker to resolve against the relationship's targets.
"""

from __future__ import annotations

import attrs

from salesforce_typed.testing.soql import ast
from salesforce_typed.testing.soql.errors import MALFORMED_QUERY, SoqlError
from salesforce_typed.testing.soql.lexer import Token, tokenize


@attrs.frozen
class When:
    type_name: str
    pos: ast.Pos
    paths: tuple[ast.Path, ...]


@attrs.frozen
class Typeof:
    relationship: str
    pos: ast.Pos
    whens: tuple[When, ...]
    otherwise: tuple[ast.Path, ...]
    from_pos: ast.Pos | None = None  # where its SELECT names its FROM object (or child list)


class _Reader:
    def __init__(self, source: str, tokens: list[Token], index: int) -> None:
        self.source = source
        self.tokens = tokens
        self.index = index

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def ident(self) -> Token:
        token = self.take()
        if token.kind != "ident":
            raise SoqlError.at(
                MALFORMED_QUERY,
                f"unexpected token: '{token.text}'",
                self.source,
                token.line,
                token.column,
            )
        return token

    def paths(self) -> tuple[ast.Path, ...]:
        out = [self.path()]
        while self.tokens[self.index].is_punct(","):
            self.take()
            out.append(self.path())
        return tuple(out)

    def path(self) -> ast.Path:
        first = self.ident()
        parts = [first.text]
        while self.tokens[self.index].is_punct("."):
            self.take()
            parts.append(self.ident().text)
        return ast.Path(tuple(parts), ast.Pos(first.line, first.column))

    def clause(self) -> Typeof:
        self.take()  # TYPEOF
        rel = self.ident()
        whens: list[When] = []
        while self.tokens[self.index].is_word("WHEN"):
            self.take()
            type_token = self.ident()
            if not self.take().is_word("THEN"):
                self._fail()
            whens.append(
                When(type_token.text, ast.Pos(type_token.line, type_token.column), self.paths())
            )
        otherwise: tuple[ast.Path, ...] = ()
        if self.tokens[self.index].is_word("ELSE"):
            self.take()
            otherwise = self.paths()
        if not whens or not self.tokens[self.index].is_word("END"):
            self._fail()
        self.take()
        return Typeof(
            rel.text, ast.Pos(rel.line, rel.column), tuple(whens), otherwise, self.from_pos()
        )

    def from_pos(self) -> ast.Pos | None:
        """The name after this SELECT's own FROM (skipping nested parentheses)."""
        depth = 0
        for index in range(self.index, len(self.tokens) - 1):
            token = self.tokens[index]
            if token.is_punct("("):
                depth += 1
            elif token.is_punct(")"):
                depth -= 1
                if depth < 0:
                    return None
            elif depth == 0 and token.is_word("FROM"):
                name = self.tokens[index + 1]
                return ast.Pos(name.line, name.column)
        return None

    def _fail(self) -> None:
        token = self.tokens[max(self.index - 1, 0)]
        raise SoqlError.at(
            MALFORMED_QUERY,
            f"unexpected token: '{token.text}'",
            self.source,
            token.line,
            token.column,
        )


def _blank(text: str) -> str:
    """`Id` then blanks, newlines kept, as long as `text`."""
    body = "".join("\n" if c == "\n" else " " for c in text)
    return "Id" + body[2:] if not body.startswith("\n") else body


def extract(source: str) -> tuple[str, list[Typeof]]:
    """`source` without its TYPEOF clauses, and the clauses (in any SELECT list)."""
    tokens = tokenize(source)
    found: list[Typeof] = []
    out: list[str] = []
    last = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.is_word("TYPEOF") and tokens[index + 1].kind == "ident":
            reader = _Reader(source, tokens, index)
            found.append(reader.clause())
            end = tokens[reader.index - 1]
            stop = end.offset + len(end.text)
            out.append(source[last : token.offset])
            out.append(_blank(source[token.offset : stop]))
            last = stop
            index = reader.index
            continue
        index += 1
    out.append(source[last:])
    return "".join(out), found
