"""The project's standard-object catalog (`specs/standard/*.toml`) -> the IR.

One TOML file per sObject, written from Salesforce's documented field lists. To keep the
catalog short and right, the loader adds what every object shares (system audit fields,
address components) instead of repeating them in each file. The format:

    name = "Account"             label = "Account"      label_plural = "Accounts"
    key_prefix = "001"           # object flags createable/updateable/deletable/queryable/
    system_fields = true         # searchable/triggerable default to true; cdc = true makes
    cdc = true                   # the <Name>ChangeEvent type too; record_types = true
                                 # when the object takes record types (describe lists Master)
    fields = [ { name = "Name", type = "string", length = 255, required = true }, ... ]
    children = [ { name = "Contacts", object = "Contact", field = "AccountId" }, ... ]

Field keys: name, type, label, description, length, precision, scale, digits, required
(not nillable), readonly (neither createable nor updateable), create_only (not updateable),
defaulted, external_id, unique, id_lookup, name_field, calculated, to (referenceTo list),
relationship, values (picklist values), default (default picklist value), restricted,
cascade_delete (children). `type = "address"` with `prefix = "Billing"` expands into the
Street/City/State/PostalCode/Country/Latitude/Longitude/GeocodeAccuracy components plus the
read-only compound field.
"""

from __future__ import annotations

import hashlib
import sys
import tomllib
from pathlib import Path
from typing import Any

from attrs import evolve

from .errors import CodegenError
from .ir import (
    FIELD_TYPES,
    ChildRelationship,
    FieldDef,
    PicklistValue,
    SchemaDef,
    SObjectDef,
)

_FIELD_KEYS = frozenset(
    {
        "name",
        "type",
        "label",
        "description",
        "length",
        "precision",
        "scale",
        "digits",
        "required",
        "readonly",
        "create_only",
        "defaulted",
        "external_id",
        "unique",
        "id_lookup",
        "name_field",
        "calculated",
        "to",
        "relationship",
        "values",
        "default",
        "restricted",
        "prefix",
    }
)
_OBJECT_KEYS = frozenset(
    {
        "name",
        "label",
        "label_plural",
        "key_prefix",
        "custom",
        "createable",
        "updateable",
        "deletable",
        "queryable",
        "searchable",
        "triggerable",
        "system_fields",
        "cdc",
        "record_types",
        "fields",
        "children",
    }
)
_CHILD_KEYS = frozenset({"name", "object", "field", "cascade_delete"})

_GEOCODE_ACCURACY = (
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
)


def _system_fields(label: str) -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    return [
        FieldDef(
            name="Id",
            type="id",
            label=f"{label} ID",
            nillable=False,
            id_lookup=True,
            length=18,
            defaulted_on_create=True,
            **ro,
        ),
        FieldDef(
            name="IsDeleted",
            type="boolean",
            label="Deleted",
            nillable=False,
            defaulted_on_create=True,
            **ro,
        ),
        FieldDef(
            name="CreatedDate",
            type="datetime",
            label="Created Date",
            nillable=False,
            defaulted_on_create=True,
            **ro,
        ),
        FieldDef(
            name="CreatedById",
            type="reference",
            label="Created By ID",
            nillable=False,
            defaulted_on_create=True,
            reference_to=("User",),
            relationship_name="CreatedBy",
            length=18,
            **ro,
        ),
        FieldDef(
            name="LastModifiedDate",
            type="datetime",
            label="Last Modified Date",
            nillable=False,
            defaulted_on_create=True,
            **ro,
        ),
        FieldDef(
            name="LastModifiedById",
            type="reference",
            label="Last Modified By ID",
            nillable=False,
            defaulted_on_create=True,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
            length=18,
            **ro,
        ),
        FieldDef(
            name="SystemModstamp",
            type="datetime",
            label="System Modstamp",
            nillable=False,
            defaulted_on_create=True,
            **ro,
        ),
    ]


