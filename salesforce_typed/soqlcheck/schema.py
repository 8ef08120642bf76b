"""A generated package seen as a SOQL schema: case-insensitive objects, fields, relationships.

SOQL names ignore case, so every lookup lowers the name; what comes back carries the API
name's canonical case. Models load lazily, only for the objects the queries name.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import attrs

from salesforce_typed.core.fields import ChildInfo, FieldInfo, ParentInfo
from salesforce_typed.core.models import SObject

# A polymorphic relationship (Task.What) reads through Salesforce's `Name` entity: outside
# TYPEOF only its fields exist, and its three relationships (the `Name` sObject of the real
# v61.0 tooling WSDL, Id from sObject).
NAME_FIELDS = frozenset(
    f.lower()
    for f in (
        "Id",
        "AddressableName",
        "Alias",
        "CommunityNickname",
        "CompanyName",
        "DeveloperName",
        "Email",
        "FirstName",
        "InformalName",
        "IsActive",
        "IsArchived",
        "IsDeleted",
        "LastName",
        "LastReferencedDate",
        "LastViewedDate",
        "MiddleName",
        "Name",
        "NameOrAlias",
        "NamespacePrefix",
        "OwnerType",
        "Phone",
        "ProfileId",
        "RecordTypeId",
        "Subtype",
        "Suffix",
        "TableEnumOrId",
        "Title",
        "Type",
        "UserRoleId",
        "Username",
    )
)
NAME_RELATIONSHIPS = {"profile": "Profile", "recordtype": "RecordType", "userrole": "UserRole"}


@attrs.frozen
class ObjectSchema:
    """One sObject's fields and relationships, indexed by lower-cased name."""

    name: str
    fields: dict[str, FieldInfo]
    parents: dict[str, ParentInfo]
    children: dict[str, ChildInfo]

    @classmethod
    def of(cls, model: type[SObject]) -> ObjectSchema:
        return cls(
            model.__sobject_type__,
            {f.name.lower(): f for f in model.__sf_fields__},
            {p.name.lower(): p for p in model.__sf_parents__},
            {c.name.lower(): c for c in model.__sf_children__},
        )


class PackageSchema:
    """The objects of one generated package (`salesforce_typed_std` or a per-org one)."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.module = import_package(package)
        names: tuple[str, ...] = getattr(self.module, "SOBJECTS", ())
        self._names = {n.lower(): n for n in names}
        self._cache: dict[str, ObjectSchema] = {}

    @property
    def object_names(self) -> list[str]:
        return sorted(self._names.values())

    def object(self, name: str) -> ObjectSchema | None:
        key = name.lower()
        cached = self._cache.get(key)
        if cached is None and key in self._names:
            model = getattr(self.module, self._names[key])
            if isinstance(model, type) and issubclass(model, SObject):
                cached = self._cache[key] = ObjectSchema.of(model)
        return cached

    def model_object(self, class_name: str) -> str | None:
        """The API name of the package's model class `class_name`, or None if it has none."""
        try:
            model = getattr(self.module, class_name)
        except AttributeError:
            return None
        if isinstance(model, type) and issubclass(model, SObject):
            return model.__sobject_type__
        return None


def import_package(package: str) -> object:
    """Import by module name, or from a folder path (`generated/acme_models`)."""
    folder = Path(package)
    if folder.is_dir() and (folder / "__init__.py").is_file():
        parent = str(folder.resolve().parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        package = folder.resolve().name
    return importlib.import_module(package)
