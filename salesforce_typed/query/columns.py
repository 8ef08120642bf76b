"""Typed field expressions: what `Account.Name`, `Contact.Account.Name` and `Account.Contacts`
are at class level, and the conditions and orderings their operators build.

Each column is generic in its root model `M` (the FROM object a condition belongs to), its
value type `T` and its nullability `N` (`None`, or `Never` for a field describe says is never
null), so `select(Account.Id, Account.Name)` rows are `tuple[str, str]` and a Contact
condition cannot go into an Account query. The `__get__` overloads exist for mypy only: at
run time models keep their attrs slots and a metaclass hands out these objects (see genapi).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, overload

from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.query.literals import DateLiteral

if TYPE_CHECKING:
    from decimal import Decimal
    from typing import Self

    from salesforce_typed.core.models import RelatedList, SObject
    from salesforce_typed.core.unset import UnsetType
    from salesforce_typed.query.builder import Select, Subquery
    from salesforce_typed.rest.soql import LikePattern

__all__ = [
    "AnyParent",
    "Bool",
    "Children",
    "Column",
    "Cond",
    "DateCol",
    "DateTimeCol",
    "MultiPicklist",
    "Number",
    "Opaque",
    "Order",
    "Parent",
    "Picklist",
    "Selectable",
    "Text",
    "column_for",
]

M = TypeVar("M")
T = TypeVar("T")
N = TypeVar("N")
W = TypeVar("W")
P = TypeVar("P")
C = TypeVar("C", bound="SObject")

Number_: TypeAlias = "int | float | Decimal"  # decimal is imported for typing only


def _quote(value: object) -> str:
    """The bind rules' literal; imported on first use, so importing a model stays cheap."""
    from salesforce_typed.rest.soql import quote

    return quote(value)


class Cond(Generic[M]):
    """A WHERE/HAVING condition on root `M`; combine with `&`, `|`, `~` (or and_/or_/not_)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __and__(self, other: Cond[M]) -> Cond[M]:
        return Cond(f"({self.text} AND {other.text})")

    def __or__(self, other: Cond[M]) -> Cond[M]:
        return Cond(f"({self.text} OR {other.text})")

    def __invert__(self) -> Cond[M]:
        return Cond(f"(NOT {self.text})")

    def __bool__(self) -> bool:
        raise TypeError("a query condition has no truth value: combine with & | ~, not and/or")

    def __repr__(self) -> str:
        return f"Cond({self.text!r})"


class Order(Generic[M]):
    """One ORDER BY item: `Account.Name.desc().nulls_last()`."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def nulls_first(self) -> Order[M]:
        return Order(f"{self.text} NULLS FIRST")

    def nulls_last(self) -> Order[M]:
        return Order(f"{self.text} NULLS LAST")


class Selectable(Generic[M, T, N]):
    """Anything a SELECT list holds for root `M`, read back as `T | N`."""

    __slots__ = ("info", "path", "root")

    def __init__(self, root: type[Any], path: str, info: FieldInfo | None) -> None:
        self.root = root  # the FROM object's model
        self.path = path  # relative to the root: `Account.Name` on Contact
        self.info = info

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    def asc(self) -> Order[M]:
        return Order(f"{self.path} ASC")

    def desc(self) -> Order[M]:
        return Order(f"{self.path} DESC")


class Column(Selectable[M, T, N], Generic[M, T, N, W]):
    """A field of the root or of a parent; `W` is what may be written to it."""

    __slots__ = ()
    __hash__ = object.__hash__

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self, obj: SObject, owner: Any) -> T | None | UnsetType: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> Self: ...
        def __get__(self, obj: object, owner: Any) -> Any: ...
        def __set__(self, obj: SObject, value: W | None | UnsetType) -> None: ...

    def _op(self, op: str, value: object) -> Cond[M]:
        return Cond(f"{self.path} {op} {_quote(value)}")

    def is_(self, value: None) -> Cond[M]:
        """`Account.Industry.is_(None)`: `Industry = null`."""
        return self._op("=", value)

    def is_not(self, value: None) -> Cond[M]:
        return self._op("!=", value)

    def __eq__(self, other: object) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: object) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)


