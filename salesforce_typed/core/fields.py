"""Run-time metadata for generated models: what describe says about each field and object.

Generated modules build these tables once at import; payload building, validation and the
fake org read them instead of asking the org again.
"""

from __future__ import annotations

import builtins
import enum

import attrs


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

    @property
    def attr_name(self) -> str:
        return self.attr or self.name


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
