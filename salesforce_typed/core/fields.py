"""Run-time metadata for generated models: what describe says about each field and object.

Generated modules build these tables once at import; payload building, validation and the
fake org read them instead of asking the org again.
"""

from __future__ import annotations

import builtins
import enum
from typing import Any

import attrs

# Query flags by type, read off real describes (Account, Contact, Case, Event, Lead,
# Opportunity, OpportunityContactRole): what a field of that type answers when describe
# says nothing else. Long text areas (over 255) are flagged like `base64`.
_UNQUERYABLE = frozenset({"base64", "encryptedstring", "anyType", "json", "complexvalue"})
_UNSORTABLE = frozenset({"multipicklist", "address", "location"})
_UNGROUPABLE = frozenset(
    {"double", "currency", "percent", "datetime", "time", "combobox", *_UNSORTABLE}
)
_UNAGGREGATABLE = frozenset({"boolean", *_UNSORTABLE})
_TEXT = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "combobox", "encryptedstring"}
)


def _opaque(f: FieldInfo) -> bool:
    return f.type in _UNQUERYABLE or (f.type == "textarea" and f.length > 255)


def _filterable(f: FieldInfo) -> bool:
    return not _opaque(f)


def _sortable(f: FieldInfo) -> bool:
    return not _opaque(f) and f.type not in _UNSORTABLE


def _groupable(f: FieldInfo) -> bool:
    return not _opaque(f) and f.type not in _UNGROUPABLE


def _aggregatable(f: FieldInfo) -> bool:
    return not _opaque(f) and f.type not in _UNAGGREGATABLE


def _permissionable(f: FieldInfo) -> bool:
    """Field-level security applies to optional writable stored fields, and to an address
    as a whole."""
    if f.type == "address":
        return True
    return f.nillable and (f.createable or f.updateable) and not f.calculated


def _byte_length(f: FieldInfo) -> int:
    """Text is stored as up to 3 bytes a character; ids and multipicklists as one."""
    if f.type in ("id", "reference", "multipicklist"):
        return f.length
    return f.length * 3 if f.type in _TEXT else 0


def _default_value(f: FieldInfo) -> Any:
    """A defaulted checkbox starts false; a picklist starts at its default value."""
    if f.type == "boolean" and f.defaulted_on_create:
        return False
    return f.default_picklist_value


class PicklistEnum(str, enum.Enum):
    """Base of generated picklist enums: members are the known values and equal their str.

    Unknown values (a newer org, a value added by an admin) still decode, as plain `str`.
    """

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen(kw_only=True, slots=True)
class FieldInfo:
    """One field as describe reports it; `attr` differs from `name` only for invalid ids."""

    name: str
    type: str
    attr: str = ""
    label: str = ""
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
    picklist_values: tuple[str, ...] = ()
    default_picklist_value: str | None = None
    restricted_picklist: bool = False
    compound_field_name: str | None = None
    enum: builtins.type[PicklistEnum] | None = None
    # Labels parallel to picklist_values (empty: each label is its value); inactive values.
    picklist_labels: tuple[str, ...] = ()
    inactive_picklist_values: tuple[str, ...] = ()
    auto_number: bool = False
    extra_type_info: str | None = None
    html_formatted: bool = False
    case_sensitive: bool = False
    search_prefilterable: bool = False
    query_by_distance: bool = False
    # Unless given, these follow the type (see the tables above), as Salesforce's do.
    filterable: bool = attrs.field(default=attrs.Factory(_filterable, takes_self=True))
    sortable: bool = attrs.field(default=attrs.Factory(_sortable, takes_self=True))
    groupable: bool = attrs.field(default=attrs.Factory(_groupable, takes_self=True))
    aggregatable: bool = attrs.field(default=attrs.Factory(_aggregatable, takes_self=True))
    permissionable: bool = attrs.field(default=attrs.Factory(_permissionable, takes_self=True))
    default_value: Any = attrs.field(default=attrs.Factory(_default_value, takes_self=True))
    byte_length: int = attrs.field(default=attrs.Factory(_byte_length, takes_self=True))

    @property
    def attr_name(self) -> str:
        return self.attr or self.name

    def picklist_label(self, value: str) -> str:
        if self.picklist_labels:
            return self.picklist_labels[self.picklist_values.index(value)]
        return value


@attrs.frozen(kw_only=True, slots=True)
class ParentInfo:
    """A parent relationship (`Contact.Account`): the lookup field and its possible targets."""

    name: str
    field: str
    reference_to: tuple[str, ...]


@attrs.frozen(kw_only=True, slots=True)
class ChildInfo:
    """A child relationship (`Account.Contacts`): a related list of `child_sobject`."""

    name: str
    child_sobject: str
    field: str
    cascade_delete: bool = False
    restricted_delete: bool = False


@attrs.frozen(kw_only=True, slots=True)
class ObjectInfo:
    """Object-level describe facts."""

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
    mergeable: bool = False
    feed_enabled: bool = False
    mru_enabled: bool = True
    layoutable: bool = True
    undeletable: bool = True
    compact_layoutable: bool = True
    search_layoutable: bool = True
    deep_cloneable: bool = False
    record_types: bool = False  # has record types, so describe lists the Master one
