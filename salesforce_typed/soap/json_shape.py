"""Generated partner classes <-> the REST JSON of the same facts, by XML element name.

The partner describe types (DescribeSObjectResult, Field, PicklistEntry, ...) use the same
property names as the REST describes, so one generic walk maps either way: the fake org
binds its REST describes to partner classes, the client turns partner answers back into
REST-shaped JSON and so into the same `core.describe` models the REST client returns.

What must stay true:
- A required element the JSON lacks gets its type's zero value (`false`, `0`, `""`): what
  Salesforce reports for a feature the org does not have. Optional ones stay out.
- REST spells compound soap types `urn:address`/`urn:location`, the partner enum
  `tns:address`/`tns:location`; each direction writes its own spelling.
- `xsd:base64Binary` (PicklistEntry.validFor) is base64 text in JSON, bytes in the class.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import salesforce_typed_soap as wsdl

__all__ = ["bind", "to_json"]

T = TypeVar("T")

_ZERO: dict[Any, Any] = {bool: False, int: 0, str: ""}
_COMPOUND_SOAP_TYPES = {"urn:address": "tns:address", "urn:location": "tns:location"}
_REST_SOAP_TYPES = {v: k for k, v in _COMPOUND_SOAP_TYPES.items()}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _xml_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("name", f.name))


def _split(hint: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def _value(hint: Any, raw: Any) -> Any:
    kind, optional = _split(hint)
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return [_value(item, r) for r in raw or ()]
    if raw is None:
        return None if optional else _ZERO.get(kind)
    if dataclasses.is_dataclass(kind):
        return bind(typing.cast(type[Any], kind), raw) if isinstance(raw, Mapping) else None
    if kind is wsdl.SoapType:
        return wsdl.SoapType(_COMPOUND_SOAP_TYPES.get(str(raw), str(raw)))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(raw)
    if kind is bytes:
        return base64.b64decode(raw) if isinstance(raw, str) else raw
    if kind in (bool, int, str):
        return kind(raw)
    return raw  # xsd:anyType (Field.defaultValue): xsdata writes the value's own xsi:type


def bind(cls: type[T], data: Mapping[str, Any]) -> T:
    """A generated partner class filled from JSON that uses its element names."""
    target = typing.cast(type[Any], cls)
    hints = _hints(target)
    values = {
        f.name: _value(hints[f.name], data.get(_xml_name(f))) for f in dataclasses.fields(target)
    }
    return typing.cast(T, target(**values))


def to_json(value: Any) -> Any:
    """A generated partner object as JSON keyed by element names (REST spellings)."""
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {_xml_name(f): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, wsdl.SoapType):
        return _REST_SOAP_TYPES.get(value.value, value.value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value
