"""Recursive-descent SOQL parser: tokens -> `ast.Query`, or MALFORMED_QUERY with a caret.

Like Salesforce, the first token that does not fit is reported (`unexpected token: 'FORM'`),
and AND and OR may not be mixed at one level without parentheses. SOSL reuses the condition,
field-list and ORDER BY rules through `Parser`.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, NoReturn, cast

from . import ast, date_literals
from .errors import MALFORMED_QUERY, SoqlError
from .lexer import Token, like_pattern, tokenize

# Words that end a select item or FROM clause, so they can never be aliases.
_RESERVED: Final = frozenset(
    {
        "AND",
        "ASC",
        "BY",
        "DESC",
        "EXCLUDES",
        "FIRST",
        "FOR",
        "FROM",
        "GROUP",
        "HAVING",
        "IN",
        "INCLUDES",
        "LAST",
        "LIKE",
        "LIMIT",
        "NOT",
        "NULL",
        "NULLS",
        "OFFSET",
        "OR",
        "ORDER",
        "SELECT",
        "USING",
        "WHERE",
        "WITH",
        "RETURNING",
    }
)
_AGGREGATES: Final = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})
_OPERATORS: Final = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

# Salesforce's documented statement limit and its error text.
MAX_STATEMENT_CHARS: Final = 100_000
# Nesting (parentheses, NOT, subqueries) the parser accepts: deep enough for any real filter,
# shallow enough that neither the parser nor the compiler nears Python's recursion limit.
MAX_NESTING: Final = 64
# Integers in LIMIT/OFFSET and date literals are Java ints in Salesforce.
MAX_INT: Final = 2**31 - 1
QUERY_TOO_COMPLICATED: Final = "QUERY_TOO_COMPLICATED"
_TOO_COMPLICATED_TEXT: Final = (
    "Query is either selecting too many fields or the filter conditions are too complicated."
)


class Parser:
    """Cursor over the tokens of one statement; `error_code` is MALFORMED_SEARCH for SOSL."""

    def __init__(self, source: str, start: int = 0, *, error_code: str = MALFORMED_QUERY) -> None:
        if len(source) > MAX_STATEMENT_CHARS:
            kind = "SOSL" if error_code != MALFORMED_QUERY else "SOQL"
            raise SoqlError(
                error_code,
                f"{kind} statements can not be longer than {MAX_STATEMENT_CHARS} characters",
            )
        self.source = source
        self.tokens = tokenize(source, start)
        self.index = 0
        self.error_code = error_code
        self.depth = 0

    def enter(self, token: Token) -> None:
        """One more level of nesting at `token`; refused past MAX_NESTING (no recursion error)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise SoqlError.at(
                QUERY_TOO_COMPLICATED, _TOO_COMPLICATED_TEXT, self.source, token.line, token.column
            )

    # Token helpers -----------------------------------------------------------------------

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def peek_at(self, ahead: int) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def fail(self, token: Token | None = None, detail: str | None = None) -> NoReturn:
        token = token or self.peek
        shown = token.text[1:-1] if token.kind == "string" else token.text  # as Salesforce
        text = detail or f"unexpected token: '{shown}'"
        raise SoqlError.at(self.error_code, text, self.source, token.line, token.column)

    def expect_punct(self, symbol: str) -> Token:
        if not self.peek.is_punct(symbol):
            self.fail()
        return self.advance()

    def expect_word(self, *words: str) -> Token:
        if not self.peek.is_word(*words):
            self.fail()
        return self.advance()

    def accept_word(self, *words: str) -> Token | None:
        return self.advance() if self.peek.is_word(*words) else None

    @staticmethod
    def pos(token: Token) -> ast.Pos:
        return ast.Pos(token.line, token.column)

    # Query -------------------------------------------------------------------------------

    def parse_query(self, *, nested: bool = False) -> ast.Query:
        """SELECT ... up to EOF, or up to the closing parenthesis of a subquery."""
        self.expect_word("SELECT")
        select = self.parse_select_list()
        self.expect_word("FROM")
        from_token = self.peek
        if from_token.kind != "ident":
            self.fail()
        self.advance()
        alias = None
        if self.peek.kind == "ident" and self.peek.text.upper() not in _RESERVED:
            alias = self.advance().text
        if self.accept_word("USING"):
            self.expect_word("SCOPE")
            if self.peek.kind != "ident":
                self.fail()
            self.advance()
        where = self.parse_condition() if self.accept_word("WHERE") else None
        if self.accept_word("WITH"):
            self.parse_with()
        group_by: tuple[ast.Path, ...] = ()
        if self.accept_word("GROUP"):
            self.expect_word("BY")
            group_by = self.parse_group_by()
        having = self.parse_condition() if self.accept_word("HAVING") else None
        order_by: tuple[ast.OrderItem, ...] = ()
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            order_by = self.parse_order_by()
        limit = self.parse_int() if self.accept_word("LIMIT") else None
        offset_pos = None
        offset = None
        if self.accept_word("OFFSET"):
            offset_pos = self.pos(self.peek)
            offset = self.parse_int()
        if self.accept_word("FOR"):
            self.parse_for()
        if nested:
            if not self.peek.is_punct(")"):
                self.fail()
        elif self.peek.kind != "eof":
            self.fail()
        return ast.Query(
            select=select,
            from_name=from_token.text,
            from_pos=self.pos(from_token),
            alias=alias,
            where=where,
            group_by=group_by,
            having=having,
            order_by=order_by,
            limit=limit,
            offset=offset,
            offset_pos=offset_pos,
        )

    def parse_with(self) -> None:
        """WITH SECURITY_ENFORCED / USER_MODE / SYSTEM_MODE: accepted, no effect here."""
        self.expect_word("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE")

    def parse_for(self) -> None:
        """FOR VIEW / REFERENCE / UPDATE: accepted, no effect here."""
        self.expect_word("VIEW", "REFERENCE", "UPDATE")
        while self.peek.is_punct(","):
            self.advance()
            self.expect_word("VIEW", "REFERENCE", "UPDATE")

    def parse_int(self) -> int:
        token = self.peek
        digits = token.text.lstrip("0")
        if token.kind != "number" or not token.text.isdigit() or len(digits) > len(str(MAX_INT)):
            self.fail()
        value = int(token.text)
        if value > MAX_INT:  # a Java int in Salesforce: the literal does not parse
            self.fail()
        self.advance()
        return value

    # SELECT list -------------------------------------------------------------------------

    def parse_select_list(self) -> tuple[ast.SelectItem, ...]:
        items = [self.parse_select_item()]
        while self.peek.is_punct(","):
            self.advance()
            items.append(self.parse_select_item())
        return tuple(items)

    def parse_select_item(self) -> ast.SelectItem:
        token = self.peek
        if token.is_punct("("):
            self.enter(token)
            self.advance()
            query = self.parse_query(nested=True)
            self.expect_punct(")")
            self.depth -= 1
            return ast.SubqueryItem(query)
        if token.kind != "ident" or token.text.upper() in _RESERVED:
            self.fail()
        if self.peek_at(1).is_punct("("):
            if token.is_word("FIELDS"):
                self.advance()
                self.advance()
                kind = self.expect_word("ALL", "STANDARD", "CUSTOM").text.upper()
                self.expect_punct(")")
                return ast.FieldsMacro(cast(ast.FieldsKind, kind), self.pos(token))
            if token.is_word("TYPEOF"):
                self.fail(token, "TYPEOF is not supported by the fake org")
            aggregate = self.parse_aggregate()
            return ast.AggregateItem(aggregate, self.parse_alias())
        path = self.parse_path()
        return ast.FieldItem(path, self.parse_alias())

    def parse_alias(self) -> str | None:
        token = self.peek
        if token.kind != "ident" or token.text.upper() in _RESERVED:
            return None
        follower = self.peek_at(1)
        if follower.is_punct(",", ")") or follower.is_word("FROM") or follower.kind == "eof":
            self.advance()
            return token.text
        self.fail(token)

    def parse_aggregate(self) -> ast.Aggregate:
        token = self.peek
        name = token.text.upper()
        if name not in _AGGREGATES:
            self.fail(token, f"unsupported function: {token.text}")
        self.advance()
        self.expect_punct("(")
        func = cast(ast.AggregateFunc, name)
        if name == "COUNT" and self.peek.is_punct(")"):
            self.advance()
            return ast.Aggregate(func, None, self.pos(token))
        path = self.parse_path()
        self.expect_punct(")")
        return ast.Aggregate(func, path, self.pos(token))

    def parse_path(self) -> ast.Path:
        first = self.peek
        if first.kind != "ident":
            self.fail()
        parts = [self.advance().text]
        while self.peek.is_punct("."):
            self.advance()
            if self.peek.kind != "ident":
                self.fail()
            parts.append(self.advance().text)
        return ast.Path(tuple(parts), self.pos(first))

    def parse_operand(self) -> ast.Operand:
        token = self.peek
        if token.kind == "ident" and self.peek_at(1).is_punct("("):
            if token.text.upper() in _AGGREGATES:
                return self.parse_aggregate()
            self.fail(token, f"unsupported function: {token.text}")
        if token.kind != "ident" or token.text.upper() in _RESERVED:
            self.fail()
        return self.parse_path()

    # GROUP BY / ORDER BY -----------------------------------------------------------------

    def parse_group_by(self) -> tuple[ast.Path, ...]:
        if self.peek.is_word("ROLLUP", "CUBE") and self.peek_at(1).is_punct("("):
            self.fail(self.peek, f"GROUP BY {self.peek.text.upper()} is not supported")
        paths = [self.parse_path()]
        while self.peek.is_punct(","):
            self.advance()
            paths.append(self.parse_path())
        return tuple(paths)

    def parse_order_by(self) -> tuple[ast.OrderItem, ...]:
        items = [self.parse_order_item()]
        while self.peek.is_punct(","):
            self.advance()
            items.append(self.parse_order_item())
        return tuple(items)

    def parse_order_item(self) -> ast.OrderItem:
        operand = self.parse_operand()
        descending = False
        direction = self.accept_word("ASC", "DESC")
        if direction is not None:
            descending = direction.text.upper() == "DESC"
        nulls_first = None
        if self.accept_word("NULLS"):
            nulls_first = self.expect_word("FIRST", "LAST").text.upper() == "FIRST"
        return ast.OrderItem(operand, descending, nulls_first)

    # Conditions --------------------------------------------------------------------------

    def parse_condition(self) -> ast.Condition:
        """A chain of one kind of boolean operator; mixing needs parentheses, as in SOQL."""
        first = self.parse_unary()
        op_token = self.peek
        if not op_token.is_word("AND", "OR"):
            return first
        op = op_token.text.upper()
        operands = [first]
        while self.peek.is_word("AND", "OR"):
            if self.peek.text.upper() != op:
                self.fail()
            self.advance()
            operands.append(self.parse_unary())
        return ast.BoolOp(cast(ast.BoolOpKind, op), tuple(operands))

    def parse_unary(self) -> ast.Condition:
        """NOT chains are read in a loop; each NOT and `(` counts towards MAX_NESTING."""
        start = self.depth
        nots = 0
        while self.peek.is_word("NOT"):
            self.enter(self.advance())
            nots += 1
        if self.peek.is_punct("("):
            self.enter(self.advance())
            inner = self.parse_condition()
            self.expect_punct(")")
        else:
            inner = self.parse_simple()
        for _ in range(nots):
            inner = ast.Not(inner)
        self.depth = start
        return inner

    def parse_simple(self) -> ast.Condition:
        left = self.parse_operand()
        op_token = self.peek
        pos = self.pos(op_token)
        if op_token.is_word("NOT") and self.peek_at(1).is_word("IN"):
            self.advance()
            self.advance()
            return self.parse_in(left, negated=True, pos=pos)
        if op_token.is_word("IN"):
            self.advance()
            return self.parse_in(left, negated=False, pos=pos)
        if op_token.is_word("INCLUDES", "EXCLUDES"):
            self.advance()
            values = self.parse_value_list()
            strings = []
            for value in values:
                if not isinstance(value, ast.StringLit):
                    self.fail(None, "INCLUDES and EXCLUDES take string values")
                strings.append(value)
            return ast.Includes(left, op_token.is_word("EXCLUDES"), tuple(strings), pos)
        if op_token.is_word("LIKE"):
            self.advance()
            return ast.Comparison(left, "LIKE", self.parse_value(), pos)
        if op_token.kind == "punct" and op_token.text in _OPERATORS:
            self.advance()
            op = cast(ast.CompareOp, _OPERATORS[op_token.text])
            return ast.Comparison(left, op, self.parse_value(), pos)
        self.fail()

    def parse_in(self, left: ast.Operand, *, negated: bool, pos: ast.Pos) -> ast.InList:
        if self.peek.is_punct("(") and self.peek_at(1).is_word("SELECT"):
            self.enter(self.advance())
            query = self.parse_query(nested=True)
            self.expect_punct(")")
            self.depth -= 1
            return ast.InList(left, negated, query, pos)
        return ast.InList(left, negated, self.parse_value_list(), pos)

    def parse_value_list(self) -> tuple[ast.Literal_, ...]:
        self.expect_punct("(")
        values = [self.parse_value()]
        while self.peek.is_punct(","):
            self.advance()
            values.append(self.parse_value())
        self.expect_punct(")")
        return tuple(values)

    def parse_value(self) -> ast.Literal_:
        token = self.peek
        pos = self.pos(token)
        if token.kind == "string":
            self.advance()
            return ast.StringLit(token.value, like_pattern(token), pos)
        if token.kind == "number":
            self.advance()
            return ast.NumberLit(token.text, pos)
        if token.kind == "date":
            self.advance()
            try:
                return ast.DateLit(dt.date.fromisoformat(token.text), pos)
            except ValueError:
                self.fail(token)
        if token.kind == "datetime":
            self.advance()
            try:
                value = dt.datetime.fromisoformat(token.text.replace("z", "Z"))
            except ValueError:
                self.fail(token)
            return ast.DateTimeLit(value, pos)
        if token.is_punct(":"):
            self.fail(token, "Bind variables only allowed in Apex code")
        if token.kind == "ident":
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return ast.BoolLit(word == "TRUE", pos)
            if word == "NULL":
                self.advance()
                return ast.NullLit(pos)
            if date_literals.is_fixed(word):
                self.advance()
                return ast.DateConst(word, None, pos)
            if date_literals.takes_n(word):
                self.advance()
                self.expect_punct(":")
                return ast.DateConst(word, self.parse_int(), pos)
        self.fail()


def parse_query(soql: str) -> ast.Query:
    """Parse one SOQL statement; raises SoqlError(MALFORMED_QUERY) on bad syntax."""
    return Parser(soql).parse_query()
