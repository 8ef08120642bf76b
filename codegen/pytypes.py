"""Salesforce field types -> the Python annotations generated models use."""

from __future__ import annotations

from .ir import FieldDef

_SIMPLE = {
    "id": "str",
    "reference": "str",
    "string": "str",
    "textarea": "str",
    "email": "str",
    "phone": "str",
    "url": "str",
    "encryptedstring": "str",
    "combobox": "str",
    "picklist": "str",
    "multipicklist": "list[str]",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "double": "float",
    "currency": "float",
    "percent": "float",
    "date": "_dt.date",
    "datetime": "_dt.datetime",
    "time": "_dt.time",
    "base64": "bytes | str",
    "address": "_sf.Address",
    "location": "_sf.Location",
    "personName": "_sf.PersonName",
    "changeEventHeader": "_sf.ChangeEventHeader",
    "anyType": "typing.Any",
    "complexvalue": "typing.Any",
    "json": "typing.Any",
}


def annotation(field: FieldDef, enum_class: str | None) -> str:
    """`T | None | _sf.UnsetType`: UNSET is 'not sent', None is 'null'."""
    base = _SIMPLE[field.type]
    if enum_class is not None:
        base = f"{enum_class} | str"
    if base == "typing.Any":
        return "typing.Any"
    return f"{base} | None | _sf.UnsetType"


def uses_datetime(fields: tuple[FieldDef, ...]) -> bool:
    return any(_SIMPLE[f.type].startswith("_dt.") for f in fields)


def uses_any(fields: tuple[FieldDef, ...]) -> bool:
    return any(_SIMPLE[f.type] == "typing.Any" for f in fields)
