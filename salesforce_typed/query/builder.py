"""`select(...)`: a typed SOQL query, built immutably and rendered to text with every value
quoted by the bind rules (`rest.soql.quote`), so no user value is ever spliced raw."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, overload

import attrs

from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.unset import UNSET
from salesforce_typed.query.columns import Cond, Order, Selectable, _quote

if TYPE_CHECKING:
    import datetime as dt
    from decimal import Decimal
    from typing import Self

__all__ = ["Agg", "Select", "Subquery", "and_", "not_", "or_", "select"]

M = TypeVar("M")
C = TypeVar("C")
R = TypeVar("R")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
T6 = TypeVar("T6")
N1 = TypeVar("N1")
N2 = TypeVar("N2")
N3 = TypeVar("N3")
N4 = TypeVar("N4")
N5 = TypeVar("N5")
N6 = TypeVar("N6")

_Value: TypeAlias = "int | float | Decimal | dt.date | None"  # what an aggregate is compared with

# Never in a bulk or wide SELECT: blobs and compound fields (their parts are selected).
_UNSELECTED = frozenset(
    {"base64", "address", "location", "anyType", "complexvalue", "json", "changeEventHeader"}
)


class Agg(Selectable[M, R, N1]):
    """An aggregate (`count(Account.Id)`, `sum_(Account.AnnualRevenue)`): selectable, and
    compared in HAVING (`having(count(Account.Id) > 1)`)."""

    __slots__ = ()
    __hash__ = object.__hash__

    def _op(self, op: str, value: object) -> Cond[M]:
        return Cond(f"{self.path} {op} {_quote(value)}")

    def __eq__(self, other: _Value) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: _Value) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: _Value) -> Cond[M]:
        return self._op("<", other)

    def __le__(self, other: _Value) -> Cond[M]:
        return self._op("<=", other)

    def __gt__(self, other: _Value) -> Cond[M]:
        return self._op(">", other)

    def __ge__(self, other: _Value) -> Cond[M]:
        return self._op(">=", other)


def and_(*conds: Cond[M]) -> Cond[M]:
    return Cond("(" + " AND ".join(c.text for c in conds) + ")")


def or_(*conds: Cond[M]) -> Cond[M]:
    return Cond("(" + " OR ".join(c.text for c in conds) + ")")


def not_(cond: Cond[M]) -> Cond[M]:
    return ~cond


def _model_fields(model: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in model.__sf_fields__ if f.type not in _UNSELECTED)


def _limit(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"LIMIT and OFFSET take a whole number of at least 0, not {value!r}")
    return value


@attrs.frozen(slots=True)
class Subquery(Generic[M, C]):
    """A child relationship subquery: `Account.Contacts.select(Contact.LastName).limit(5)`."""

    relationship: str
    child: type[Any]
    fields: tuple[str, ...]
    conds: tuple[str, ...] = ()
    orders: tuple[str, ...] = ()
    limit_: int | None = None

    def where(self, *conds: Cond[C]) -> Self:
        return attrs.evolve(self, conds=self.conds + tuple(c.text for c in conds))

    def order_by(self, *items: Order[C] | Selectable[C, Any, Any]) -> Self:
        return attrs.evolve(self, orders=self.orders + _orders(items))

    def limit(self, n: int) -> Self:
        return attrs.evolve(self, limit_=_limit(n))

    def to_soql(self) -> str:
        return "(" + _render(self.fields, self.relationship, self.conds, (), (), self.orders,
                             self.limit_, None, None) + ")"  # fmt: skip


def _orders(items: tuple[Order[Any] | Selectable[Any, Any, Any], ...]) -> tuple[str, ...]:
    return tuple(i.text if isinstance(i, Order) else i.path for i in items)


def _render(
    fields: tuple[str, ...],
    source: str,
    conds: tuple[str, ...],
    groups: tuple[str, ...],
    having: tuple[str, ...],
    orders: tuple[str, ...],
    limit: int | None,
    offset: int | None,
    lock: str | None,
) -> str:
    parts = [f"SELECT {', '.join(fields)} FROM {source}"]
    if conds:
        parts.append("WHERE " + " AND ".join(conds))
    if groups:
        parts.append("GROUP BY " + ", ".join(groups))
    if having:
        parts.append("HAVING " + " AND ".join(having))
    if orders:
        parts.append("ORDER BY " + ", ".join(orders))
    if limit is not None:
        parts.append(f"LIMIT {limit}")
    if offset is not None:
        parts.append(f"OFFSET {offset}")
    if lock is not None:
        parts.append(lock)
    return " ".join(parts)


def _path_value(record: Any, path: str) -> Any:
    value = record
    for name in path.split("."):
        if value is None:
            return None
        value = getattr(value, name, None)
    return None if value is UNSET else value


@attrs.frozen(slots=True)
class Select(Generic[M, R]):
    """A SOQL query over `model` whose rows are `R` (the model, or a typed tuple).

    Immutable: each method returns a new query. Run it with `sf.query(q)`,
    `sf.bulk2.query(q)`, `sf.soap.query(q)` or `sf.bulk1.query(q)`.
    """

    model: type[Any]
    fields: tuple[str, ...]
    projection: tuple[str, ...] | None = None  # None: rows are models
    enums: tuple[Any, ...] = ()  # per projected item: its picklist enum, for aggregate rows
    aggregate: bool = False
    conds: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    having_: tuple[str, ...] = ()
    orders: tuple[str, ...] = ()
    limit_: int | None = None
    offset_: int | None = None
    lock: str | None = None

    def where(self, *conds: Cond[M]) -> Self:
        """Conditions joined with AND; use `|` or `or_()` for OR."""
        return attrs.evolve(self, conds=self.conds + tuple(c.text for c in conds))

    def group_by(self, *columns: Selectable[M, Any, Any]) -> Self:
        return attrs.evolve(self, groups=self.groups + tuple(c.path for c in columns))

    def having(self, *conds: Cond[M]) -> Self:
        return attrs.evolve(self, having_=self.having_ + tuple(c.text for c in conds))

    def order_by(self, *items: Order[M] | Selectable[M, Any, Any]) -> Self:
        return attrs.evolve(self, orders=self.orders + _orders(items))

    def limit(self, n: int) -> Self:
        return attrs.evolve(self, limit_=_limit(n))

    def offset(self, n: int) -> Self:
        return attrs.evolve(self, offset_=_limit(n))

    def _locked(self, clause: str) -> Self:
        return attrs.evolve(self, lock=clause)

    def for_view(self) -> Self:
        """Marks the rows viewed (updates LastViewedDate)."""
        return self._locked("FOR VIEW")

    def for_reference(self) -> Self:
        """Marks the rows referenced (updates LastReferencedDate)."""
        return self._locked("FOR REFERENCE")

    def for_update(self) -> Self:
        """Locks the rows for the transaction; SOQL has no ORDER BY in a locking query."""
        if self.orders:
            raise UsageError("FOR UPDATE cannot be used with ORDER BY")
        return self._locked("FOR UPDATE")

    @property
    def sobject_type(self) -> str:
        return str(self.model.__sobject_type__)

    def to_soql(self) -> str:
        return _render(
            self.fields,
            self.sobject_type,
            self.conds,
            self.groups,
            self.having_,
            self.orders,
            self.limit_,
            self.offset_,
            self.lock,
        )

    def __str__(self) -> str:
        return self.to_soql()

    def target(self) -> type[Any] | None:
        """The model rows are decoded as first (None: aggregate rows, decoded as Record)."""
        return None if self.aggregate else self.model

    def converter(self) -> Callable[[Any], R] | None:
        """Turns a decoded row into `R`; None when rows are the models themselves."""
        paths = self.projection
        if paths is None:
            return None
        if self.aggregate:
            keys = _aggregate_keys(paths)
            maps = tuple(None if e is None else e._value2member_map_ for e in self.enums)

            def from_aggregate(record: Any) -> Any:
                # AggregateResult rows decode untyped: picklist groups become their enum
                # members here (an unknown value stays a str).
                extra = record.extra_fields
                return tuple(
                    extra.get(k) if m is None else m.get(extra.get(k), extra.get(k))
                    for k, m in zip(keys, maps, strict=True)
                )

            return from_aggregate

        def from_model(record: Any) -> Any:
            return tuple(_path_value(record, p) for p in paths)

        return from_model


def _aggregate_keys(paths: tuple[str, ...]) -> tuple[str, ...]:
    """AggregateResult keys: `exprN` for each aggregate in order, the field's name otherwise."""
    keys: list[str] = []
    n = 0
    for p in paths:
        if "(" in p:
            keys.append(f"expr{n}")
            n += 1
        else:
            keys.append(p.rsplit(".", 1)[-1])
    return tuple(keys)


