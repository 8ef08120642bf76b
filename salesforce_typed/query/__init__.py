"""A typed SOQL builder: `select(Account).where(Account.Industry == ...)`, run by every API's
`query()`; the columns come from the generated models (see columns.py and access.py)."""

from __future__ import annotations

from salesforce_typed.query.aggregates import avg, count, count_distinct, max_, min_, sum_
from salesforce_typed.query.builder import Select, Subquery, and_, not_, or_, select
from salesforce_typed.query.literals import DateLiteral

__all__ = [
    "DateLiteral",
    "Select",
    "Subquery",
    "and_",
    "avg",
    "count",
    "count_distinct",
    "max_",
    "min_",
    "not_",
    "or_",
    "select",
    "sum_",
]
