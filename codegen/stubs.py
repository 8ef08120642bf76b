"""What the typing stubs (`<module>.pyi`) say about each field: its column class, the value a
typed row holds, and what may be written to it.

Stubs carry the class-level view (`Account.Name` is a column) that attrs models cannot
declare in their own source: mypy's attrs plugin types each `__init__` argument as the
annotation itself (a descriptor's `__set__` type is not used) and reports a slot that is also
a class-level descriptor, so the stub declares the columns, the record's `__init__` and
`require` explicitly. Run-time modules stay as they are (see query/access.py).
"""

from __future__ import annotations

from .ir import FieldDef
from .pytypes import _SIMPLE

_KINDS = {
    "picklist": "Picklist",
    "multipicklist": "MultiPicklist",
    "boolean": "Bool",
    "date": "DateCol",
    "datetime": "DateTimeCol",
    **dict.fromkeys(("int", "long", "double", "currency", "percent"), "Number"),
    **dict.fromkeys(
        ("id", "reference", "string", "email", "phone", "url", "combobox", "encryptedstring"),
        "Text",
    ),
}


def column(f: FieldDef, enum_class: str | None) -> dict[str, str]:
    """`kind` (a query.columns class), `base` (read type without None), `write`, `null`."""
    kind = _KINDS.get(f.type, "Text" if f.type == "textarea" else "Opaque")
    if f.filterable is False or (f.filterable is None and f.type == "textarea" and f.length > 255):
        kind = "Opaque"  # as FieldInfo.filterable decides at run time (query/columns.py)
    base = _SIMPLE[f.type]
    write = base
    if enum_class is not None:
        base = f"{enum_class} | str"
        write = enum_class if f.restricted_picklist else base
    return {
        "kind": kind,
        "base": base,
        "write": write,
        # The path's nullability (`_N`) for a field that is never null: Never at the root,
        # None once reached through an optional lookup.
        "null": "None" if f.nillable else "_N",
    }
