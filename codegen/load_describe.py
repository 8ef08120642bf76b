"""Describe JSON (per-object `GET /sobjects/X/describe` results, plus describeGlobal) -> the IR.

This is the richest input: picklists, createable/updateable, nillable, lengths, references
and child relationships all come from here. The same conversion serves a folder of saved
describes and describes fetched live from an org.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import CodegenError
from .ir import (
    FIELD_TYPES,
    ChildRelationship,
    FieldDef,
    PicklistValue,
    SchemaDef,
    SObjectDef,
)
from .jsonfile import expect, read_json, want_dict, want_list


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _flag(f: dict[str, Any], key: str) -> bool | None:
    value = f.get(key)
    return value if isinstance(value, bool) else None


def _scalar(value: Any) -> str | bool | int | float | None:
    return value if isinstance(value, str | bool | int | float) else None


def field_from_describe(raw: Any, source: str, path: str) -> FieldDef:
    f = want_dict(raw, source, path)
    name = f.get("name")
    expect(isinstance(name, str) and bool(name), "field without a 'name'", source, path)
    ftype = f.get("type")
    expect(ftype in FIELD_TYPES, f"unknown field type {ftype!r}", source, f"{path}.type")
    picks = []
    for j, p in enumerate(f.get("picklistValues") or ()):
        p = want_dict(p, source, f"{path}.picklistValues[{j}]")
        picks.append(
            PicklistValue(
                value=_str(p.get("value")),
                label=_str(p.get("label")),
                active=bool(p.get("active", True)),
                default=bool(p.get("defaultValue", False)),
            )
        )
    return FieldDef(
        name=str(name),
        type=str(ftype),
        label=_str(f.get("label")),
        description=_str(f.get("inlineHelpText")),
        createable=bool(f.get("createable", False)),
        updateable=bool(f.get("updateable", False)),
        nillable=bool(f.get("nillable", True)),
        length=int(f.get("length") or 0),
        precision=int(f.get("precision") or f.get("digits") or 0),
        scale=int(f.get("scale") or 0),
        external_id=bool(f.get("externalId", False)),
        id_lookup=bool(f.get("idLookup", False)),
        unique=bool(f.get("unique", False)),
        custom=bool(f.get("custom", False)),
        name_field=bool(f.get("nameField", False)),
        defaulted_on_create=bool(f.get("defaultedOnCreate", False)),
        calculated=bool(f.get("calculated", False)),
        reference_to=tuple(str(t) for t in f.get("referenceTo") or ()),
        relationship_name=f.get("relationshipName") or None,
        picklist_values=tuple(picks),
        restricted_picklist=bool(f.get("restrictedPicklist", False)),
        compound_field_name=f.get("compoundFieldName") or None,
        filterable=_flag(f, "filterable"),
        sortable=_flag(f, "sortable"),
        groupable=_flag(f, "groupable"),
        aggregatable=_flag(f, "aggregatable"),
        permissionable=_flag(f, "permissionable"),
        byte_length=f["byteLength"] if isinstance(f.get("byteLength"), int) else None,
        default_value=_scalar(f.get("defaultValue")),
        auto_number=bool(f.get("autoNumber", False)),
        extra_type_info=f.get("extraTypeInfo") or None,
        html_formatted=bool(f.get("htmlFormatted", False)),
        case_sensitive=bool(f.get("caseSensitive", False)),
        search_prefilterable=bool(f.get("searchPrefilterable", False)),
        query_by_distance=bool(f.get("queryByDistance", False)),
    )


def sobject_from_describe(raw: Any, source: str, *, cdc: bool = True) -> SObjectDef:
    d = want_dict(raw, source, "$")
    name = d.get("name")
    expect(isinstance(name, str) and bool(name), "describe without a 'name'", source, "$.name")
    expect("fields" in d, "describe has no 'fields'", source, "$.fields")
    fields = tuple(
        field_from_describe(f, source, f"$.fields[{i}]")
        for i, f in enumerate(want_list(d["fields"], source, "$.fields"))
    )
    children = []
    for i, c in enumerate(d.get("childRelationships") or ()):
        c = want_dict(c, source, f"$.childRelationships[{i}]")
        if not c.get("relationshipName"):
            continue  # not navigable in SOQL or JSON, so there is nothing to type
        children.append(
            ChildRelationship(
                name=str(c["relationshipName"]),
                child_sobject=_str(c.get("childSObject")),
                field=_str(c.get("field")),
                cascade_delete=bool(c.get("cascadeDelete", False)),
                restricted_delete=bool(c.get("restrictedDelete", False)),
            )
        )
    return SObjectDef(
        name=str(name),
        label=_str(d.get("label")),
        label_plural=_str(d.get("labelPlural")),
        key_prefix=d.get("keyPrefix") or None,
        custom=bool(d.get("custom", False)),
        createable=bool(d.get("createable", True)),
        updateable=bool(d.get("updateable", True)),
        deletable=bool(d.get("deletable", True)),
        queryable=bool(d.get("queryable", True)),
        searchable=bool(d.get("searchable", True)),
        triggerable=bool(d.get("triggerable", True)),
        mergeable=bool(d.get("mergeable", False)),
        feed_enabled=bool(d.get("feedEnabled", False)),
        mru_enabled=bool(d.get("mruEnabled", True)),
        layoutable=bool(d.get("layoutable", True)),
        undeletable=bool(d.get("undeletable", True)),
        compact_layoutable=bool(d.get("compactLayoutable", True)),
        search_layoutable=bool(d.get("searchLayoutable", True)),
        deep_cloneable=bool(d.get("deepCloneable", False)),
        record_types=bool(d.get("recordTypeInfos")),
        cdc=cdc,
        fields=fields,
        child_relationships=tuple(children),
    )


def schema_from_describes(
    describes: Iterable[tuple[str, Any]], *, source: str, sha256: str, without_cdc: set[str]
) -> SchemaDef:
    """`describes` yields (source name, describe JSON); `without_cdc` get no ChangeEvent."""
    objects: dict[str, SObjectDef] = {}
    sources: dict[str, str] = {}
    for src, raw in describes:
        obj = sobject_from_describe(raw, src, cdc=True)
        if obj.name in without_cdc:
            obj = sobject_from_describe(raw, src, cdc=False)
        if obj.name in sources:
            # Two describes of one object (often two orgs in one folder): no silent winner.
            raise CodegenError(
                f"two describes of {obj.name}: {sources[obj.name]} and {src}; "
                "keep one of them in the folder",
                source=source,
            )
        sources[obj.name] = src
        objects[obj.name] = obj
    return SchemaDef(
        sobjects=tuple(objects[n] for n in sorted(objects)), source=source, source_sha256=sha256
    )


def _without_cdc(global_doc: Any, source: str) -> set[str]:
    """Objects describeGlobal lists without their `<Name>ChangeEvent`: CDC is off for them.

    An object the (possibly trimmed) list does not name at all keeps its ChangeEvent type.
    """
    doc = want_dict(global_doc, source, "$")
    names = set()
    events = set()
    for i, s in enumerate(want_list(doc.get("sobjects", []), source, "$.sobjects")):
        n = _str(want_dict(s, source, f"$.sobjects[{i}]").get("name"))
        if n.endswith("ChangeEvent"):
            base = n.removesuffix("ChangeEvent")
            events.add(base + "c" if base.endswith("__") else base)
        else:
            names.add(n)
    return names - events


def load_describe_dir(folder: Path) -> SchemaDef:
    """Every `*.json` with `fields` is an sObject describe; `describeGlobal.json` is optional.

    Two describes of one sObject (say, from two orgs) are refused, naming both files.
    """
    if not folder.is_dir():
        raise CodegenError("not a folder of describe JSON files", source=str(folder))
    digest = hashlib.sha256()
    describes: list[tuple[str, Any]] = []
    without_cdc: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        doc, sha = read_json(path)
        digest.update(path.name.encode() + b"\0" + sha.encode())
        if isinstance(doc, dict) and "sobjects" in doc and "fields" not in doc:
            without_cdc = _without_cdc(doc, path.name)
        elif isinstance(doc, dict) and "name" in doc and ("fields" in doc or "keyPrefix" in doc):
            describes.append((path.name, doc))
        elif path.name.endswith("_describe.json"):
            want_dict(doc, path.name, "$")
            expect(False, "describe has no 'fields'", path.name, "$.fields")
    if not describes:
        raise CodegenError("no sObject describe JSON files found", source=str(folder))
    return schema_from_describes(
        describes, source=folder.name, sha256=digest.hexdigest(), without_cdc=without_cdc
    )
