"""salesforce-typed: a code-generated, typed Python SDK for Salesforce.

The root exports only light names; importing it must not pull in HTTP machinery, so that
importing one generated model stays fast.
"""

from salesforce_typed.core.change_events import ChangeEvent, ChangeEventHeader, ChangeType
from salesforce_typed.core.compound import Address, Location, PersonName
from salesforce_typed.core.fields import FieldInfo, ObjectInfo, PicklistEnum
from salesforce_typed.core.models import Record, RelatedList, SObject, UnknownFieldError
from salesforce_typed.core.unset import UNSET, UnsetType

__version__ = "0.1.0"

__all__ = [
    "UNSET",
    "Address",
    "ChangeEvent",
    "ChangeEventHeader",
    "ChangeType",
    "FieldInfo",
    "Location",
    "ObjectInfo",
    "PersonName",
    "PicklistEnum",
    "Record",
    "RelatedList",
    "SObject",
    "UnknownFieldError",
    "UnsetType",
    "__version__",
]
