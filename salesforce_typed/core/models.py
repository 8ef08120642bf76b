"""SObject: the base every generated model inherits; decoding and encoding live here.

What must stay true:
- attribute names are the exact Salesforce API names; UNSET (not sent) is not None (null);
- unknown JSON keys are kept in `extra_fields` (loose) or rejected (strict), never dropped;
- `to_dict(from_dict(x)) == x` for every record Salesforce sends;
- create/update payloads carry only set, createable/updateable fields.
Decoding plans are built once per class on first use, so importing a model stays cheap.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import attrs

from salesforce_typed.core.codecs import DECODERS, ENCODERS, STRICT_JSON_TYPES, parse_datetime
from salesforce_typed.core.codecs_shapes import (
    Compiled,
    CompiledRows,
    Entry,
    Shapes,
    compile_shape,
    compound_decoder,
)
from salesforce_typed.core.errors import FieldValueError, UnknownFieldError
from salesforce_typed.core.fields import ChildInfo, FieldInfo, ObjectInfo, ParentInfo
from salesforce_typed.core.unset import UNSET, UnsetType

__all__ = [
    "UNSET",
    "ChangeEvent",
    "Record",
    "RelatedList",
    "SObject",
    "UnknownFieldError",
    "UnsetType",
]


_Decode = Callable[[Any, bool], Any]
# JSON key -> (attribute, converter, whether it takes `strict`, picklist value -> member).
_Plan = dict[str, Entry]


_COMPOUND: dict[str, Callable[[dict[str, Any]], Any]] = {}


def _compound_decoders() -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Nested JSON objects with a class of their own, by field type (imported on first
    decode, not at model import: most models never meet a compound field)."""
    if not _COMPOUND:
        from salesforce_typed.core.compound import Address, Location, PersonName

        _COMPOUND.update(
            address=compound_decoder(Address),
            location=compound_decoder(Location),
            personName=compound_decoder(PersonName),
        )
    return _COMPOUND


def _scalar_decoder(info: FieldInfo) -> Callable[[Any], Any] | None:
    """A one-argument converter for a field's non-null JSON value, or None to keep it."""
    compound = _compound_decoders().get(info.type)
    if compound is not None:
        return compound
    if info.type == "changeEventHeader":
        from salesforce_typed.core.change_events import ChangeEventHeader

        return ChangeEventHeader.from_dict
    if info.enum is not None:
        lookup = info.enum._value2member_map_
        return lambda v: lookup.get(v, v)
    return DECODERS.get(info.type)


def _members(info: FieldInfo) -> dict[Any, Any] | None:
    """A picklist's value -> enum member map (unknown values decode as themselves)."""
    return None if info.enum is None else info.enum._value2member_map_


def _check_type(info: FieldInfo, value: Any) -> None:
    expected = STRICT_JSON_TYPES.get(info.type)
    bad = expected is not None and (
        not isinstance(value, expected) or (bool not in expected and isinstance(value, bool))
    )
    if bad:
        raise FieldValueError(f"{info.name}: {value!r} is not a valid {info.type} value")


def _encode_value(value: Any) -> Any:
    to_dict = getattr(value, "to_dict", None)
    return value if to_dict is None else to_dict()


_RESOLVED: dict[tuple[str, str], type[SObject]] = {}


def resolve_sobject(package: str, type_name: str) -> type[SObject]:
    """The model class for `type_name` in `package`'s lazy index, or `Record` if it has none."""
    key = (package, type_name)
    cls = _RESOLVED.get(key)
    if cls is None:
        found: Any = None
        if package:
            found = getattr(importlib.import_module(package), type_name, None)
        cls = found if isinstance(found, type) and issubclass(found, SObject) else Record
        _RESOLVED[key] = cls
    return cls


def _record_type(value: dict[str, Any], fallback: str) -> str:
    attributes = value.get("attributes")
    if isinstance(attributes, dict) and isinstance(attributes.get("type"), str):
        return str(attributes["type"])
    return fallback


class _Pending:
    """Datetimes a compiled decoder kept as sent: attribute names and their JSON strings,
    parsed on first read (`SObject.__getattr__`). Not attrs fields: equality, repr, pickling
    and copies read every field through getattr, which parses them first. With one name the
    value is stored bare, not in a tuple: a row saves a tuple's making and freeing."""

    __slots__ = ("_pending_attrs", "_pending_values")


