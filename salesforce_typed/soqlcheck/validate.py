"""Check one SOQL statement against a package: names, relationships and the describe flags.

Parsing is the fake org's (`testing.soql.parser`); the walk here resolves every field path,
subquery and semi-join like Salesforce does, case-insensitively, and collects every finding
instead of stopping at the first. Objects the package does not hold are not guessed at: a
relationship into one is not followed.
"""

from __future__ import annotations

import difflib
from typing import Final

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.testing.soql import ast
from salesforce_typed.testing.soql.errors import SoqlError
from salesforce_typed.testing.soql.parser import parse_query

from .binds import Bound, substitute
from .problems import Finding
from .schema import NAME_FIELDS, NAME_RELATIONSHIPS, ObjectSchema, PackageSchema
from .typeof import Typeof, extract
from .values import value_problem

_NUMERIC: Final = frozenset({"int", "long", "double", "currency", "percent"})
# The flag each clause needs, its code, and the verb of the message.
_FILTER: Final = ("filterable", "SOQL005", "filtered")
_SORT: Final = ("sortable", "SOQL006", "sorted")
_GROUP: Final = ("groupable", "SOQL007", "grouped")


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=1)
    if not close:
        return ""
    canonical = next(k for k in known if k.lower() == close[0])
    return f" (did you mean '{canonical}'?)"


class _Scope:
    """The object one SELECT reads and the names its paths may start with (FROM, alias).

    A first part that is also a parent relationship's name is read as the relationship.
    """

    def __init__(self, obj: ObjectSchema, *qualifiers: str | None) -> None:
        self.obj = obj
        self.qualifiers = {q.lower() for q in qualifiers if q} - set(obj.parents)

    def qualified(self, parts: tuple[str, ...]) -> bool:
        return len(parts) > 1 and parts[0].lower() in self.qualifiers