class _Ordered(Column[M, T, N, W]):
    """Comparable values: <, <=, >, >=, IN, NOT IN."""

    __slots__ = ()

    def _in(self, op: str, values: Iterable[object] | Select[Any, Any]) -> Cond[M]:
        from salesforce_typed.query.builder import Select

        if isinstance(values, Select):  # a semi-join (anti-join with NOT IN)
            return Cond(f"{self.path} {op} ({values.to_soql()})")
        return Cond(f"{self.path} {op} {_quote(list(values))}")


class Text(_Ordered[M, T, N, W]):
    """Text, ids, references, emails, phones, urls."""

    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would drop it

    def __eq__(self, other: str | None) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: str | None) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: str) -> Cond[M]:
        return self._op("<", other)

    def __le__(self, other: str) -> Cond[M]:
        return self._op("<=", other)

    def __gt__(self, other: str) -> Cond[M]:
        return self._op(">", other)

    def __ge__(self, other: str) -> Cond[M]:
        return self._op(">=", other)

    def like(self, pattern: str | LikePattern) -> Cond[M]:
        """`%` and `_` are wildcards; wrap user text in `escape_like()` to match it literally."""
        return self._op("LIKE", pattern)

    def in_(self, values: Iterable[str] | Select[Any, tuple[Any]]) -> Cond[M]:
        """A list of values, or a one-field `select(...)` (a semi-join: `Id IN (SELECT ...)`)."""
        return self._in("IN", values)

    def not_in(self, values: Iterable[str] | Select[Any, tuple[Any]]) -> Cond[M]:
        return self._in("NOT IN", values)


class Picklist(Text[M, T, N, W]):
    """A picklist: compared with its enum members (or, for values the enum lacks, a str)."""

    __slots__ = ()


class MultiPicklist(Column[M, T, N, W]):
    """A multi-select picklist: `includes('A;B', 'C')` matches A and B together, or C."""

    __slots__ = ()

    def includes(self, *values: str) -> Cond[M]:
        return Cond(f"{self.path} INCLUDES {_quote(list(values))}")

    def excludes(self, *values: str) -> Cond[M]:
        return Cond(f"{self.path} EXCLUDES {_quote(list(values))}")


class Number(_Ordered[M, T, N, W]):
    """int, double, currency, percent."""

    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would drop it

    def __eq__(self, other: Number_ | None) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: Number_ | None) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: Number_) -> Cond[M]:
        return self._op("<", other)

    def __le__(self, other: Number_) -> Cond[M]:
        return self._op("<=", other)

    def __gt__(self, other: Number_) -> Cond[M]:
        return self._op(">", other)

    def __ge__(self, other: Number_) -> Cond[M]:
        return self._op(">=", other)

    def in_(self, values: Iterable[Number_]) -> Cond[M]:
        return self._in("IN", values)

    def not_in(self, values: Iterable[Number_]) -> Cond[M]:
        return self._in("NOT IN", values)


class _Temporal(_Ordered[M, T, N, W]):
    __slots__ = ()

    def _op(self, op: str, value: object) -> Cond[M]:
        if isinstance(value, DateLiteral):
            return Cond(f"{self.path} {op} {value.text}")
        return super()._op(op, value)


class DateCol(_Temporal[M, T, N, W]):
    """A date: compared with `datetime.date` or a date literal (`TODAY`, `LAST_N_DAYS(30)`)."""

    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would drop it

    def __eq__(self, other: dt.date | DateLiteral | None) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: dt.date | DateLiteral | None) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: dt.date | DateLiteral) -> Cond[M]:
        return self._op("<", other)

    def __le__(self, other: dt.date | DateLiteral) -> Cond[M]:
        return self._op("<=", other)

    def __gt__(self, other: dt.date | DateLiteral) -> Cond[M]:
        return self._op(">", other)

    def __ge__(self, other: dt.date | DateLiteral) -> Cond[M]:
        return self._op(">=", other)


