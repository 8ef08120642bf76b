"""The sObject schema the engine resolves names against: objects, fields and relationships.

SOQL names are case-insensitive while results use each API name's canonical case, so every
lookup here goes through a lower-cased index and returns the definition (with its canonical
name). Definitions are frozen: a schema is built once per org and shared by all queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, get_args

import attrs

FieldType = Literal[
    "id",
    "reference",
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "combobox",
    "boolean",
    "int",
    "double",
    "currency",
    "percent",
    "date",
    "datetime",
    "time",
    "base64",
    "address",
    "location",
]
FIELD_TYPES: frozenset[str] = frozenset(get_args(FieldType))

# Describe types the engine treats as one of its own (anything else unknown is `string`).
_DESCRIBE_ALIASES: dict[str, str] = {"long": "int", "encryptedstring": "string"}

# Types stored as case-insensitive text: `=`, ORDER BY and GROUP BY ignore case on them.
TEXT_TYPES: frozenset[str] = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"}
)
NUMBER_TYPES: frozenset[str] = frozenset({"int", "double", "currency", "percent"})
ID_TYPES: frozenset[str] = frozenset({"id", "reference"})
COMPOUND_TYPES: frozenset[str] = frozenset({"address", "location"})


@attrs.define(frozen=True, kw_only=True)
class FieldDef:
    """One describe field. `compound_field_name` links a component (BillingCity) to its
    compound (BillingAddress); compound fields themselves have no storage column."""

    name: str
    type: FieldType
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    filterable: bool = True
    sortable: bool = True
    groupable: bool = True
    aggregatable: bool = True
    name_field: bool = False
    compound_field_name: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r} for {self.name}")

    @property
    def is_compound(self) -> bool:
        return self.type in COMPOUND_TYPES

    @property
    def is_custom(self) -> bool:
        return self.name.endswith(("__c", "__s"))


@attrs.define(frozen=True, kw_only=True)
class ChildRel:
    """A parent-to-child relationship: `Contacts` on Account is Contact via AccountId."""

    relationship_name: str
    child_object: str
    field: str


def _lower_index(names: Iterable[str]) -> dict[str, str]:
    return {name.lower(): name for name in names}


@attrs.define(frozen=True, kw_only=True)
class ObjectDef:
    """One sObject: fields in describe order (FIELDS(ALL) and SOSL keep that order)."""

    name: str
    fields: Mapping[str, FieldDef]
    child_relationships: Mapping[str, ChildRel] = attrs.field(factory=dict)
    _field_index: dict[str, str] = attrs.field(init=False, repr=False, eq=False)
    _parent_index: dict[str, str] = attrs.field(init=False, repr=False, eq=False)
    _child_index: dict[str, str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        parents = {
            f.relationship_name.lower(): f.name
            for f in self.fields.values()
            if f.relationship_name and f.reference_to
        }
        object.__setattr__(self, "_field_index", _lower_index(self.fields))
        object.__setattr__(self, "_parent_index", parents)
        object.__setattr__(self, "_child_index", _lower_index(self.child_relationships))

    @classmethod
    def of(
        cls, name: str, fields: Iterable[FieldDef], children: Iterable[ChildRel] = ()
    ) -> ObjectDef:
        """Build from sequences; `Id` and `IsDeleted` are added when missing (always stored)."""
        by_name = {f.name: f for f in fields}
        if "id" not in {n.lower() for n in by_name}:
            by_name = {"Id": FieldDef(name="Id", type="id"), **by_name}
        if "isdeleted" not in {n.lower() for n in by_name}:
            by_name["IsDeleted"] = FieldDef(name="IsDeleted", type="boolean")
        return cls(
            name=name,
            fields=by_name,
            child_relationships={c.relationship_name: c for c in children},
        )

    @classmethod
    def from_describe(cls, describe: Mapping[str, Any]) -> ObjectDef:
        """Build from a REST sObject describe; other field types are read as `string`."""
        fields = []
        for raw in describe.get("fields", []):
            ftype = _DESCRIBE_ALIASES.get(raw.get("type", "string"), raw.get("type", "string"))
            fields.append(
                FieldDef(
                    name=raw["name"],
                    type=ftype if ftype in FIELD_TYPES else "string",
                    reference_to=tuple(raw.get("referenceTo") or ()),
                    relationship_name=raw.get("relationshipName"),
                    filterable=bool(raw.get("filterable", True)),
                    sortable=bool(raw.get("sortable", True)),
                    groupable=bool(raw.get("groupable", True)),
                    aggregatable=bool(raw.get("aggregatable", True)),
                    name_field=bool(raw.get("nameField", False)),
                    compound_field_name=raw.get("compoundFieldName"),
                )
            )
        children = [
            ChildRel(
                relationship_name=raw["relationshipName"],
                child_object=raw["childSObject"],
                field=raw["field"],
            )
            for raw in describe.get("childRelationships", [])
            if raw.get("relationshipName")
        ]
        return cls.of(describe["name"], fields, children)

    def field(self, name: str) -> FieldDef | None:
        """The field called `name` in any case, or None."""
        canonical = self._field_index.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def parent_relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is `name` (`Owner` -> OwnerId)."""
        canonical = self._parent_index.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def child_relationship(self, name: str) -> ChildRel | None:
        """The child relationship called `name` in any case, or None."""
        canonical = self._child_index.get(name.lower())
        return None if canonical is None else self.child_relationships[canonical]

    def stored_fields(self) -> list[FieldDef]:
        """Fields with a storage column: everything but compound fields."""
        return [f for f in self.fields.values() if not f.is_compound]

    def components_of(self, compound: FieldDef) -> list[FieldDef]:
        """The stored components of a compound field, in describe order."""
        return [f for f in self.fields.values() if f.compound_field_name == compound.name]


class Schema:
    """All sObjects of an org, looked up case-insensitively."""

    def __init__(self, objects: Iterable[ObjectDef]) -> None:
        self.objects: dict[str, ObjectDef] = {o.name: o for o in objects}
        self._index = _lower_index(self.objects)

    def object(self, name: str) -> ObjectDef | None:
        """The sObject called `name` in any case, or None."""
        canonical = self._index.get(name.lower())
        return None if canonical is None else self.objects[canonical]

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(self.objects.values())
