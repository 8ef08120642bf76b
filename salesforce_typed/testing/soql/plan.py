"""What the compiler hands the result shaper: SQL with named parameters plus row layouts.

A `RecordShape` says which result column feeds which JSON key, so shaping never looks at the
schema again. Child subqueries are separate statements (`ChildPlan`) run once per page with
the page's parent ids, never once per row.
"""

from __future__ import annotations

from typing import Literal

import attrs

from .storage import SqlValue

Params = dict[str, SqlValue]
QueryKind = Literal["records", "aggregate", "count"]


@attrs.frozen
class ScalarSlot:
    key: str
    column: int
    field_type: str


@attrs.frozen
class CompoundSlot:
    """An address or location, rebuilt from its components; null when all are null."""

    key: str
    parts: tuple[tuple[str, int, str], ...]  # (json key, column, field type), sorted by key


@attrs.frozen
class ParentSlot:
    """A child-to-parent path; `shape.id_column` null means the lookup is empty."""

    key: str
    shape: RecordShape


@attrs.frozen
class ChildSlot:
    key: str
    plan: ChildPlan


Slot = ScalarSlot | CompoundSlot | ParentSlot | ChildSlot


@attrs.frozen
class RecordShape:
    """`type_column` is set for polymorphic parents: the row names the concrete sObject."""

    object_name: str
    id_column: int
    slots: tuple[Slot, ...]
    type_column: int | None = None


@attrs.frozen
class ChildPlan:
    """One parent-to-child subquery: `sql` takes `:parent_ids` (a JSON array) plus `params`.

    Result columns: the shape's columns, then the parent key at `fk_column`; rows come in
    each parent's order, already cut to the subquery's LIMIT/OFFSET.
    """

    sql: str
    params: Params
    shape: RecordShape
    fk_column: int


@attrs.frozen
class AggregateSlot:
    key: str
    column: int
    value_type: str  # a field type, used to convert the stored value back to JSON


@attrs.frozen
class CompiledQuery:
    """A checked statement. `count_sql` yields totalSize; `sql` the rows (None for COUNT())."""

    kind: QueryKind
    object_name: str
    sql: str | None
    params: Params
    count_sql: str
    shape: RecordShape | None = None
    aggregate_slots: tuple[AggregateSlot, ...] = ()
