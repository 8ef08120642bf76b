"""Name resolution for one SELECT: field paths to SQL column references, joins and parameters.

Every user value becomes a named parameter here (`bind`), never SQL text. Parent paths of
any depth become LEFT JOINs on the parent's Id, shared by every path with the same prefix;
a polymorphic lookup joins its first `referenceTo` only.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from . import ast
from .errors import (
    INVALID_FIELD,
    MALFORMED_QUERY,
    SoqlError,
    flag_refusal,
    no_such_column,
    unknown_relationship,
)
from .plan import Params
from .schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef, Schema
from .storage import SqlValue, quote_ident

_NOT_AGGREGATABLE: Final = frozenset({"boolean", "multipicklist", "base64"})


def _sql_text(text: str) -> str:
    """An SQL string literal for a schema name (never for user input, which is bound)."""
    return "'" + text.replace("'", "''") + "'"


@attrs.define
class CompileState:
    """Shared by every scope of one statement tree: source for carets, clock, flags."""

    schema: Schema
    source: str
    now: dt.datetime
    include_deleted: bool
    aliases: int = 0

    def new_alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    def error(self, code: str, detail: str, pos: ast.Pos) -> SoqlError:
        return SoqlError.at(code, detail, self.source, pos.line, pos.column)


@attrs.frozen
class Step:
    """One parent hop: the parent's Id (and, when polymorphic, its concrete type) as SQL."""

    name: str
    obj: ObjectDef
    id_expr: str
    type_expr: str | None = None


@attrs.frozen
class Resolved:
    """A field reached by a path, through `steps` parent hops."""

    expr: str
    field: FieldDef
    table: str
    steps: tuple[Step, ...]
    path: ast.Path

    @property
    def is_text(self) -> bool:
        return self.field.type in TEXT_TYPES


@attrs.frozen
class Operand:
    """A compiled WHERE/HAVING/ORDER BY operand: SQL, the type of its value, a label."""

    expr: str
    value_type: str
    label: str

    @property
    def is_text(self) -> bool:
        return self.value_type in TEXT_TYPES


