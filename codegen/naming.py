"""API names -> Python identifiers. API names stay as they are wherever Python allows it.

Only names Python cannot use get an alias (a keyword, a clash with a base-class member);
module names are snake_case and unique; picklist members are UPPER_SNAKE of their value.
"""

from __future__ import annotations

import keyword
import re

# Members of the SObject base a field may not shadow.
RESERVED_ATTRS = frozenset(
    {
        "attributes",
        "extra_fields",
        "from_dict",
        "to_dict",
        "to_create_payload",
        "to_update_payload",
        "field_info",
        "sobject_type",
        "set_fields",
    }
)

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


def attr_name(api_name: str) -> str:
    """The attribute for a field: the API name itself unless Python forbids it."""
    if not api_name.isidentifier() or keyword.iskeyword(api_name) or api_name in RESERVED_ATTRS:
        cleaned = re.sub(r"\W", "_", api_name)
        if cleaned[:1].isdigit():
            cleaned = "f_" + cleaned
        return cleaned + "_"
    return api_name


def module_name(api_name: str) -> str:
    """`OpportunityLineItem` -> `opportunity_line_item`, `Custom__c` -> `custom__c`."""
    head, sep, tail = api_name.partition("__")
    snake = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", head)).lower()
    name = snake + (sep + tail.lower() if sep else "")
    if keyword.iskeyword(name) or not name.isidentifier():
        name = "m_" + re.sub(r"\W", "_", name) if not name.isidentifier() else name + "_"
    return name


def unique_modules(api_names: list[str]) -> dict[str, str]:
    """Module per API name, made unique deterministically (`x`, `x_2`, ...) in name order."""
    used: dict[str, int] = {}
    result: dict[str, str] = {}
    for api in sorted(api_names):
        base = module_name(api)
        n = used.get(base, 0) + 1
        used[base] = n
        result[api] = base if n == 1 else f"{base}_{n}"
    return result


def member_name(value: str, taken: set[str]) -> str:
    """UPPER_SNAKE for a picklist value, unique within its enum."""
    base = _NON_WORD.sub("_", value).strip("_").upper() or "VALUE"
    if base[0].isdigit():
        base = "V" + base
    if keyword.iskeyword(base) or base.startswith("_"):
        base += "_"
    name = base
    n = 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


def picklist_class(sobject: str, field: str) -> str:
    return f"{sobject.replace('__', '_')}{field.replace('__', '_')}Picklist"
