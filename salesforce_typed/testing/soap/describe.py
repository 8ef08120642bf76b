"""describeGlobal, describeSObject(s) and search answers, converted from the REST facts.

The org has one schema (`OrgSchema`: the REST describes) and one SOSL engine; SOAP answers
are those same facts bound to the generated partner classes, element by element, by each
class's XML names (the REST and partner describes share their property names), so a flag
added to the REST describe reaches SOAP with no change here.

What must stay true (the real v66 WSDL, tests/fidelity/test_soap_wsdl.py):
- Every required element is present: a property the REST describe lacks gets the type's
  zero value (`false`, `0`, `""`), which is what Salesforce reports for a feature the org
  does not have; optional ones are left out, nillable ones are `xsi:nil`.
- REST spells compound soap types `urn:address`/`urn:location`; the partner enum has
  `tns:address`/`tns:location`. The record URLs come from `urls.uiDetailTemplate` etc.
- Search rows are partner sObjects like query rows (`xsi:type="sf:sObject"`).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import itertools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import salesforce_typed_soap as wsdl
from salesforce_typed.soap.envelope import PARTNER_NS
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.soap.wire import sobject, typed

T = TypeVar("T")

_ZERO: dict[Any, Any] = {bool: False, int: 0, str: ""}
_query_ids = itertools.count(1)


_HINTS: dict[str, dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    key = cls.__qualname__
    if key not in _HINTS:
        _HINTS[key] = typing.get_type_hints(cls)
    return _HINTS[key]


def _xml_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("name", f.name))


def _split(hint: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0], True
    return hint, False


def _soap_type(raw: str) -> wsdl.SoapType:
    compound = raw.replace("urn:", "tns:", 1) if raw in ("urn:address", "urn:location") else raw
    return wsdl.SoapType(compound)


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
        return _soap_type(str(raw))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(raw)
    if kind is bytes:
        return base64.b64decode(raw) if isinstance(raw, str) else raw
    if kind in (bool, int, str):
        return kind(raw)
    return raw  # xsd:anyType (Field.defaultValue): xsdata writes the value's own xsi:type


def bind(cls: type[T], data: Mapping[str, Any]) -> T:
    """A generated partner class filled from REST JSON that uses its element names."""
    hints = _hints(cls)
    values = {
        f.name: _value(hints[f.name], data.get(_xml_name(f)))
        for f in dataclasses.fields(typing.cast(Any, cls))
    }
    return cls(**values)


def describe_global(state: OrgState) -> wsdl.DescribeGlobalResult:
    return wsdl.DescribeGlobalResult(
        encoding="UTF-8",
        max_batch_size=200,
        sobjects=[bind(wsdl.DescribeGlobalSobjectResult, doc) for doc in state.schema],
    )


def describe_sobject(doc: Mapping[str, Any]) -> wsdl.DescribeSobjectResult:
    urls = doc.get("urls") or {}
    data = {
        **doc,
        "urlDetail": urls.get("uiDetailTemplate"),
        "urlEdit": urls.get("uiEditTemplate"),
        "urlNew": urls.get("uiNewRecord"),
    }
    return bind(wsdl.DescribeSobjectResult, data)


def search_result(found: Mapping[str, Any]) -> wsdl.SearchResult:
    """The SOSL engine's REST body (`searchRecords`) as a partner SearchResult."""
    records: list[Any] = [
        wsdl.SearchRecord(record=typing.cast(Any, typed(f"{{{PARTNER_NS}}}record", sobject(row))))
        for row in found.get("searchRecords") or ()
    ]
    return wsdl.SearchResult(query_id=f"sosl-{next(_query_ids)}", search_records=records)