class Scope:
    """One FROM object: its joins, selected columns and (shared) parameters."""

    def __init__(
        self,
        state: CompileState,
        obj: ObjectDef,
        params: Params,
        *,
        query_alias: str | None = None,
    ) -> None:
        self.state = state
        self.obj = obj
        self.params = params
        self.query_alias = query_alias
        self.table = state.new_alias()
        self.joins: dict[tuple[str, ...], str] = {}
        self.join_sql: list[str] = []
        self.columns: list[str] = []
        self._column_index: dict[str, int] = {}
        # Set for aggregate queries: (table, field) of each GROUP BY path.
        self.grouped: set[tuple[str, str]] | None = None

    def bind(self, value: SqlValue) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def column(self, expr: str) -> int:
        """The result position of `expr`, selected once however often it is used."""
        if expr not in self._column_index:
            self._column_index[expr] = len(self.columns)
            self.columns.append(expr)
        return self._column_index[expr]

    def col(self, table: str, name: str) -> str:
        return f"{table}.{quote_ident(name)}"

    def from_sql(self) -> str:
        head = f"{quote_ident(self.obj.name)} AS {self.table}"
        return " ".join([head, *self.join_sql])

    def base_filters(self) -> list[str]:
        """The recycle-bin filter: queryAll (include_deleted) drops it."""
        if self.state.include_deleted:
            return []
        return [f"{self.col(self.table, 'IsDeleted')} = 0"]

    # Paths ---------------------------------------------------------------------------------

    def _join(self, key: tuple[str, ...], target: ObjectDef, table: str, fk: str) -> str:
        alias = self.joins.get(key)
        if alias is None:
            alias = self.state.new_alias()
            self.joins[key] = alias
            self.join_sql.append(
                f"LEFT JOIN {quote_ident(target.name)} AS {alias} "
                f"ON {self.col(alias, 'Id')} = {self.col(table, fk)}"
            )
        return alias

    def resolve(self, path: ast.Path) -> Resolved:
        """Resolve `path` against the FROM object, adding LEFT JOINs for parent steps.

        A polymorphic lookup (Owner -> Group or User) in the last step joins every target in
        the schema and coalesces; deeper paths through it follow its first target only.
        """
        parts = path.parts
        if len(parts) > 1 and self._qualifier(parts[0]):
            parts = parts[1:]
        obj, table = self.obj, self.table
        steps: list[Step] = []
        key: tuple[str, ...] = ()
        joined: list[tuple[ObjectDef, str]] = []
        for index, rel in enumerate(parts[:-1]):
            ref = obj.parent_relationship(rel)
            names = ref.reference_to if ref is not None else ()
            targets = [t for t in map(self.state.schema.object, names) if t is not None]
            if ref is None or not targets or ref.relationship_name is None:
                raise self.state.error(INVALID_FIELD, unknown_relationship(rel), path.pos)
            key = (*key, ref.relationship_name.lower())
            if index < len(parts) - 2:
                targets = targets[:1]
            if len(targets) == 1:
                joined = [(targets[0], self._join(key, targets[0], table, ref.name))]
            else:
                joined = [
                    (t, self._join((*key, t.name.lower()), t, table, ref.name)) for t in targets
                ]
            steps.append(self._step(ref.relationship_name, joined))
            obj, table = targets[0], joined[0][1]
        candidates = [(t, a, t.field(parts[-1])) for t, a in joined] or [
            (obj, table, obj.field(parts[-1]))
        ]
        found = [(alias, field) for _, alias, field in candidates if field is not None]
        if not found:
            raise self.state.error(INVALID_FIELD, no_such_column(parts[-1], obj.name), path.pos)
        table, field = found[0]
        columns = [self.col(alias, f.name) for alias, f in found]
        expr = columns[0] if len(columns) == 1 else f"COALESCE({', '.join(columns)})"
        return Resolved(expr, field, table, tuple(steps), path)

    def _qualifier(self, name: str) -> bool:
        """The query's alias, or the object's own name (`SELECT Contact.FirstName FROM
        Contact`, as Salesforce's examples write it) unless a relationship has that name."""
        lowered = name.lower()
        if self.query_alias is not None and lowered == self.query_alias.lower():
            return True
        return lowered == self.obj.name.lower() and self.obj.parent_relationship(name) is None

    def _step(self, name: str, joined: list[tuple[ObjectDef, str]]) -> Step:
        if len(joined) == 1:
            obj, alias = joined[0]
            return Step(name, obj, self.col(alias, "Id"))
        ids = [self.col(alias, "Id") for _, alias in joined]
        cases = " ".join(
            f"WHEN {self.col(alias, 'Id')} IS NOT NULL THEN {_sql_text(obj.name)}"
            for obj, alias in joined
        )
        return Step(name, joined[0][0], f"COALESCE({', '.join(ids)})", f"CASE {cases} END")

    def require_grouped(self, resolved: Resolved) -> None:
        """In aggregate queries a plain field must appear in GROUP BY."""
        if self.grouped is not None and (resolved.table, resolved.field.name) not in self.grouped:
            raise self.state.error(
                MALFORMED_QUERY,
                f"Field must be grouped or aggregated: {resolved.field.name}",
                resolved.path.pos,
            )

    def operand(self, node: ast.Operand, *, purpose: str) -> Operand:
        """A path or aggregate usable in a condition (`purpose` 'filtered') or ORDER BY."""
        if isinstance(node, ast.Aggregate):
            if self.grouped is None:
                raise self.state.error(
                    MALFORMED_QUERY,
                    "Aggregate functions are not allowed in WHERE"
                    if purpose == "filtered"
                    else "Aggregate functions in ORDER BY need an aggregate query",
                    node.pos,
                )
            expr, value_type = self.aggregate(node)
            return Operand(expr, value_type, node.func)
        resolved = self.resolve(node)
        field = resolved.field
        allowed = field.filterable if purpose == "filtered" else field.sortable
        if field.is_compound or not allowed:
            raise self.state.error(INVALID_FIELD, flag_refusal(field.name, purpose), node.pos)
        self.require_grouped(resolved)
        return Operand(resolved.expr, field.type, field.name)

    # Aggregates ------------------------------------------------------------------------------

    def aggregate(self, node: ast.Aggregate) -> tuple[str, str]:
        """SQL for an aggregate call and the field type its value converts back as."""
        if node.path is None:  # COUNT()
            return "COUNT(*)", "int"
        resolved = self.resolve(node.path)
        field = resolved.field
        func = node.func
        numeric_only = func in ("SUM", "AVG") and field.type not in NUMBER_TYPES
        unordered = func in ("MIN", "MAX") and field.type in _NOT_AGGREGATABLE
        bad = field.is_compound or not field.aggregatable or numeric_only or unordered
        if bad:
            raise self.state.error(
                MALFORMED_QUERY,
                f"field {field.name} does not support aggregate operator {func}",
                node.path.pos,
            )
        expr = resolved.expr
        if func == "COUNT":
            return f"COUNT({expr})", "int"
        if func == "COUNT_DISTINCT":
            return f"COUNT(DISTINCT {expr})", "int"
        if func == "AVG":
            return f"AVG({expr})", "double"
        if func == "SUM":
            return f"SUM({expr})", "int" if field.type == "int" else "double"
        return f"{func}({expr})", field.type
