"""The SOQL syntax tree: what the parser understood, before any name is checked.

Names stay as typed (case included) with their positions, so the compiler can resolve them
against the schema and point its caret at the right column.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs


@attrs.frozen
class Pos:
    line: int
    column: int


@attrs.frozen
class Path:
    """A dotted field path as typed: `Account.Owner.Name` -> ("Account", "Owner", "Name")."""

    parts: tuple[str, ...]
    pos: Pos

    @property
    def text(self) -> str:
        return ".".join(self.parts)


AggregateFunc = Literal["COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"]
FieldsKind = Literal["ALL", "STANDARD", "CUSTOM"]
BoolOpKind = Literal["AND", "OR"]


@attrs.frozen
class Aggregate:
    """`COUNT()` has no path; every other aggregate takes exactly one field path."""

    func: AggregateFunc
    path: Path | None
    pos: Pos


@attrs.frozen
class FieldItem:
    path: Path
    alias: str | None = None


@attrs.frozen
class AggregateItem:
    aggregate: Aggregate
    alias: str | None = None


@attrs.frozen
class FieldsMacro:
    """`FIELDS(ALL|STANDARD|CUSTOM)`, expanded by the compiler from the schema."""

    kind: FieldsKind
    pos: Pos


@attrs.frozen
class SubqueryItem:
    query: Query


SelectItem = FieldItem | AggregateItem | FieldsMacro | SubqueryItem


# Literals -------------------------------------------------------------------------------


@attrs.frozen
class StringLit:
    value: str
    like_pattern: str  # the SQL LIKE form, with `\` escaping literal % and _
    pos: Pos


@attrs.frozen
class NumberLit:
    text: str
    pos: Pos

    @property
    def is_integer(self) -> bool:
        return not any(c in self.text for c in ".eE")


@attrs.frozen
class BoolLit:
    value: bool
    pos: Pos


@attrs.frozen
class NullLit:
    pos: Pos


@attrs.frozen
class DateLit:
    value: dt.date
    pos: Pos


@attrs.frozen
class DateTimeLit:
    value: dt.datetime  # timezone-aware
    pos: Pos


@attrs.frozen
class DateConst:
    """A relative date literal: TODAY, LAST_N_DAYS:30, ... (`n` only for the :n forms)."""

    name: str
    n: int | None
    pos: Pos


Literal_ = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | DateConst


# Conditions -----------------------------------------------------------------------------

Operand = Path | Aggregate
CompareOp = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE"]


@attrs.frozen
class Comparison:
    left: Operand
    op: CompareOp
    value: Literal_
    pos: Pos


@attrs.frozen
class InList:
    """`IN`/`NOT IN` with literals, or with a semi-join subquery."""

    left: Operand
    negated: bool
    values: tuple[Literal_, ...] | Query
    pos: Pos


@attrs.frozen
class Includes:
    """Multipicklist INCLUDES/EXCLUDES; each value may be `a;b` meaning both a and b."""

    left: Operand
    excludes: bool
    values: tuple[StringLit, ...]
    pos: Pos


@attrs.frozen
class Not:
    operand: Condition


@attrs.frozen
class BoolOp:
    op: BoolOpKind
    operands: tuple[Condition, ...]


Condition = Comparison | InList | Includes | Not | BoolOp


# Query ----------------------------------------------------------------------------------


@attrs.frozen
class OrderItem:
    operand: Operand
    descending: bool
    nulls_first: bool | None  # None: Salesforce default (ASC nulls first, DESC nulls last)


@attrs.frozen
class Query:
    select: tuple[SelectItem, ...]
    from_name: str
    from_pos: Pos
    alias: str | None = None
    where: Condition | None = None
    group_by: tuple[Path, ...] = ()
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    offset_pos: Pos | None = None
