"""SOQL AST -> checked SQLite statements plus the layout the shaper needs (`CompiledQuery`).

Three kinds of query come out: plain records (with parent joins and per-page child
statements), aggregates (AggregateResult rows, `exprN` aliases) and `COUNT()` (only a
count). Names are checked here so errors carry Salesforce's codes and caret positions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from . import ast
from .errors import (
    INVALID_FIELD,
    INVALID_TYPE,
    MALFORMED_QUERY,
    NUMBER_OUTSIDE_VALID_RANGE,
    flag_refusal,
    unknown_child_relationship,
    unsupported_sobject,
)
from .parser import parse_query
from .plan import (
    AggregateSlot,
    ChildPlan,
    ChildSlot,
    CompiledQuery,
    CompoundSlot,
    Params,
    ParentSlot,
    RecordShape,
    ScalarSlot,
    Slot,
)
from .predicates import compile_condition
from .schema import FieldDef, ObjectDef, Schema
from .scope import CompileState, Resolved, Scope, Step

MAX_OFFSET: Final = 2000
MAX_FIELDS_LIMIT: Final = 200  # FIELDS(ALL|CUSTOM) needs LIMIT <= 200
MAX_CHILD_DEPTH: Final = 5  # parent-to-child nesting allowed since API 58.0

ExtraFilter = Callable[[Scope], str]


def compile_soql(
    schema: Schema,
    soql: str,
    *,
    now: dt.datetime | None = None,
    include_deleted: bool = False,
) -> CompiledQuery:
    """Parse and compile one SOQL statement; raises SoqlError like Salesforce would."""
    return compile_query(
        schema, parse_query(soql), source=soql, now=now, include_deleted=include_deleted
    )


def compile_query(
    schema: Schema,
    query: ast.Query,
    *,
    source: str,
    now: dt.datetime | None = None,
    include_deleted: bool = False,
    extra_filter: ExtraFilter | None = None,
) -> CompiledQuery:
    """Compile a parsed query; `extra_filter` adds SQL over the base scope (SOSL terms)."""
    state = CompileState(
        schema=schema,
        source=source,
        now=now if now is not None else dt.datetime.now(dt.UTC),
        include_deleted=include_deleted,
    )
    obj = _object(state, query)
    scope = Scope(state, obj, {}, query_alias=query.alias)
    _check_paging(state, query)
    filters = scope.base_filters()
    if query.where is not None:
        filters.append(compile_condition(scope, query.where))
    if extra_filter is not None:
        filters.append(extra_filter(scope))
    items = query.select
    first = items[0]
    if len(items) == 1 and isinstance(first, ast.AggregateItem) and first.aggregate.path is None:
        return _compile_count(scope, query, filters)
    if query.group_by or any(isinstance(i, ast.AggregateItem) for i in items):
        return _compile_aggregate(scope, query, filters)
    shape = _ShapeBuilder(scope, obj, scope.col(scope.table, "Id"))
    _select_records(scope, query, shape, depth=1)
    order = _order_sql(scope, query.order_by)
    tail = _where_sql(filters) + order + _limit_sql(scope, query)
    sql = f"SELECT {', '.join(scope.columns)} FROM {scope.from_sql()}{tail}"
    count_sql = _count_sql(scope, query, filters, "")
    return CompiledQuery(
        kind="records",
        object_name=obj.name,
        sql=sql,
        params=scope.params,
        count_sql=count_sql,
        shape=shape.freeze(),
    )


def _object(state: CompileState, query: ast.Query) -> ObjectDef:
    obj = state.schema.object(query.from_name)
    if obj is None:
        raise state.error(INVALID_TYPE, unsupported_sobject(query.from_name), query.from_pos)
    return obj


def _check_paging(state: CompileState, query: ast.Query) -> None:
    if query.offset is not None and query.offset > MAX_OFFSET and query.offset_pos:
        raise state.error(
            NUMBER_OUTSIDE_VALID_RANGE,
            f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            query.offset_pos,
        )
    unbounded = query.limit is None or query.limit > MAX_FIELDS_LIMIT
    for item in query.select:
        if isinstance(item, ast.FieldsMacro) and item.kind != "STANDARD" and unbounded:
            raise state.error(
                MALFORMED_QUERY,
                f"The SOQL FIELDS function must have a LIMIT of at most {MAX_FIELDS_LIMIT}",
                item.pos,
            )


def _where_sql(filters: list[str]) -> str:
    return f" WHERE {' AND '.join(filters)}" if filters else ""


def _limit_sql(scope: Scope, query: ast.Query) -> str:
    if query.limit is None and not query.offset:
        return ""
    sql = f" LIMIT {scope.bind(query.limit if query.limit is not None else -1)}"
    if query.offset:
        sql += f" OFFSET {scope.bind(query.offset)}"
    return sql


def _count_sql(scope: Scope, query: ast.Query, filters: list[str], grouping: str) -> str:
    """totalSize: rows (or groups) the statement returns, LIMIT and OFFSET applied."""
    body = f"FROM {scope.from_sql()}{_where_sql(filters)}{grouping}"
    limit = _limit_sql(scope, query)
    if not grouping and not limit:
        return f"SELECT COUNT(*) {body}"
    return f"SELECT COUNT(*) FROM (SELECT 1 {body}{limit})"


def _order_sql(scope: Scope, items: tuple[ast.OrderItem, ...]) -> str:
    """ORDER BY; NULLS is spelled out only when it differs from SQLite's (and Salesforce's)
    default, ASC nulls first and DESC nulls last, so an index can still serve the order."""
    terms = []
    for item in items:
        operand = scope.operand(item.operand, purpose="sorted")
        expr = f"{operand.expr} COLLATE NOCASE" if operand.is_text else operand.expr
        term = f"{expr} {'DESC' if item.descending else 'ASC'}"
        if item.nulls_first is not None and item.nulls_first == item.descending:
            term += " NULLS FIRST" if item.nulls_first else " NULLS LAST"
        terms.append(term)
    return f" ORDER BY {', '.join(terms)}" if terms else ""


# Records ------------------------------------------------------------------------------------


def _compound_key(compound: FieldDef, component: FieldDef) -> str:
    """JSON key of a component: BillingCity -> city, Loc__Latitude__s -> latitude."""
    name = component.name.removesuffix("__s")
    if compound.name.endswith("__c"):
        prefix = compound.name[:-3] + "__"
    else:
        prefix = compound.name.removesuffix("Address")
    if name.startswith(prefix):
        name = name[len(prefix) :]
    return name[:1].lower() + name[1:]


class _ShapeBuilder:
    """Collects slots in SELECT order; parent paths share one nested builder."""

    def __init__(
        self, scope: Scope, obj: ObjectDef, id_expr: str, type_expr: str | None = None
    ) -> None:
        self.obj = obj
        self.id_column = scope.column(id_expr)
        self.type_column = None if type_expr is None else scope.column(type_expr)
        self.entries: list[tuple[str, Slot | _ShapeBuilder]] = []
        self.keys: dict[str, int] = {}

    def _add(self, key: str, entry: Slot | _ShapeBuilder) -> None:
        self.keys[key.lower()] = len(self.entries)
        self.entries.append((key, entry))

    def has(self, key: str) -> bool:
        return key.lower() in self.keys

    def parent(self, scope: Scope, step: Step) -> _ShapeBuilder:
        if self.has(step.name):
            existing = self.entries[self.keys[step.name.lower()]][1]
            if isinstance(existing, _ShapeBuilder):
                return existing
        builder = _ShapeBuilder(scope, step.obj, step.id_expr, step.type_expr)
        self._add(step.name, builder)
        return builder

    def add_field(self, scope: Scope, resolved: Resolved, *, quiet: bool = False) -> None:
        builder = self
        for step in resolved.steps:
            builder = builder.parent(scope, step)
        field = resolved.field
        if builder.has(field.name):
            if quiet:
                return
            raise scope.state.error(
                INVALID_FIELD, f"duplicate field selected: {field.name}", resolved.path.pos
            )
        if field.is_compound:
            parts = sorted(
                (_compound_key(field, c), scope.column(scope.col(resolved.table, c.name)), c.type)
                for c in builder.obj.components_of(field)
            )
            builder._add(field.name, CompoundSlot(field.name, tuple(parts)))
        else:
            builder._add(
                field.name, ScalarSlot(field.name, scope.column(resolved.expr), field.type)
            )

    def add_child(self, key: str, plan: ChildPlan) -> None:
        self._add(key, ChildSlot(key, plan))

    def freeze(self) -> RecordShape:
        slots: list[Slot] = []
        for key, entry in self.entries:
            slots.append(
                ParentSlot(key, entry.freeze()) if isinstance(entry, _ShapeBuilder) else entry
            )
        return RecordShape(self.obj.name, self.id_column, tuple(slots), self.type_column)


def _macro_fields(obj: ObjectDef, kind: ast.FieldsKind) -> list[FieldDef]:
    fields = list(obj.fields.values())
    if kind == "STANDARD":
        return [f for f in fields if not f.is_custom]
    if kind == "CUSTOM":
        return [f for f in fields if f.is_custom]
    return fields


def _select_records(scope: Scope, query: ast.Query, shape: _ShapeBuilder, *, depth: int) -> None:
    state = scope.state
    for item in query.select:
        if isinstance(item, ast.FieldItem):
            if item.alias is not None:
                detail = f"unexpected token: '{item.alias}'"
                raise state.error(MALFORMED_QUERY, detail, item.path.pos)
            shape.add_field(scope, scope.resolve(item.path))
        elif isinstance(item, ast.FieldsMacro):
            for field in _macro_fields(scope.obj, item.kind):
                path = ast.Path((field.name,), item.pos)
                shape.add_field(scope, scope.resolve(path), quiet=True)
        elif isinstance(item, ast.SubqueryItem):
            if depth >= MAX_CHILD_DEPTH:
                raise state.error(
                    MALFORMED_QUERY, "Too many levels of nested subqueries", item.query.from_pos
                )
            key, plan = _child_plan(state, scope.obj, item.query, depth=depth + 1)
            if shape.has(key):
                raise state.error(
                    INVALID_FIELD, f"duplicate field selected: {key}", item.query.from_pos
                )
            shape.add_child(key, plan)
        else:
            raise state.error(
                MALFORMED_QUERY,
                "Aggregate functions are not allowed in this query",
                item.aggregate.pos,
            )


def _child_plan(
    state: CompileState, parent: ObjectDef, query: ast.Query, *, depth: int
) -> tuple[str, ChildPlan]:
    """A subquery as one statement over all parent ids of a page (`:parent_ids`)."""
    rel = parent.child_relationship(query.from_name)
    child = state.schema.object(rel.child_object) if rel is not None else None
    if rel is None or child is None:
        detail = unknown_child_relationship(query.from_name)
        raise state.error(INVALID_TYPE, detail, query.from_pos)
    if query.group_by:
        raise state.error(MALFORMED_QUERY, "GROUP BY is not allowed in a subquery", query.from_pos)
    if query.offset is not None and query.offset > MAX_OFFSET and query.offset_pos:
        raise state.error(
            NUMBER_OUTSIDE_VALID_RANGE,
            f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            query.offset_pos,
        )
    params: Params = {}
    scope = Scope(state, child, params, query_alias=query.alias)
    shape = _ShapeBuilder(scope, child, scope.col(scope.table, "Id"))
    _select_records(scope, query, shape, depth=depth)
    fk = scope.col(scope.table, rel.field)
    filters = [f"{fk} IN (SELECT value FROM json_each(:parent_ids))", *scope.base_filters()]
    if query.where is not None:
        filters.append(compile_condition(scope, query.where))
    order = _order_sql(scope, query.order_by)
    fk_column = scope.column(fk)
    window = f"ROW_NUMBER() OVER (PARTITION BY {fk}{order}) AS sf_rn__"
    inner = f"SELECT {', '.join(scope.columns)}, {window} FROM {scope.from_sql()}"
    inner += _where_sql(filters)
    cuts = []
    if query.offset:
        cuts.append(f"sf_rn__ > {scope.bind(query.offset)}")
    if query.limit is not None:
        cuts.append(f"sf_rn__ <= {scope.bind(query.limit + (query.offset or 0))}")
    sql = f"SELECT * FROM ({inner}){_where_sql(cuts)} ORDER BY sf_rn__"
    return rel.relationship_name, ChildPlan(sql, params, shape.freeze(), fk_column)


# Aggregates and COUNT() ------------------------------------------------------------------


def _compile_count(scope: Scope, query: ast.Query, filters: list[str]) -> CompiledQuery:
    if query.having is not None and not query.group_by:
        detail = "HAVING needs GROUP BY in a COUNT() query"
        raise scope.state.error(MALFORMED_QUERY, detail, query.from_pos)
    grouping = _group_sql(scope, query) if query.group_by else ""
    if query.having is not None:
        grouping += f" HAVING {compile_condition(scope, query.having)}"
    return CompiledQuery(
        kind="count",
        object_name=scope.obj.name,
        sql=None,
        params=scope.params,
        count_sql=_count_sql(scope, query, filters, grouping),
    )


def _group_sql(scope: Scope, query: ast.Query) -> str:
    grouped: set[tuple[str, str]] = set()
    exprs = []
    for path in query.group_by:
        resolved = scope.resolve(path)
        field = resolved.field
        if field.is_compound or not field.groupable:
            raise scope.state.error(INVALID_FIELD, flag_refusal(field.name, "grouped"), path.pos)
        grouped.add((resolved.table, field.name))
        exprs.append(f"{resolved.expr} COLLATE NOCASE" if resolved.is_text else resolved.expr)
    scope.grouped = grouped
    return f" GROUP BY {', '.join(exprs)}"


def _compile_aggregate(scope: Scope, query: ast.Query, filters: list[str]) -> CompiledQuery:
    state = scope.state
    grouping = _group_sql(scope, query) if query.group_by else ""
    if scope.grouped is None:
        scope.grouped = set()
    slots: list[AggregateSlot] = []
    keys: set[str] = set()
    unnamed = 0
    for item in query.select:
        if isinstance(item, ast.FieldItem):
            resolved = scope.resolve(item.path)
            scope.require_grouped(resolved)
            key = item.alias or resolved.field.name
            slot = AggregateSlot(key, scope.column(resolved.expr), resolved.field.type)
            pos = item.path.pos
        elif isinstance(item, ast.AggregateItem):
            aggregate = item.aggregate
            if aggregate.path is None:
                raise state.error(
                    MALFORMED_QUERY, "COUNT() must be the only element of the SELECT", aggregate.pos
                )
            expr, value_type = scope.aggregate(aggregate)
            key = item.alias or f"expr{unnamed}"
            if item.alias is None:
                unnamed += 1
            slot = AggregateSlot(key, scope.column(expr), value_type)
            pos = aggregate.pos
        else:
            pos = item.pos if isinstance(item, ast.FieldsMacro) else item.query.from_pos
            raise state.error(
                MALFORMED_QUERY, "Only fields and aggregates are allowed with GROUP BY", pos
            )
        if key.lower() in keys:
            raise state.error(MALFORMED_QUERY, f"duplicate alias: {key}", pos)
        keys.add(key.lower())
        slots.append(slot)
    if query.having is not None:
        grouping += f" HAVING {compile_condition(scope, query.having)}"
    order = _order_sql(scope, query.order_by)
    head = f"SELECT {', '.join(scope.columns)} FROM {scope.from_sql()}"
    limit = _limit_sql(scope, query)
    body = _where_sql(filters) + grouping
    return CompiledQuery(
        kind="aggregate",
        object_name=scope.obj.name,
        sql=f"{head}{body}{order}{limit}",
        params=scope.params,
        # Counted over the aggregate itself: without GROUP BY it is one row, not one per record.
        count_sql=f"SELECT COUNT(*) FROM ({head}{body}{limit})",
        aggregate_slots=tuple(slots),
    )
