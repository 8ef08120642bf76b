"""A typed SOQL builder: `select(Account).where(Account.Industry == ...)`, run by every API's
`query()`; the columns come from the generated models (see columns.py and access.py)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesforce_typed.query.aggregates import avg, count, count_distinct, max_, min_, sum_
    from salesforce_typed.query.builder import Select, Subquery, and_, not_, or_, select
    from salesforce_typed.query.literals import DateLiteral

# Loaded on first use: every generated model imports query.access (class-level columns),
# and importing a model must not pay for the builder.
_HOME = {
    **dict.fromkeys(("avg", "count", "count_distinct", "max_", "min_", "sum_"), "aggregates"),
    **dict.fromkeys(("Select", "Subquery", "and_", "not_", "or_", "select"), "builder"),
    "DateLiteral": "literals",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
