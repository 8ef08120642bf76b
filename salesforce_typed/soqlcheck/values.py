"""Does a filter's literal fit its field? The type rules Salesforce applies to WHERE values.

`AnnualRevenue = '5'` and `IsDeleted = 'true'` are refused (INVALID_FIELD, "must be of type
double and should not be enclosed in quotes"), as is a date on a dateTime field and an Id
literal that is no id (INVALID_QUERY_FILTER_OPERATOR, "invalid ID field"). Unknown picklist
values are not refused by Salesforce (they match nothing), so not here either.
"""

from __future__ import annotations

from typing import Final

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.testing.soql import ast
from salesforce_typed.testing.soql.ids import normalize_id

from .finder import DYNAMIC

_INTEGER: Final = frozenset({"int", "long"})
_DOUBLE: Final = frozenset({"double", "currency", "percent"})
_TEXT: Final = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
_IDS: Final = frozenset({"id", "reference"})

# Field type -> (literal kinds it takes, how Salesforce names the wanted type)
_RULES: Final[dict[str, tuple[tuple[type, ...], str]]] = {
    "boolean": ((ast.BoolLit,), "boolean and should not be enclosed in quotes"),
    "date": ((ast.DateLit, ast.DateConst), "date and should not be enclosed in quotes"),
    "datetime": ((ast.DateTimeLit, ast.DateConst), "dateTime and should not be enclosed in quotes"),
    **{t: ((ast.NumberLit,), "integer and should not be enclosed in quotes") for t in _INTEGER},
    **{t: ((ast.NumberLit,), "double and should not be enclosed in quotes") for t in _DOUBLE},
    **{t: ((ast.StringLit,), "string and should be enclosed in quotes") for t in _TEXT | _IDS},
}


def value_problem(info: FieldInfo, label: str, lit: ast.Literal_) -> str | None:
    """Why `lit` cannot be compared with the field, or None when it can (or is null)."""
    if isinstance(lit, ast.NullLit):
        return None
    rule = _RULES.get(info.type)
    if rule is None:
        return None
    kinds, wanted = rule
    if not isinstance(lit, kinds):
        return f"value of filter criterion for field '{label}' must be of type {wanted}"
    if (
        info.type in _IDS
        and isinstance(lit, ast.StringLit)
        and DYNAMIC not in lit.value  # filled in at run time (an f-string): not knowable here
        and normalize_id(lit.value) is None
    ):
        return f"invalid ID field: {lit.value}"
    return None
