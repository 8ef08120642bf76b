"""Partner sObjects <-> our typed models: dynamic `<sf:Field>` elements read by field metadata.

The partner WSDL types every record as `sObject{type, fieldsToNull*, Id, any*}`: field values
are untyped text in the wildcard. Going in, a model's describe metadata picks which fields to
send (createable for create, updateable for update) and how to spell them in XML (xsd:dateTime
with `Z`, `true`/`false`); `None` on update becomes `fieldsToNull`, UNSET is not sent.
Coming out, the text is turned into REST-shaped JSON by each field's type and decoded by the
model's own `from_dict`, so a record read through SOAP equals the same record read through REST.

What must stay true:
- UNSET is never sent; `None` is sent only as `fieldsToNull` (update/upsert), never as text.
- Partner query results repeat `Id` (once fixed, once in the wildcard): it is read once.
- Unknown fields survive decoding in `extra_fields` (as text: without describe, no type).
- A nested `sObject` is a parent relationship, a nested `QueryResult` a child subquery,
  any other nested element (address, location) a compound read as a dict.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar

from xsdata.formats.dataclass.models.generics import AnyElement, DerivedElement

import salesforce_typed_soap as wsdl
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.core.models import Record, SObject, resolve_sobject
from salesforce_typed.core.unset import UNSET
from salesforce_typed.soap.envelope import SOBJECT_NS, XSI_NS

__all__ = [
    "WriteMode",
    "decode_records",
    "decode_sobject",
    "encode_mapping",
    "encode_sobject",
    "soap_text",
    "sobject_fields",
]

WriteMode = Literal["create", "update", "upsert"]
T = TypeVar("T", bound=SObject)

_NIL = f"{{{XSI_NS}}}nil"
_BOOLEAN = frozenset({"boolean"})
_INTEGER = frozenset({"int", "long"})
_FLOAT = frozenset({"double", "currency", "percent"})
_COMPOUND = frozenset({"address", "location"})


def _qname(name: str) -> str:
    return f"{{{SOBJECT_NS}}}{name}"


# -- encoding ------------------------------------------------------------------------------


def soap_text(value: Any) -> str:
    """A Python value as xsd lexical text: what a partner `<sf:Field>` carries."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime):
        # A naive datetime is UTC, as Salesforce takes it.
        utc: dt.datetime = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)  # multipicklist
    return str(value)


def _element(name: str, value: Any) -> AnyElement | DerivedElement[wsdl.SObject]:
    if isinstance(value, SObject):
        # A parent set by external id (`Contact.Account = Account(Ext__c="A-1")`).
        nested = encode_sobject(value, "create", id_field=False)
        return DerivedElement(qname=_qname(name), value=nested)
    return AnyElement(qname=_qname(name), text=soap_text(value))


def _writable(info: FieldInfo, mode: WriteMode) -> bool:
    if info.type in _COMPOUND:
        return False  # compound fields are read-only; their components are written
    if mode == "create":
        return info.createable
    if mode == "update":
        return info.updateable
    return info.createable or info.updateable


def encode_sobject(
    record: SObject, mode: WriteMode, *, id_field: bool = True, extra: Iterable[str] = ()
) -> wsdl.SObject:
    """A model as a partner sObject: set, writable fields; None -> fieldsToNull (not create).

    `extra` names fields to send whatever their flags say (the upsert key). A `Record` has no
    metadata: every field in `extra_fields` is sent as it is.
    """
    cls = type(record)
    sobject_type = _type_of(record)
    record_id = getattr(record, "Id", UNSET) if id_field else UNSET
    values: dict[str, Any] = {}
    keep = set(extra)
    for info in cls.__sf_fields__:
        if info.name == "Id":
            continue
        value = getattr(record, info.attr_name)
        if value is UNSET or not (_writable(info, mode) or info.name in keep):
            continue
        values[info.name] = value
    for parent in cls.__sf_parents__:
        value = getattr(record, parent.name, UNSET)
        if isinstance(value, SObject):
            values[parent.name] = value
    if isinstance(record, Record):
        values.update((k, v) for k, v in record.extra_fields.items() if k != "Id")
        record_id = record.extra_fields.get("Id", UNSET) if id_field else UNSET
    return _sobject(sobject_type, record_id, values, mode)


