"""Everything generated code imports, from one module, so generated files stay short and
an sObject named `Address` or `Location` cannot shadow a runtime name (they use `_sf.X`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import define as define  # by its real name: mypy's attrs plugin keys on it

from salesforce_typed.core.fields import ChildInfo, FieldInfo, ObjectInfo, ParentInfo, PicklistEnum
from salesforce_typed.core.models import ChangeEvent, SObject
from salesforce_typed.core.unset import UNSET, UnsetType

if TYPE_CHECKING:  # only in annotations, which generated modules never evaluate
    from salesforce_typed.core.change_events import ChangeEventHeader
    from salesforce_typed.core.compound import Address, Location, PersonName
    from salesforce_typed.core.models import Record, RelatedList

__all__ = [
    "UNSET",
    "Address",
    "ChangeEvent",
    "ChangeEventHeader",
    "ChildInfo",
    "FieldInfo",
    "Location",
    "ObjectInfo",
    "ParentInfo",
    "PersonName",
    "PicklistEnum",
    "Record",
    "RelatedList",
    "SObject",
    "UnsetType",
    "define",
]