_pending_attrs = _Pending._pending_attrs.__get__  # type: ignore[attr-defined]
_pending_values = _Pending._pending_values.__get__  # type: ignore[attr-defined]


def _pending_index(obj: Any, name: str) -> int:
    """Where `name` sits among `obj`'s pending datetimes, or -1."""
    try:
        names: tuple[str, ...] = _pending_attrs(obj)
    except AttributeError:
        return -1
    return names.index(name) if name in names else -1


def _pending_value(obj: Any, i: int) -> Any:
    """The JSON string of the `i`th pending datetime (one name: the value itself)."""
    values: Any = _pending_values(obj)
    return values if len(_pending_attrs(obj)) == 1 else values[i]


def _drop_pending(obj: Any, i: int) -> None:
    names: tuple[str, ...] = _pending_attrs(obj)
    values: Any = _pending_values(obj)
    left = names[:i] + names[i + 1 :]
    kept: tuple[Any, ...] = () if len(names) == 1 else values[:i] + values[i + 1 :]
    _setattr(obj, "_pending_attrs", left)
    _setattr(obj, "_pending_values", kept[0] if len(left) == 1 else kept)


def resolve_pending(obj: Any) -> None:
    """Parse every datetime a compiled decoder kept as sent, now: a bad one raises here
    (where a caller can fall back) rather than at a later read, and leaves them all pending.
    One pass under the lock, not one `__getattr__` per field (the change-event decoder calls
    this for every event: two datetimes cost 2.4 µs that way)."""
    try:
        names: tuple[str, ...] = _pending_attrs(obj)
    except AttributeError:
        return
    if not names:
        return
    with _LAZY_LOCK:  # as __getattr__: one parse and one stored value, whichever thread
        names = _pending_attrs(obj)
        raw: Any = _pending_values(obj)
        values = (raw,) if len(names) == 1 else raw
        parsed = [None if v is None else parse_datetime(v) for v in values]  # may raise
        for name, value in zip(names, parsed, strict=True):
            _setattr(obj, name, value)
        _setattr(obj, "_pending_attrs", ())
        _setattr(obj, "_pending_values", ())


