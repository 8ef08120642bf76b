"""Class-level field access at run time: `Account.Name` is a column, `acc.Name` a value.

Instances keep their attrs slots untouched (no wrapper on the hot path): the columns are
handed out by data descriptors on the models' metaclass, which Python consults only for
attribute access on the class itself. `record.require.X` reads a field or raises.
"""

from __future__ import annotations

from typing import Any

from salesforce_typed.core.errors import FieldUnavailableError
from salesforce_typed.core.unset import UNSET

__all__ = ["ModelMeta", "ParentPath", "Required", "columns_of"]

_COLUMNS: dict[type[Any], dict[str, Any]] = {}


def _resolve(model: type[Any], type_name: str) -> type[Any] | None:
    from salesforce_typed.core.models import Record, resolve_sobject

    found = resolve_sobject(str(model.__sf_package__), type_name)
    return None if found is Record else found


def _build(model: type[Any], root: type[Any], prefix: str) -> dict[str, Any]:
    # Imported here, on the first class-level access: importing a model stays cheap.
    from salesforce_typed.query.columns import Children, column_for

    cols: dict[str, Any] = {f.attr_name: column_for(f, root, prefix) for f in model.__sf_fields__}
    for p in model.__sf_parents__:
        target = _resolve(model, p.reference_to[0]) if len(p.reference_to) == 1 else None
        cols[p.name] = ParentPath(root, f"{prefix}{p.name}.", target)
    if not prefix:  # SOQL has no child subquery below a parent
        for c in model.__sf_children__:
            child = _resolve(model, c.child_sobject)
            if child is not None:
                cols[c.name] = Children(c.name, child)
    return cols


def columns_of(model: type[Any]) -> dict[str, Any]:
    """The class-level columns of `model`, built once, on first use."""
    cols = _COLUMNS.get(model)
    if cols is None:
        cols = _COLUMNS[model] = _build(model, model, "")
    return cols


class ParentPath:
    """`Contact.Account`: the parent's fields, spelled `Account.Name` from the root."""

    __slots__ = ("_cols", "_prefix", "_root", "_target")

    def __init__(self, root: type[Any], prefix: str, target: type[Any] | None) -> None:
        self._root = root
        self._prefix = prefix
        self._target = target
        self._cols: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._target is None:  # polymorphic (Who, What, Owner): any name, as text
            from salesforce_typed.query.columns import Text

            return Text(self._root, self._prefix + name, None)
        if self._cols is None:
            self._cols = _build(self._target, self._root, self._prefix)
        try:
            return self._cols[name]
        except KeyError:
            raise AttributeError(f"{self._target.__name__} has no field {name!r}") from None

    def __repr__(self) -> str:
        return f"ParentPath({self._prefix.rstrip('.')!r})"


class _ColumnSlot:
    """A data descriptor on ModelMeta for one field name, shared by every model."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, cls: type[Any] | None, meta: type[Any] | None = None) -> Any:
        if cls is None:
            return self
        cols = _COLUMNS.get(cls)
        if cols is None and getattr(cls, "__sf_fields__", None):  # not before the metadata is set
            cols = columns_of(cls)
        found = None if cols is None else cols.get(self.name)
        if found is not None:
            return found
        for klass in cls.__mro__:  # not a column here: the ordinary class attribute
            if self.name in klass.__dict__:
                attr = klass.__dict__[self.name]
                get = getattr(type(attr), "__get__", None)
                return attr if get is None else get(attr, None, cls)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {self.name!r}")

    def __set__(self, cls: type[Any], value: Any) -> None:
        raise AttributeError(f"{cls.__name__}.{self.name} is a field: set it on a record")


class Required:
    """`record.require`: each field read without None or UNSET, or FieldUnavailableError."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._record, name, UNSET)
        if value is UNSET or value is None:
            reason = "not selected" if value is UNSET else "null"
            raise FieldUnavailableError(self._record.__sobject_type__, name, reason)
        return value


def _require(self: Any) -> Required:
    return Required(self)


class ModelMeta(type):
    """Metaclass of generated models: registers each declared field name (see module doc)."""

    def __init__(cls, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> None:
        super().__init__(name, bases, ns)
        for attr in ns.get("__annotations__", ()):
            if not attr.startswith("__") and attr not in ModelMeta.__dict__:
                type.__setattr__(ModelMeta, attr, _ColumnSlot(attr))
        if "require" not in ns and not hasattr(cls, "require"):
            type.__setattr__(cls, "require", property(_require))
