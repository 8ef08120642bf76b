"""The one intermediate schema every input (OAS3 spec, describe JSON, catalog) normalizes into.

Field types are Salesforce describe types (`string`, `reference`, `picklist`, ...), the
richest vocabulary of the three inputs; weaker inputs map into it.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

# Every describe field type the generator knows; anything else is a CodegenError.
FIELD_TYPES = frozenset(  # what describe can say; the IR adds personName, changeEventHeader
    {
        "id",
        "reference",
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "encryptedstring",
        "combobox",
        "picklist",
        "multipicklist",
        "boolean",
        "int",
        "long",
        "double",
        "currency",
        "percent",
        "date",
        "datetime",
        "time",
        "base64",
        "address",
        "location",
        "anyType",
        "complexvalue",
        "json",
    }
)


@attrs.frozen(kw_only=True)
class PicklistValue:
    value: str
    label: str = ""
    active: bool = True
    default: bool = False


@attrs.frozen(kw_only=True)
class FieldDef:
    name: str
    type: str
    label: str = ""
    description: str = ""
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    length: int = 0
    precision: int = 0
    scale: int = 0
    external_id: bool = False
    id_lookup: bool = False
    unique: bool = False
    custom: bool = False
    name_field: bool = False
    defaulted_on_create: bool = False
    calculated: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    compound_field_name: str | None = None
    # Facts only a describe carries; None means "as the type says" (FieldInfo's rule).
    filterable: bool | None = None
    sortable: bool | None = None
    groupable: bool | None = None
    aggregatable: bool | None = None
    permissionable: bool | None = None
    byte_length: int | None = None
    default_value: str | bool | int | float | None = None
    auto_number: bool = False
    extra_type_info: str | None = None
    html_formatted: bool = False
    case_sensitive: bool = False
    search_prefilterable: bool = False
    query_by_distance: bool = False


@attrs.frozen(kw_only=True)
class ChildRelationship:
    name: str
    child_sobject: str
    field: str
    cascade_delete: bool = False
    restricted_delete: bool = False


@attrs.frozen(kw_only=True)
class SObjectDef:
    name: str
    label: str = ""
    label_plural: str = ""
    key_prefix: str | None = None
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    searchable: bool = True
    triggerable: bool = True
    cdc: bool = False  # generate the <Name>ChangeEvent type too
    mergeable: bool = False
    feed_enabled: bool = False
    mru_enabled: bool = True
    layoutable: bool = True
    undeletable: bool = True
    compact_layoutable: bool = True
    search_layoutable: bool = True
    deep_cloneable: bool = False
    record_types: bool = False
    fields: tuple[FieldDef, ...] = ()
    child_relationships: tuple[ChildRelationship, ...] = ()

    def field(self, name: str) -> FieldDef | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@attrs.frozen(kw_only=True)
class SchemaDef:
    """A whole org (or a selection of it): sObjects by API name, in stable order."""

    sobjects: tuple[SObjectDef, ...]
    source: str = ""
    source_sha256: str = ""
    api_version: str = ""

    def names(self) -> list[str]:
        return [s.name for s in self.sobjects]

    def get(self, name: str) -> SObjectDef | None:
        for s in self.sobjects:
            if s.name == name:
                return s
        return None

    def select(self, names: Iterable[str]) -> SchemaDef:
        wanted = set(names)
        return attrs.evolve(self, sobjects=tuple(s for s in self.sobjects if s.name in wanted))