@attrs.define(kw_only=True, slots=True, repr=False)
class SObject(_Pending):
    """A Salesforce record. Generated subclasses declare the fields; this holds the behaviour."""

    __sobject_type__: ClassVar[str] = ""
    __sf_package__: ClassVar[str] = ""
    __sf_object__: ClassVar[ObjectInfo | None] = None
    __sf_fields__: ClassVar[tuple[FieldInfo, ...]] = ()
    __sf_parents__: ClassVar[tuple[ParentInfo, ...]] = ()
    __sf_children__: ClassVar[tuple[ChildInfo, ...]] = ()

    attributes: dict[str, Any] | UnsetType = attrs.field(default=UNSET, repr=False)
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)

    # -- metadata ---------------------------------------------------------------------------

    @classmethod
    def field_info(cls, name: str) -> FieldInfo:
        """Describe metadata of one field by API name (KeyError if the model lacks it)."""
        return _field_map(cls)[name]

    @classmethod
    def sobject_type(cls) -> str:
        return cls.__sobject_type__

    # -- decoding ---------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, strict: bool = False) -> Self:
        """Decode a record as REST returns it. `strict` rejects unknown keys and bad types."""
        if not strict and type(data) is dict:
            # A key order seen before (every row of a query page) has a compiled decoder.
            fast = _compiled(cls, tuple(data))
            if fast is not None:
                decoded: Self = fast(data)
                return decoded
        plan = _plan(cls)
        # Built without running the generated __init__ (60 fields for Account): only the
        # keys Salesforce sent are stored; every other field reads as UNSET (__getattr__).
        obj = _new(cls)
        extra: dict[str, Any] = {}
        for key, value in data.items():
            entry = plan.get(key)
            if entry is None:
                if key == "attributes":
                    _setattr(obj, "attributes", value)
                elif strict:
                    raise UnknownFieldError(f"{cls.__name__} has no field {key!r}")
                else:
                    extra[key] = value
                continue
            attr, decode, with_strict, _ = entry
            if value is not None and decode is not None:
                value = decode(value, strict) if with_strict else decode(value)
            _setattr(obj, attr, value)
        _setattr(obj, "extra_fields", extra)
        if strict:
            _strict_check(cls, data)
        return obj

    if not TYPE_CHECKING:  # at run time only: mypy must keep flagging unknown attributes

        def __getattr__(self, name: str) -> Any:
            # Three kinds of unset slot: a datetime a compiled decoder kept as sent (parsed
            # now), `extra_fields` of a row without unknown keys (made now: a dict per record
            # saved), and a declared field Salesforce did not send (UNSET).
            kind = _slot_kinds(type(self)).get(name)
            if kind is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            if kind is _DATETIME and _pending_index(self, name) >= 0:
                with _LAZY_LOCK:  # one parse and one stored value, whichever thread reads
                    i = _pending_index(self, name)
                    if i < 0:  # another thread parsed it meanwhile
                        return object.__getattribute__(self, name)
                    raw = _pending_value(self, i)
                    value = None if raw is None else parse_datetime(raw)  # bad: raises each read
                    _setattr(self, name, value)
                    _drop_pending(self, i)
                    return value
            if kind is _EXTRA:
                with _LAZY_LOCK:  # two first reads must hand out the same dict
                    try:
                        return object.__getattribute__(self, name)
                    except AttributeError:
                        extra: dict[str, Any] = {}
                        _setattr(self, name, extra)
                        return extra
            return UNSET

    # -- encoding ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything set, JSON-shaped: the inverse of `from_dict`."""
        out: dict[str, Any] = {}
        if self.attributes is not UNSET:
            out["attributes"] = self.attributes
        for attr, key, encode in _encoders(type(self)):
            value = getattr(self, attr)
            if value is UNSET:
                continue
            if value is not None:
                value = encode(value) if encode is not None else _encode_value(value)
            out[key] = value
        out.update(self.extra_fields)
        return out

    def to_create_payload(self, *, include_extra: bool = False) -> dict[str, Any]:
        """Set and createable fields, None as null; parents set by external id are kept."""
        return self._payload("createable", include_extra)

    def to_update_payload(self, *, include_extra: bool = False) -> dict[str, Any]:
        """Set and updateable fields, None as null."""
        return self._payload("updateable", include_extra)

    def _payload(self, flag: str, include_extra: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        cls = type(self)
        for info in cls.__sf_fields__:
            value = getattr(self, info.attr_name)
            if value is UNSET or not getattr(info, flag):
                continue
            if value is not None:
                encode = ENCODERS.get(info.type)
                value = encode(value) if encode is not None else value
            out[info.name] = value
        for parent in cls.__sf_parents__:
            value = getattr(self, parent.name)
            if isinstance(value, SObject):
                ref = value._payload("createable", False)
                ref.update({k: v for k, v in value.to_dict().items() if k == "attributes"})
                out[parent.name] = ref
        if include_extra:
            out.update(self.extra_fields)
        return out

    # -- access -----------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        """Any field by API name, declared or kept from the JSON (KeyError if neither)."""
        attr = _attr_map(type(self)).get(name)
        if attr is not None:
            return getattr(self, attr)
        return self.extra_fields[name]

    def __repr__(self) -> str:
        """Only what is set: a 60-field model with two values shows two."""
        shown = [
            f"{attr}={getattr(self, attr)!r}"
            for attr, _key, _enc in _encoders(type(self))
            if getattr(self, attr) is not UNSET
        ]
        if self.extra_fields:
            shown.append(f"extra_fields={self.extra_fields!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def set_fields(self) -> Iterator[str]:
        """API names of the declared fields that are not UNSET."""
        for info in type(self).__sf_fields__:
            if getattr(self, info.attr_name) is not UNSET:
                yield info.name


@attrs.define(kw_only=True, slots=True, repr=False)
class Record(SObject):
    """A record of a type no generated model covers: every field lives in `extra_fields`."""

    @property
    def type_name(self) -> str:
        return _record_type({"attributes": self.attributes}, "")


@attrs.define(kw_only=True, slots=True, repr=False)
class ChangeEvent(SObject):
    """Base of `<Name>ChangeEvent` models: the changed fields plus the header."""

    __sf_entity__: ClassVar[str] = ""


T = TypeVar("T", bound=SObject)


@attrs.define(kw_only=True, slots=True)
class RelatedList(Generic[T]):
    """A child relationship's records (`Account.Contacts`), shaped like a query result page."""

    totalSize: int = 0
    done: bool = True
    records: list[T] = attrs.field(factory=list)
    nextRecordsUrl: str | UnsetType = UNSET
    extra_fields: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], item: Callable[[dict[str, Any]], T]) -> RelatedList[T]:
        extra = {
            k: v
            for k, v in data.items()
            if k not in ("totalSize", "done", "records", "nextRecordsUrl")
        }
        return cls(
            totalSize=data.get("totalSize", 0),
            done=data.get("done", True),
            records=[item(r) for r in data.get("records") or ()],
            nextRecordsUrl=data.get("nextRecordsUrl", UNSET),
            extra_fields=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"totalSize": self.totalSize, "done": self.done}
        if self.nextRecordsUrl is not UNSET:
            out["nextRecordsUrl"] = self.nextRecordsUrl
        out["records"] = [r.to_dict() for r in self.records]
        out.update(self.extra_fields)
        return out


