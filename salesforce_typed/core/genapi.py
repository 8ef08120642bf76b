"""Everything generated code imports, from one module, so generated files stay short and
an sObject named `Address` or `Location` cannot shadow a runtime name (they use `_sf.X`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import define as define  # by its real name: mypy's attrs plugin keys on it

from salesforce_typed.core.fields import ChildInfo, FieldInfo, ObjectInfo, ParentInfo, PicklistEnum
from salesforce_typed.core.models import ChangeEvent, SObject
from salesforce_typed.core.unset import UNSET, UnsetType
from salesforce_typed.query.access import ModelMeta

if TYPE_CHECKING:  # only in annotations, which generated modules never evaluate
    from salesforce_typed.core.change_events import ChangeEventHeader
    from salesforce_typed.core.compound import Address, Location, PersonName
    from salesforce_typed.core.models import Record, RelatedList
    from salesforce_typed.query.access import Required
    from salesforce_typed.query.columns import (
        AnyParent,
        Bool,
        Children,
        DateCol,
        DateTimeCol,
        MultiPicklist,
        Number,
        Opaque,
        Parent,
        Picklist,
        Text,
    )

__all__ = [
    "UNSET",
    "Address",
    "AnyParent",
    "Bool",
    "ChangeEvent",
    "ChangeEventHeader",
    "ChildInfo",
    "Children",
    "DateCol",
    "DateTimeCol",
    "FieldInfo",
    "Location",
    "ModelMeta",
    "MultiPicklist",
    "Number",
    "ObjectInfo",
    "Opaque",
    "Parent",
    "ParentInfo",
    "PersonName",
    "Picklist",
    "PicklistEnum",
    "Record",
    "RelatedList",
    "Required",
    "SObject",
    "Text",
    "UnsetType",
    "define",
]