def encode_mapping(sobject_type: str, values: Mapping[str, Any], mode: WriteMode) -> wsdl.SObject:
    """A plain `{field: value}` record of `sobject_type` (`Id` picks the record to update)."""
    rest = {k: v for k, v in values.items() if k not in ("Id", "attributes")}
    return _sobject(sobject_type, values.get("Id", UNSET), rest, mode)


def _sobject(
    sobject_type: str, record_id: Any, values: Mapping[str, Any], mode: WriteMode
) -> wsdl.SObject:
    nulls: list[str] = []
    elements: list[object] = []
    for name, value in values.items():
        if value is UNSET:
            continue
        if value is None:
            if mode != "create":
                nulls.append(name)
            continue
        elements.append(_element(name, value))
    rid = None if record_id is UNSET or record_id is None else str(record_id)
    return wsdl.SObject(type_value=sobject_type, fields_to_null=nulls, id=rid, any_element=elements)


def _type_of(record: SObject) -> str:
    if isinstance(record, Record):
        name = record.type_name
        if not name:
            raise UsageError("a Record needs attributes={'type': ...} to be sent over SOAP")
        return name
    name = record.sobject_type()
    if not name:
        raise UsageError(f"{type(record).__name__} names no sObject type")
    return name


# -- decoding ------------------------------------------------------------------------------


def sobject_fields(record: wsdl.SObject) -> dict[str, Any]:
    """The dynamic fields of a partner sObject as raw values: text, None for nil, dicts for
    nested parents, child QueryResults and compounds. `Id` appears once."""
    out: dict[str, Any] = {}
    if record.id is not None:
        out["Id"] = record.id
    for item in record.any_element:
        if isinstance(item, DerivedElement):
            name = (item.qname or "").rpartition("}")[2]
            out[name] = item.value
        elif isinstance(item, AnyElement):
            name = (item.qname or "").rpartition("}")[2]
            if item.attributes.get(_NIL) == "true":
                if name != "Id" or "Id" not in out:
                    out[name] = None
            elif item.children:
                out[name] = {
                    (c.qname or "").rpartition("}")[2]: (
                        None if c.attributes.get(_NIL) == "true" else c.text
                    )
                    for c in item.children
                    if isinstance(c, AnyElement)
                }
            else:
                out[name] = item.text or ""
    return out


def _json_value(info: FieldInfo | None, value: Any, package: str) -> Any:
    """A raw partner value in the JSON form `from_dict` decodes, by the field's type."""
    if value is None:
        return None
    if isinstance(value, wsdl.SObject):
        return _rest_dict(value, package)
    if isinstance(value, wsdl.QueryResult):
        return {
            "totalSize": value.size,
            "done": value.done,
            "records": [_rest_dict(r, package) for r in value.records],
        }
    if isinstance(value, dict):
        return {k: _number(v) if k in ("latitude", "longitude") else v for k, v in value.items()}
    if info is None or not isinstance(value, str):
        return value
    if info.type in _BOOLEAN:
        return value == "true"
    if info.type in _INTEGER:
        return int(float(value)) if value else None
    if info.type in _FLOAT:
        return float(value) if value else None
    if value == "" and info.type not in ("string", "textarea"):
        return None
    return value


def _number(value: Any) -> Any:
    try:
        return float(value) if isinstance(value, str) and value else value
    except ValueError:
        return value


def _rest_dict(record: wsdl.SObject, package: str) -> dict[str, Any]:
    model = resolve_sobject(package, record.type_value)
    infos = {f.name: f for f in model.__sf_fields__}
    out: dict[str, Any] = {"attributes": {"type": record.type_value}}
    for name, value in sobject_fields(record).items():
        out[name] = _json_value(infos.get(name), value, package)
    return out


def decode_sobject(record: wsdl.SObject, model: type[T] | None, package: str) -> SObject:
    """One partner sObject as `model` (or its type's model in `package`, else a `Record`)."""
    data = _rest_dict(record, package)
    if model is not None and model.sobject_type() == record.type_value:
        return model.from_dict(data)
    return resolve_sobject(package, record.type_value).from_dict(data)


def decode_records(
    records: Iterable[wsdl.SObject | None], model: type[T] | None, package: str
) -> list[Any]:
    """Decode a list of partner sObjects; `None` (a retrieve miss) stays `None`."""
    return [None if r is None else decode_sobject(r, model, package) for r in records]
