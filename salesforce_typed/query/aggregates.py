"""Aggregate functions for `select(...).group_by(...)`; each is read back from the
AggregateResult row by its position (`expr0`, `expr1`, ...). As Salesforce documents, SUM and
AVG take numbers only, and no aggregate takes a checkbox, a multi-select picklist, a time,
an address or a long text area (their columns are not accepted here)."""

from __future__ import annotations

from typing import Any, Never, TypeVar

from salesforce_typed.query.builder import Agg
from salesforce_typed.query.columns import Number, Selectable, _Ordered

__all__ = ["avg", "count", "count_distinct", "max_", "min_", "sum_"]

M = TypeVar("M")
T = TypeVar("T")
N = TypeVar("N")


def _agg(fn: str, col: Selectable[Any, Any, Any]) -> Any:
    return Agg(col.root, f"{fn}({col.path})", col.info)


def count(col: _Ordered[M, Any, Any, Any]) -> Agg[M, int, Never]:
    """COUNT(field): rows where the field is not null (`count(Account.Id)` counts all)."""
    agg: Agg[M, int, Never] = _agg("COUNT", col)
    return agg


def count_distinct(col: _Ordered[M, Any, Any, Any]) -> Agg[M, int, Never]:
    agg: Agg[M, int, Never] = _agg("COUNT_DISTINCT", col)
    return agg


def sum_(col: Number[M, Any, Any, Any]) -> Agg[M, float, None]:
    agg: Agg[M, float, None] = _agg("SUM", col)
    return agg


def avg(col: Number[M, Any, Any, Any]) -> Agg[M, float, None]:
    agg: Agg[M, float, None] = _agg("AVG", col)
    return agg


def min_(col: _Ordered[M, T, Any, Any]) -> Agg[M, T, None]:
    agg: Agg[M, T, None] = _agg("MIN", col)
    return agg


def max_(col: _Ordered[M, T, Any, Any]) -> Agg[M, T, None]:
    agg: Agg[M, T, None] = _agg("MAX", col)
    return agg