# -- select() -------------------------------------------------------------------------------


@overload
def select(model: type[M], /, *children: Subquery[M, Any]) -> Select[M, M]: ...
@overload
def select(c1: Selectable[M, T1, N1], /) -> Select[M, tuple[T1 | N1]]: ...
@overload
def select(
    c1: Selectable[M, T1, N1], c2: Selectable[M, T2, N2], /
) -> Select[M, tuple[T1 | N1, T2 | N2]]: ...
@overload
def select(
    c1: Selectable[M, T1, N1], c2: Selectable[M, T2, N2], c3: Selectable[M, T3, N3], /
) -> Select[M, tuple[T1 | N1, T2 | N2, T3 | N3]]: ...
@overload
def select(
    c1: Selectable[M, T1, N1],
    c2: Selectable[M, T2, N2],
    c3: Selectable[M, T3, N3],
    c4: Selectable[M, T4, N4],
    /,
) -> Select[M, tuple[T1 | N1, T2 | N2, T3 | N3, T4 | N4]]: ...
@overload
def select(
    c1: Selectable[M, T1, N1],
    c2: Selectable[M, T2, N2],
    c3: Selectable[M, T3, N3],
    c4: Selectable[M, T4, N4],
    c5: Selectable[M, T5, N5],
    /,
) -> Select[M, tuple[T1 | N1, T2 | N2, T3 | N3, T4 | N4, T5 | N5]]: ...
@overload
def select(
    c1: Selectable[M, T1, N1],
    c2: Selectable[M, T2, N2],
    c3: Selectable[M, T3, N3],
    c4: Selectable[M, T4, N4],
    c5: Selectable[M, T5, N5],
    c6: Selectable[M, T6, N6],
    /,
) -> Select[M, tuple[T1 | N1, T2 | N2, T3 | N3, T4 | N4, T5 | N5, T6 | N6]]: ...
@overload
def select(*columns: Selectable[M, Any, Any]) -> Select[M, tuple[Any, ...]]: ...
def select(*items: Any) -> Select[Any, Any]:
    """`select(Account)` yields Account models; `select(Account.Id, Account.Name)` yields
    `(id, name)` tuples typed from the fields; `select(Account, Account.Contacts.select(...))`
    adds child subqueries to the model's fields."""
    if not items:
        raise UsageError("select() needs a model or at least one field")
    first = items[0]
    if isinstance(first, type):
        subs = items[1:]
        if not all(isinstance(s, Subquery) for s in subs):
            raise UsageError("select(Model, ...) takes child subqueries after the model")
        fields = _model_fields(first) + tuple(s.to_soql() for s in subs)
        return Select(model=first, fields=fields)
    if not all(isinstance(c, Selectable) for c in items):
        raise UsageError("select() takes a model class or fields such as Account.Name")
    roots = {c.root for c in items if getattr(c, "root", None) is not None}
    if len(roots) != 1:
        raise UsageError("select() fields must all come from one object (the FROM object)")
    paths = tuple(c.path for c in items)
    aggregate = any(isinstance(c, Agg) for c in items)
    enums = tuple(None if isinstance(c, Agg) or c.info is None else c.info.enum for c in items)
    return Select(
        model=roots.pop(), fields=paths, projection=paths, aggregate=aggregate, enums=enums
    )