class QueryCheck:
    """The findings for one statement, and its FROM object (None when it does not resolve)."""

    def __init__(self, schema: PackageSchema, soql: str) -> None:
        self.schema = schema
        self.findings: list[Finding] = []
        self.from_object: str | None = None
        self._scopes: dict[ast.Pos, _Scope] = {}  # by the position of each query's FROM name
        self.bound: Bound = substitute(soql)
        try:
            text, typeofs = extract(self.bound.text)
            query = parse_query(text)
        except SoqlError as exc:
            line, column = self._at(exc.row or 1, exc.column or 1)
            self.findings.append(Finding("SOQL000", exc.detail, line, column))
            return
        obj = self.schema.object(query.from_name)
        if obj is None:
            self._object_unknown(query.from_name, query.from_pos)
            return
        self.from_object = obj.name
        self._query(query, _Scope(obj, query.from_name, query.alias))
        for clause in typeofs:
            scope = self._scopes.get(clause.from_pos) if clause.from_pos else None
            if scope is not None:
                self._typeof(clause, scope)

    # -- positions and findings ------------------------------------------------------------

    def _at(self, line: int, column: int) -> tuple[int, int]:
        return self.bound.original_position(line, column)

    def _add(self, code: str, message: str, pos: ast.Pos, shift: int = 0) -> None:
        line, column = self._at(pos.line, pos.column + shift)
        self.findings.append(Finding(code, message, line, column))

    def _object_unknown(self, name: str, pos: ast.Pos) -> None:
        hint = _hint(name, self.schema.object_names)
        self._add("SOQL001", f"unknown object '{name}'{hint}", pos)

    # -- the walk ----------------------------------------------------------------------------

    def _query(self, query: ast.Query, scope: _Scope) -> None:
        self._scopes[query.from_pos] = scope
        for item in query.select:
            if isinstance(item, ast.FieldItem):
                self._path(item.path, scope)
            elif isinstance(item, ast.AggregateItem):
                self._aggregate(item.aggregate, scope)
            elif isinstance(item, ast.SubqueryItem):
                self._subquery(item.query, scope)
        if query.where is not None:
            self._condition(query.where, scope)
        for path in query.group_by:
            self._path(path, scope, _GROUP)
        if query.having is not None:
            self._condition(query.having, scope)
        for order in query.order_by:
            self._operand(order.operand, scope, _SORT)
        self._grouping(query, scope)

    def _grouping(self, query: ast.Query, scope: _Scope) -> None:
        """With GROUP BY or an aggregate, every other field must be grouped (as Salesforce)."""
        aggregated = any(isinstance(i, ast.AggregateItem) for i in query.select)
        if not (aggregated or query.group_by):
            return
        grouped = {self._key(path, scope) for path in query.group_by}
        paths = [i.path for i in query.select if isinstance(i, ast.FieldItem)]
        paths += [o.operand for o in query.order_by if isinstance(o.operand, ast.Path)]
        for path in paths:
            if self._key(path, scope) not in grouped:
                message = f"field '{path.text}' must be grouped or aggregated"
                self._add("SOQL013", message, path.pos)

    @staticmethod
    def _key(path: ast.Path, scope: _Scope) -> str:
        parts = [p.lower() for p in path.parts]
        return ".".join(parts[1:] if scope.qualified(path.parts) else parts)

    def _subquery(self, sub: ast.Query, scope: _Scope) -> None:
        child = scope.obj.children.get(sub.from_name.lower())
        if child is None:
            hint = _hint(sub.from_name, [c.name for c in scope.obj.children.values()])
            self._add(
                "SOQL004",
                f"unknown child relationship '{sub.from_name}' on {scope.obj.name}{hint}",
                sub.from_pos,
            )
            return
        target = self.schema.object(child.child_sobject)
        if target is not None:
            self._query(sub, _Scope(target, sub.from_name, sub.alias))

    def _condition(self, cond: ast.Condition, scope: _Scope) -> None:
        if isinstance(cond, ast.BoolOp):
            for operand in cond.operands:
                self._condition(operand, scope)
        elif isinstance(cond, ast.Not):
            self._condition(cond.operand, scope)
        else:
            info = self._operand(cond.left, scope, _FILTER)
            if isinstance(cond, ast.InList) and isinstance(cond.values, ast.Query):
                self._semi_join(cond.values)
            elif info is not None and isinstance(cond.left, ast.Path):
                values = (cond.value,) if isinstance(cond, ast.Comparison) else cond.values
                assert not isinstance(values, ast.Query)
                self._values(info, cond.left, values)

    def _values(self, info: FieldInfo, path: ast.Path, values: tuple[ast.Literal_, ...]) -> None:
        for lit in values:
            if (lit.pos.line, lit.pos.column) in self.bound.stand_ins:
                continue  # a bind placeholder: the client quotes its value for the field
            problem = value_problem(info, path.text, lit)
            if problem is not None:
                self._add("SOQL014", problem, lit.pos)

    def _semi_join(self, query: ast.Query) -> None:
        obj = self.schema.object(query.from_name)
        if obj is None:
            self._object_unknown(query.from_name, query.from_pos)
            return
        self._query(query, _Scope(obj, query.from_name, query.alias))

    def _operand(
        self, node: ast.Operand, scope: _Scope, need: tuple[str, str, str]
    ) -> FieldInfo | None:
        if isinstance(node, ast.Aggregate):
            self._aggregate(node, scope)
            return None
        return self._path(node, scope, need)

    def _aggregate(self, node: ast.Aggregate, scope: _Scope) -> None:
        if node.path is None:
            return
        info = self._path(node.path, scope)
        if info is None:
            return
        numeric_only = node.func in ("SUM", "AVG")
        if not info.aggregatable or (numeric_only and info.type not in _NUMERIC):
            self._add(
                "SOQL008",
                f"field '{info.name}' ({info.type}) does not support aggregate operator "
                f"{node.func}",
                node.path.pos,
            )

    def _path(
        self,
        path: ast.Path,
        scope: _Scope,
        need: tuple[str, str, str] | None = None,
        *,
        shift_base: int = 0,
    ) -> FieldInfo | None:
        """The field `path` names (problems reported), or None where it cannot be known.

        `shift_base`: columns from `path.pos` to the first part (a path continued elsewhere).
        """
        parts = list(path.parts)
        shift = shift_base
        if scope.qualified(path.parts):
            shift = len(parts.pop(0)) + 1
        obj = scope.obj
        for index, rel in enumerate(parts[:-1]):
            parent = obj.parents.get(rel.lower())
            if parent is None:
                hint = _hint(rel, [p.name for p in obj.parents.values()])
                self._add(
                    "SOQL003",
                    f"unknown relationship '{rel}' on {obj.name}{hint}",
                    path.pos,
                    shift,
                )
                return None
            shift += len(rel) + 1
            if len(parent.reference_to) > 1:
                self._polymorphic(parent.name, parts[index + 1 :], path.pos, shift)
                return None
            target = self.schema.object(parent.reference_to[0]) if parent.reference_to else None
            if target is None:
                return None
            obj = target
        name = parts[-1]
        info = obj.fields.get(name.lower())
        if info is None:
            hint = _hint(name, [f.name for f in obj.fields.values()])
            self._add("SOQL002", f"unknown field '{name}' on {obj.name}{hint}", path.pos, shift)
            return None
        if need is not None and not getattr(info, need[0]):
            self._add(
                need[1], f"field '{obj.name}.{info.name}' can not be {need[2]}", path.pos, shift
            )
        return info

    def _polymorphic(self, rel: str, rest: list[str], pos: ast.Pos, shift: int) -> None:
        """`What.Name`: a polymorphic path reads only the Name entity's fields."""
        name = rest[0]
        if len(rest) > 1:
            target = NAME_RELATIONSHIPS.get(name.lower())
            obj = self.schema.object(target) if target else None
            if target is None:
                message = f"unknown relationship '{name}' on polymorphic '{rel}' (use TYPEOF)"
                self._add("SOQL003", message, pos, shift)
            elif obj is not None:
                path = ast.Path(tuple(rest[1:]), pos)
                self._path(path, _Scope(obj), shift_base=shift + len(name) + 1)
        elif name.lower() not in NAME_FIELDS:
            message = f"unknown field '{name}' on polymorphic '{rel}' (Name entity; use TYPEOF)"
            self._add("SOQL002", message, pos, shift)

    def _typeof(self, clause: Typeof, scope: _Scope) -> None:
        parent = scope.obj.parents.get(clause.relationship.lower())
        if parent is None:
            message = f"unknown relationship '{clause.relationship}' on {scope.obj.name}"
            self._add("SOQL003", message, clause.pos)
            return
        if len(parent.reference_to) < 2:
            message = f"TYPEOF needs a polymorphic relationship; '{parent.name}' is not"
            self._add("SOQL012", message, clause.pos)
        targets = {t.lower() for t in parent.reference_to}
        for when in clause.whens:
            if when.type_name.lower() not in targets:
                allowed = ", ".join(parent.reference_to)
                message = f"'{parent.name}' cannot be a {when.type_name} (it is one of {allowed})"
                self._add("SOQL012", message, when.pos)
                continue
            obj = self.schema.object(when.type_name)
            if obj is not None:
                for path in when.paths:
                    self._path(path, _Scope(obj))
        for path in clause.otherwise:
            self._polymorphic(parent.name, list(path.parts), path.pos, 0)
