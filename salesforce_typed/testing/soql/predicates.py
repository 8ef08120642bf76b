"""WHERE and HAVING conditions -> SQL, with Salesforce's typing and null semantics.

What must stay true:
- every literal is a bound parameter, checked against the field type first (a quoted value
  for a boolean is INVALID_FIELD, as in Salesforce);
- SOQL has two-valued logic: `!=`, NOT IN, EXCLUDES and NOT keep rows whose field is null,
  so negations are written null-safe (`IS NOT`, `NOT COALESCE(..., 0)`);
- text comparisons ignore case (COLLATE NOCASE, matching the column declaration, so
  indexes still apply); ids are compared in their canonical 18-char form;
- relative date literals become half-open UTC ranges on date and datetime fields.
"""

from __future__ import annotations

import datetime as dt

from . import ast, date_literals
from .errors import (
    INVALID_FIELD,
    INVALID_QUERY_FILTER_OPERATOR,
    INVALID_TYPE,
    MALFORMED_QUERY,
    unsupported_sobject,
)
from .ids import normalize_id
from .schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES
from .scope import Operand, Scope
from .storage import SqlValue, format_datetime

_LIKE_TYPES = TEXT_TYPES | ID_TYPES
_RANGE_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def balanced(op: str, parts: list[str]) -> str:
    """`a op b op c ...` parenthesised as a balanced tree: SQLite parses a flat chain
    left-deep and refuses expressions deeper than 1,000 (a long OR list)."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({balanced(op, parts[:middle])} {op} {balanced(op, parts[middle:])})"


def compile_condition(scope: Scope, cond: ast.Condition) -> str:
    """SQL for a condition tree; truthy exactly for the rows Salesforce would return."""
    if isinstance(cond, ast.BoolOp):
        parts = [compile_condition(scope, c) for c in cond.operands]
        return f"({balanced(cond.op, parts)})"
    if isinstance(cond, ast.Not):
        return f"NOT COALESCE({compile_condition(scope, cond.operand)}, 0)"
    if isinstance(cond, ast.Comparison):
        return _comparison(scope, cond)
    if isinstance(cond, ast.InList):
        return _in_list(scope, cond)
    return _includes(scope, cond)


def _type_error(scope: Scope, operand: Operand, lit: ast.Literal_) -> Exception:
    vtype = operand.value_type
    if vtype == "boolean":
        wanted = "boolean and should not be enclosed in quotes"
    elif vtype == "int":
        wanted = "integer and should not be enclosed in quotes"
    elif vtype in NUMBER_TYPES:
        wanted = "double and should not be enclosed in quotes"
    elif vtype == "date":
        wanted = "date and should not be enclosed in quotes"
    elif vtype == "datetime":
        wanted = "dateTime and should not be enclosed in quotes"
    else:
        wanted = "string and should be enclosed in quotes"
    detail = f"value of filter criterion for field '{operand.label}' must be of type {wanted}"
    return scope.state.error(INVALID_FIELD, detail, lit.pos)


def _literal(scope: Scope, operand: Operand, lit: ast.Literal_) -> SqlValue:
    """The storage value of a non-null, non-range literal, checked against the operand."""
    vtype = operand.value_type
    if vtype == "boolean":
        if isinstance(lit, ast.BoolLit):
            return int(lit.value)
    elif vtype in NUMBER_TYPES:
        if isinstance(lit, ast.NumberLit):
            number = float(lit.text)
            if lit.is_integer and vtype == "int" and abs(number) < 2**63:
                return int(number)
            return number  # beyond SQLite's INTEGER: compared as a REAL, matching no row
    elif vtype == "date":
        if isinstance(lit, ast.DateLit):
            return lit.value.isoformat()
    elif vtype == "datetime":
        if isinstance(lit, ast.DateTimeLit):
            return format_datetime(lit.value)
    elif isinstance(lit, ast.StringLit):
        if vtype in ID_TYPES:
            canonical = normalize_id(lit.value)
            if canonical is None:
                raise scope.state.error(
                    INVALID_QUERY_FILTER_OPERATOR, f"invalid ID field: {lit.value}", lit.pos
                )
            return canonical
        return lit.value
    raise _type_error(scope, operand, lit)


def _date_range(scope: Scope, operand: Operand, lit: ast.DateConst) -> tuple[str, str]:
    """Bound parameters for the [start, end) range of a relative date literal."""
    if operand.value_type not in ("date", "datetime"):
        raise _type_error(scope, operand, lit)
    start, end = date_literals.resolve(lit.name, lit.n, scope.state.now)

    def bound(day: dt.date) -> str:
        if operand.value_type == "date":
            return scope.bind(day.isoformat())
        return scope.bind(format_datetime(dt.datetime.combine(day, dt.time(), dt.UTC)))

    return bound(start), bound(end)


def _collated(operand: Operand) -> str:
    return f"{operand.expr} COLLATE NOCASE" if operand.is_text else operand.expr


def _equals(scope: Scope, operand: Operand, lit: ast.Literal_, *, negated: bool) -> str:
    """Null-safe `=` / `!=` against any literal, including ranges and null."""
    if isinstance(lit, ast.NullLit):
        return f"{operand.expr} IS {'NOT ' if negated else ''}NULL"
    if isinstance(lit, ast.DateConst):
        start, end = _date_range(scope, operand, lit)
        inside = f"({operand.expr} >= {start} AND {operand.expr} < {end})"
        return f"NOT COALESCE({inside}, 0)" if negated else inside
    value = scope.bind(_literal(scope, operand, lit))
    return f"{_collated(operand)} {'IS NOT' if negated else '='} {value}"


def _comparison(scope: Scope, cond: ast.Comparison) -> str:
    operand = scope.operand(cond.left, purpose="filtered")
    lit = cond.value
    if cond.op in ("=", "!="):
        return _equals(scope, operand, lit, negated=cond.op == "!=")
    if cond.op == "LIKE":
        if operand.value_type not in _LIKE_TYPES:
            raise scope.state.error(
                INVALID_QUERY_FILTER_OPERATOR,
                f"invalid operator on field: {operand.label}",
                cond.pos,
            )
        if isinstance(lit, ast.NullLit):
            return "0"
        if not isinstance(lit, ast.StringLit):
            raise _type_error(scope, operand, lit)
        return f"{operand.expr} LIKE {scope.bind(lit.like_pattern)} ESCAPE '\\'"
    if operand.value_type == "boolean":
        raise scope.state.error(
            INVALID_QUERY_FILTER_OPERATOR, f"invalid operator on field: {operand.label}", cond.pos
        )
    if isinstance(lit, ast.NullLit):
        return "0"  # ordering against null matches nothing
    if isinstance(lit, ast.DateConst):
        start, end = _date_range(scope, operand, lit)
        # `< LAST_MONTH` is before its first day; `<= LAST_MONTH` up to its last day.
        bound = {"<": ("<", start), "<=": ("<", end), ">": (">=", end), ">=": (">=", start)}
        op, param = bound[cond.op]
        return f"{operand.expr} {op} {param}"
    value = scope.bind(_literal(scope, operand, lit))
    return f"{_collated(operand)} {_RANGE_OPS[cond.op]} {value}"


def _in_list(scope: Scope, cond: ast.InList) -> str:
    operand = scope.operand(cond.left, purpose="filtered")
    if isinstance(cond.values, ast.Query):
        positive = _semi_join(scope, operand, cond.values, cond.pos)
    else:
        plain: list[str] = []
        extra: list[str] = []
        for lit in cond.values:
            if isinstance(lit, ast.NullLit | ast.DateConst):
                extra.append(_equals(scope, operand, lit, negated=False))
            else:
                plain.append(scope.bind(_literal(scope, operand, lit)))
        if plain:
            extra.insert(0, f"{_collated(operand)} IN ({', '.join(plain)})")
        positive = "(" + " OR ".join(extra) + ")"
    return f"NOT COALESCE({positive}, 0)" if cond.negated else positive


def _semi_join(scope: Scope, operand: Operand, query: ast.Query, pos: ast.Pos) -> str:
    """`Id IN (SELECT AccountId FROM Contact ...)`: one id-valued field, WHERE only."""
    state = scope.state
    obj = state.schema.object(query.from_name)
    if obj is None:
        raise state.error(INVALID_TYPE, unsupported_sobject(query.from_name), query.from_pos)
    if operand.value_type not in ID_TYPES:
        raise state.error(
            INVALID_FIELD,
            f"Invalid field for semi/anti join: {operand.label}. Must be an Id or reference.",
            pos,
        )
    items = query.select
    if len(items) != 1 or not isinstance(items[0], ast.FieldItem):
        raise state.error(
            MALFORMED_QUERY, "The inner select field must be a single Id or reference field", pos
        )
    inner = Scope(state, obj, scope.params, query_alias=query.alias)
    resolved = inner.resolve(items[0].path)
    if resolved.field.type not in ID_TYPES:
        raise state.error(
            INVALID_FIELD,
            f"Invalid field for semi/anti join: {resolved.field.name}. Must be an Id or reference.",
            items[0].path.pos,
        )
    filters = [*inner.base_filters(), f"{resolved.expr} IS NOT NULL"]
    if query.where is not None:
        filters.append(compile_condition(inner, query.where))
    where = " AND ".join(filters)
    return f"{operand.expr} IN (SELECT {resolved.expr} FROM {inner.from_sql()} WHERE {where})"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _includes(scope: Scope, cond: ast.Includes) -> str:
    """Multipicklist membership: each value is `a;b` (all of) and the values are OR'ed."""
    operand = scope.operand(cond.left, purpose="filtered")
    if operand.value_type != "multipicklist":
        raise scope.state.error(
            INVALID_QUERY_FILTER_OPERATOR,
            "includes or excludes operator only valid on multipicklist field",
            cond.pos,
        )
    wrapped = f"(';' || {operand.expr} || ';')"
    alternatives = []
    for lit in cond.values:
        members = [m.strip() for m in lit.value.split(";") if m.strip()]
        tests = [
            f"{wrapped} LIKE {scope.bind('%;' + _escape_like(m) + ';%')} ESCAPE '\\'"
            for m in members
        ]
        alternatives.append("(" + " AND ".join(tests or ["0"]) + ")")
    positive = "(" + " OR ".join(alternatives) + ")"
    return f"NOT COALESCE({positive}, 0)" if cond.excludes else positive