# -- per-class plans, built on first use ------------------------------------------------------

_PLANS: dict[type, _Plan] = {}
_SHAPES: dict[type, Shapes] = {}
_SLOTS: dict[type, frozenset[str]] = {}
_KINDS: dict[type, dict[str, str]] = {}
_new = object.__new__
_LAZY_LOCK = threading.Lock()
_setattr = object.__setattr__


_DATETIME, _EXTRA, _PLAIN = "datetime", "extra", "plain"


def _slot_kinds(cls: type[SObject]) -> dict[str, str]:
    """Each attrs slot of `cls` and what an unset one reads as: a datetime a compiled decoder
    may leave pending, `extra_fields` (made on first read), or UNSET. No __delattr__ goes
    with this: defining one routes every attribute store through Python, the decoders'."""
    kinds = _KINDS.get(cls)
    if kinds is None:
        kinds = {name: _PLAIN for name in _slot_names(cls)}
        kinds.update((f.attr_name, _DATETIME) for f in cls.__sf_fields__ if f.type == "datetime")
        kinds["extra_fields"] = _EXTRA
        _KINDS[cls] = kinds
    return kinds


def _slot_names(cls: type) -> frozenset[str]:
    names = _SLOTS.get(cls)
    if names is None:
        names = _SLOTS[cls] = frozenset(a.name for a in attrs.fields(cls))
    return names


_ENCODER_PLANS: dict[type, list[tuple[str, str, Callable[[Any], Any] | None]]] = {}
_FIELD_MAPS: dict[type, dict[str, FieldInfo]] = {}
_ATTR_MAPS: dict[type, dict[str, str]] = {}


def _field_map(cls: type[SObject]) -> dict[str, FieldInfo]:
    m = _FIELD_MAPS.get(cls)
    if m is None:
        m = _FIELD_MAPS[cls] = {f.name: f for f in cls.__sf_fields__}
    return m


def _attr_map(cls: type[SObject]) -> dict[str, str]:
    m = _ATTR_MAPS.get(cls)
    if m is None:
        m = {f.name: f.attr_name for f in cls.__sf_fields__}
        m.update({p.name: p.name for p in cls.__sf_parents__})
        m.update({c.name: c.name for c in cls.__sf_children__})
        _ATTR_MAPS[cls] = m
    return m


def _parent_decoder(cls: type[SObject], parent: ParentInfo) -> _Decode:
    package = cls.__sf_package__
    fallback = parent.reference_to[0] if len(parent.reference_to) == 1 else ""

    def decode(value: Any, strict: bool) -> Any:
        target = resolve_sobject(package, _record_type(value, fallback))
        return target.from_dict(value, strict=strict)

    return decode


def _child_decoder(cls: type[SObject], child: ChildInfo) -> _Decode:
    package = cls.__sf_package__

    def decode(value: Any, strict: bool) -> Any:
        def item(record: dict[str, Any]) -> SObject:
            target = resolve_sobject(package, _record_type(record, child.child_sobject))
            return target.from_dict(record, strict=strict)

        return RelatedList.from_dict(value, item)

    return decode