def _address_fields(prefix: str, label: str, readonly: bool) -> list[FieldDef]:
    compound = f"{prefix}Address"
    rw: dict[str, Any] = {"createable": not readonly, "updateable": not readonly}
    parts = [
        FieldDef(
            name=f"{prefix}Street", type="textarea", label=f"{label} Street", length=255, **rw
        ),
        FieldDef(name=f"{prefix}City", type="string", label=f"{label} City", length=40, **rw),
        FieldDef(
            name=f"{prefix}State", type="string", label=f"{label} State/Province", length=80, **rw
        ),
        FieldDef(
            name=f"{prefix}PostalCode",
            type="string",
            label=f"{label} Zip/Postal Code",
            length=20,
            **rw,
        ),
        FieldDef(name=f"{prefix}Country", type="string", label=f"{label} Country", length=80, **rw),
        FieldDef(
            name=f"{prefix}Latitude",
            type="double",
            label=f"{label} Latitude",
            precision=18,
            scale=15,
            **rw,
        ),
        FieldDef(
            name=f"{prefix}Longitude",
            type="double",
            label=f"{label} Longitude",
            precision=18,
            scale=15,
            **rw,
        ),
        FieldDef(
            name=f"{prefix}GeocodeAccuracy",
            type="picklist",
            label=f"{label} Geocode Accuracy",
            length=40,
            restricted_picklist=True,
            picklist_values=tuple(PicklistValue(value=v, label=v) for v in _GEOCODE_ACCURACY),
            **rw,
        ),
    ]
    parts = [_compound(evolve(f, label=f.label.strip()), compound) for f in parts]
    parts.append(
        FieldDef(
            name=compound,
            type="address",
            label=f"{label} Address".strip(),
            createable=False,
            updateable=False,
        )
    )
    return parts


def _compound(f: FieldDef, compound: str) -> FieldDef:
    return evolve(f, compound_field_name=compound)


def _expect(cond: bool, msg: str, source: str, path: str) -> None:
    if not cond:
        raise CodegenError(msg, source=source, path=path)


def _field(raw: dict[str, Any], source: str, path: str) -> list[FieldDef]:
    unknown = set(raw) - _FIELD_KEYS
    _expect(not unknown, f"unknown field keys {sorted(unknown)}", source, path)
    _expect(isinstance(raw.get("name"), str), "field needs a 'name'", source, path)
    ftype = raw.get("type")
    _expect(ftype in FIELD_TYPES, f"unknown field type {ftype!r}", source, f"{path}.type")
    name: str = raw["name"]
    label = str(raw.get("label", name))
    readonly = bool(raw.get("readonly", False)) or bool(raw.get("calculated", False))
    if ftype == "address":
        prefix = str(raw.get("prefix", name.removesuffix("Address")))
        return _address_fields(prefix, label.removesuffix(" Address"), readonly)
    values = raw.get("values", [])
    _expect(isinstance(values, list), "'values' must be a list", source, f"{path}.values")
    default = raw.get("default")
    to = raw.get("to", [])
    _expect(ftype != "reference" or bool(to), "reference needs 'to'", source, f"{path}.to")
    required = bool(raw.get("required", False))
    return [
        FieldDef(
            name=name,
            type=str(ftype),
            label=label,
            description=str(raw.get("description", "")),
            createable=not readonly,
            updateable=not readonly and not raw.get("create_only", False),
            nillable=not required and ftype != "boolean",
            length=int(raw.get("length", 18 if ftype in ("id", "reference") else 0)),
            precision=int(raw.get("precision", raw.get("digits", 0))),
            scale=int(raw.get("scale", 0)),
            external_id=bool(raw.get("external_id", False)),
            id_lookup=bool(raw.get("id_lookup", raw.get("external_id", False))),
            unique=bool(raw.get("unique", False)),
            name_field=bool(raw.get("name_field", False)),
            defaulted_on_create=bool(raw.get("defaulted", ftype == "boolean")),
            calculated=bool(raw.get("calculated", False)),
            reference_to=tuple(str(t) for t in to),
            relationship_name=raw.get("relationship"),
            picklist_values=tuple(
                PicklistValue(value=str(v), label=str(v), default=(v == default)) for v in values
            ),
            restricted_picklist=bool(raw.get("restricted", False)),
        )
    ]


