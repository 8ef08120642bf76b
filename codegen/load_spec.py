"""A Salesforce sObjects OpenAPI 3 spec (`/async/specifications/oas3`) -> the IR.

The spec names every sObject (`<Name>SObject` schemas) and field, but carries no enums,
`nullable`, `readOnly`, references or child relationships: every field may be null in real
responses, and writability is only known for the audit fields. Overlay describe data
(`--from-describe`) for the rest. Types map: string/boolean/integer/number, `date`,
`date-time`; `object` properties are compound addresses, times, blobs or the CDC header.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .errors import CodegenError
from .ir import FieldDef, SchemaDef, SObjectDef
from .jsonfile import expect, read_json, want_dict

SUFFIX = "SObject"

# Audit fields Salesforce maintains itself: never createable or updateable.
READ_ONLY = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "LastActivityDate",
        "LastViewedDate",
        "LastReferencedDate",
        "ReplayId",
    }
)
_TIME_NAME = re.compile(r"(StartTime|EndTime)$")
_BLOB_NAMES = frozenset({"Body", "VersionData", "ApplicationBinary", "LogFile", "Binary"})


def _object_field_type(name: str, prop: dict[str, Any]) -> str:
    if name == "ChangeEventHeader":
        return "changeEventHeader"
    if name.endswith("Address") or "compound form of" in str(prop.get("description", "")):
        return "address"
    if _TIME_NAME.search(name):
        return "time"
    if name in _BLOB_NAMES:
        return "base64"
    return "anyType"


def _field_type(name: str, prop: dict[str, Any], source: str, path: str) -> str:
    t = prop.get("type")
    fmt = prop.get("format")
    if name == "Id":
        return "id"
    if t == "string":
        return {"date": "date", "date-time": "datetime"}.get(str(fmt), "string")
    if t == "boolean":
        return "boolean"
    if t == "integer":
        return "int"
    if t == "number":
        return "double"
    if t == "object":
        return _object_field_type(name, prop)
    if t == "array":
        return "anyType"
    raise CodegenError(f"unknown property type {t!r}", source=source, path=path)


def _sobject(name: str, schema: dict[str, Any], source: str, path: str) -> SObjectDef:
    props = want_dict(schema.get("properties", {}), source, f"{path}.properties")
    fields = []
    for fname, raw in props.items():
        if fname == "attributes":
            continue  # the record envelope, modelled by the SObject base
        fpath = f"{path}.properties.{fname}"
        prop = want_dict(raw, source, fpath)
        ftype = _field_type(fname, prop, source, fpath)
        writable = fname not in READ_ONLY and ftype not in ("address", "changeEventHeader")
        fields.append(
            FieldDef(
                name=fname,
                type=ftype,
                description=str(prop.get("description", "")),
                createable=writable,
                updateable=writable,
                nillable=fname != "Id",
                custom=fname.endswith("__c"),
            )
        )
    return SObjectDef(
        name=name,
        label=name,
        custom=name.endswith("__c"),
        cdc=False,  # the spec lists the org's ChangeEvent types itself
        fields=tuple(fields),
    )


def load_spec(path: Path) -> SchemaDef:
    doc, sha = read_json(path)
    source = path.name
    root = want_dict(doc, source, "$")
    expect("components" in root, "spec has no 'components'", source, "$.components")
    components = want_dict(root["components"], source, "$.components")
    expect("schemas" in components, "spec has no schemas", source, "$.components.schemas")
    schemas = want_dict(components["schemas"], source, "$.components.schemas")
    objects = []
    for key in sorted(schemas, key=lambda k: k.removesuffix(SUFFIX)):
        if not key.endswith(SUFFIX):
            continue  # DescribeGlobalResult, SaveResult...: served by the runtime's own models
        path_ = f"$.components.schemas.{key}"
        objects.append(
            _sobject(
                key.removesuffix(SUFFIX), want_dict(schemas[key], source, path_), source, path_
            )
        )
    expect(bool(objects), "no '<Name>SObject' schemas found", source, "$.components.schemas")
    info = root.get("info")
    version = str(info.get("version", "")) if isinstance(info, dict) else ""
    return SchemaDef(sobjects=tuple(objects), source=source, source_sha256=sha, api_version=version)