def _plan(cls: type[SObject]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = {
            f.name: (f.attr_name, _scalar_decoder(f), False, _members(f)) for f in cls.__sf_fields__
        }
        for p in cls.__sf_parents__:
            plan[p.name] = (p.name, _parent_decoder(cls, p), True, None)
        for c in cls.__sf_children__:
            plan[c.name] = (c.name, _child_decoder(cls, c), True, None)
        _PLANS[cls] = plan
    return plan


def _encoders(cls: type[SObject]) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
    plan = _ENCODER_PLANS.get(cls)
    if plan is None:
        plan = [(f.attr_name, f.name, ENCODERS.get(f.type)) for f in cls.__sf_fields__]
        plan += [(p.name, p.name, None) for p in cls.__sf_parents__]
        plan += [(c.name, c.name, None) for c in cls.__sf_children__]
        _ENCODER_PLANS[cls] = plan
    return plan


def _compiled(cls: type[SObject], keys: tuple[str, ...], *, now: bool = False) -> Compiled | None:
    """The compiled loose decoder for rows with exactly `keys`, once that shape recurs
    (`now`: at once, for a page that has more rows of it)."""
    shapes = _SHAPES.get(cls) or _SHAPES.setdefault(cls, Shapes())
    fast = shapes.compiled.get(keys)
    if fast is None and (shapes.second_sighting(keys) or (now and shapes.has_room())):
        fast = shapes.keep(keys, compile_shape(cls, keys, _plan(cls), cls.from_dict))
    return fast


def _compiled_rows(cls: type[SObject], keys: tuple[str, ...]) -> CompiledRows | None:
    """The compiled page generator for rows with exactly `keys`, compiled at once."""
    if _compiled(cls, keys, now=True) is None:
        return None
    return _SHAPES[cls].pages.get(keys)


def page_records(cls: type[T]) -> Callable[[list[dict[str, Any]]], Iterator[T]]:
    """For a query page, its rows decoded one at a time as they are iterated: the compiled
    page generator for the first row's key set (it checks each row and hands another shape
    to `from_dict`), so no call is made per row."""
    from_dict = cls.from_dict

    def for_page(rows: list[dict[str, Any]]) -> Iterator[T]:
        if len(rows) > 1 and type(rows[0]) is dict:
            fast = _compiled_rows(cls, tuple(rows[0]))
            if fast is not None:
                records: Iterator[T] = fast(rows)
                return records
        return map(from_dict, rows)

    return for_page


def page_decoder(cls: type[T]) -> Callable[[list[dict[str, Any]]], Callable[[dict[str, Any]], T]]:
    """For a query page, the row decoder to map over all its rows: the compiled one for the
    first row's key set (it checks each row and hands another shape to `from_dict`)."""
    from_dict = cls.from_dict

    def for_page(rows: list[dict[str, Any]]) -> Callable[[dict[str, Any]], T]:
        if len(rows) > 1 and type(rows[0]) is dict:
            fast = _compiled(cls, tuple(rows[0]), now=True)
            if fast is not None:
                return fast
        return from_dict

    return for_page


def row_decoder(cls: type[T]) -> Callable[[dict[str, Any]], T]:
    """`cls.from_dict` for a stream of rows (a query's pages), which share one key order:
    the last shape's decoder is kept at hand, so a row costs a key tuple and one call."""
    last: tuple[tuple[str, ...], Compiled | None] = ((), None)  # replaced in one store
    from_dict = cls.from_dict

    def decode(row: dict[str, Any]) -> T:
        nonlocal last
        if type(row) is dict:
            keys = tuple(row)
            last_keys, fast = last
            if fast is None or keys != last_keys:
                fast = _compiled(cls, keys)
                if fast is None:
                    return from_dict(row)
                last = (keys, fast)
            record: T = fast(row)
            return record
        return from_dict(row)

    return decode


def _strict_check(cls: type[SObject], data: dict[str, Any]) -> None:
    fields = _field_map(cls)
    for key, value in data.items():
        info = fields.get(key)
        if info is not None and value is not None:
            _check_type(info, value)