def load_catalog_file(path: Path) -> SObjectDef:
    source = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CodegenError(f"invalid TOML: {exc}", source=source) from exc
    unknown = set(raw) - _OBJECT_KEYS
    _expect(not unknown, f"unknown object keys {sorted(unknown)}", source, "$")
    _expect(isinstance(raw.get("name"), str), "missing 'name'", source, "$.name")
    name: str = raw["name"]
    label = str(raw.get("label", name))
    fields: list[FieldDef] = _system_fields(label) if raw.get("system_fields", True) else []
    for i, f in enumerate(raw.get("fields", [])):
        fields.extend(_field(f, source, f"$.fields[{i}]"))
    seen: set[str] = set()
    for i, f in enumerate(fields):
        _expect(f.name not in seen, f"duplicate field {f.name!r}", source, f"$.fields[{i}]")
        seen.add(f.name)
    children = []
    for i, c in enumerate(raw.get("children", [])):
        cpath = f"$.children[{i}]"
        _expect(
            not set(c) - _CHILD_KEYS,
            f"unknown child keys {sorted(set(c) - _CHILD_KEYS)}",
            source,
            cpath,
        )
        _expect(
            all(k in c for k in ("name", "object", "field")),
            "child needs name, object, field",
            source,
            cpath,
        )
        children.append(
            ChildRelationship(
                name=c["name"],
                child_sobject=c["object"],
                field=c["field"],
                cascade_delete=bool(c.get("cascade_delete", False)),
            )
        )
    return SObjectDef(
        name=name,
        label=label,
        label_plural=str(raw.get("label_plural", label + "s")),
        key_prefix=raw.get("key_prefix"),
        custom=bool(raw.get("custom", name.endswith("__c"))),
        createable=bool(raw.get("createable", True)),
        updateable=bool(raw.get("updateable", True)),
        deletable=bool(raw.get("deletable", True)),
        queryable=bool(raw.get("queryable", True)),
        searchable=bool(raw.get("searchable", True)),
        triggerable=bool(raw.get("triggerable", True)),
        cdc=bool(raw.get("cdc", True)),
        record_types=bool(raw.get("record_types", False)),
        fields=tuple(fields),
        child_relationships=tuple(children),
    )


def load_catalog(folder: Path) -> SchemaDef:
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise CodegenError("no *.toml sObject files", source=str(folder.name))
    digest = hashlib.sha256()
    objects = []
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
        objects.append(load_catalog_file(path))
    objects.sort(key=lambda s: s.name)
    return SchemaDef(
        sobjects=tuple(objects), source=f"specs/{folder.name}", source_sha256=digest.hexdigest()
    )


def main(argv: list[str]) -> int:
    """`python -m codegen.load_catalog specs/standard`: validate and summarize the catalog."""
    schema = load_catalog(Path(argv[0]))
    names = {s.name for s in schema.sobjects}
    problems = 0
    for s in schema.sobjects:
        for f in s.fields:
            for target in f.reference_to:
                if target not in names and target not in ("Group", "Queue"):
                    print(f"note: {s.name}.{f.name} references {target} (not in catalog)")
        for c in s.child_relationships:
            child = schema.get(c.child_sobject)
            if child is not None and child.field(c.field) is None:
                print(f"ERROR: {s.name}.{c.name}: {c.child_sobject} has no field {c.field}")
                problems += 1
        picks = sum(1 for f in s.fields if f.picklist_values)
        print(
            f"{s.name}: {len(s.fields)} fields, {picks} picklists, "
            f"{len(s.child_relationships)} children"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