class DateTimeCol(_Temporal[M, T, N, W]):
    """A datetime: compared with an aware (or UTC) `datetime` or a date literal."""

    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would drop it

    def __eq__(self, other: dt.datetime | DateLiteral | None) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: dt.datetime | DateLiteral | None) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)

    def __lt__(self, other: dt.datetime | DateLiteral) -> Cond[M]:
        return self._op("<", other)

    def __le__(self, other: dt.datetime | DateLiteral) -> Cond[M]:
        return self._op("<=", other)

    def __gt__(self, other: dt.datetime | DateLiteral) -> Cond[M]:
        return self._op(">", other)

    def __ge__(self, other: dt.datetime | DateLiteral) -> Cond[M]:
        return self._op(">=", other)


class Bool(Column[M, T, N, W]):
    """A checkbox: never null in Salesforce, compared with True/False."""

    __slots__ = ()
    __hash__ = object.__hash__  # defining __eq__ would drop it

    def __eq__(self, other: bool) -> Cond[M]:  # type: ignore[override]
        return self._op("=", other)

    def __ne__(self, other: bool) -> Cond[M]:  # type: ignore[override]
        return self._op("!=", other)


class Opaque(Column[M, T, N, W]):
    """Selectable only: fields describe says are not filterable (long text, addresses,
    locations), and times (the bind rules have no time literal yet).

    `==` is plain identity here, so `where(Account.Description == "x")` is a type error (a
    bool is no condition) rather than a query Salesforce refuses.
    """

    __slots__ = ()
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self is other

    def __ne__(self, other: object) -> bool:  # type: ignore[override]
        return self is not other

    def _op(self, op: str, value: object) -> Cond[M]:
        raise UsageError(f"{self.path} cannot be filtered: SOQL has no condition on it")


class Parent(Generic[M, P, T]):
    """`Contact.Account`: at class level the parent's columns (`P`) rooted at `M`."""

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: Any) -> P: ...
        @overload
        def __get__(self, obj: SObject, owner: Any) -> T | None | UnsetType: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> P: ...
        def __get__(self, obj: object, owner: Any) -> Any: ...
        def __set__(self, obj: SObject, value: T | None | UnsetType) -> None: ...


class Children(Generic[M, C]):
    """`Account.Contacts`: a child relationship, the start of a subquery."""

    __slots__ = ("child", "name")

    def __init__(self, name: str, child: type[Any]) -> None:
        self.name = name
        self.child = child

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: Any) -> Self: ...
        @overload
        def __get__(self, obj: SObject, owner: Any) -> RelatedList[C] | None | UnsetType: ...
        @overload
        def __get__(self, obj: object, owner: Any) -> Self: ...
        def __get__(self, obj: object, owner: Any) -> Any: ...
        def __set__(self, obj: SObject, value: RelatedList[C] | None | UnsetType) -> None: ...

    def select(self, *columns: Selectable[C, Any, Any]) -> Subquery[M, C]:
        """`Account.Contacts.select(Contact.LastName)`: a subquery over this relationship."""
        from salesforce_typed.query.builder import Subquery

        return Subquery(self.name, self.child, tuple(c.path for c in columns) or ("Id",))

    def __repr__(self) -> str:
        return f"Children({self.name!r})"


class AnyParent(Generic[M, N]):
    """A polymorphic parent (`Task.What`): any field name, read as text (typing only)."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Text[M, str, None, str]: ...


_KINDS: dict[str, type[Column[Any, Any, Any, Any]]] = {
    "picklist": Picklist,
    "multipicklist": MultiPicklist,
    "boolean": Bool,
    "date": DateCol,
    "datetime": DateTimeCol,
    **dict.fromkeys(("int", "long", "double", "currency", "percent"), Number),
    **dict.fromkeys(
        ("id", "reference", "string", "email", "phone", "url", "combobox", "encryptedstring"),
        Text,
    ),
}


def column_for(info: FieldInfo, root: type[Any], prefix: str = "") -> Column[Any, Any, Any, Any]:
    """The column class describe's type calls for; a field describe says is not filterable
    (a long text area, for one) gets no conditions."""
    kind = _KINDS.get(info.type, Text if info.type == "textarea" else Opaque)
    return (kind if info.filterable else Opaque)(root, prefix + info.name, info)
