"""CDC header bitmaps (`changedFields`, `nulledFields`, `diffFields`) back into field names.

Pub/Sub API sends them as hex bitmaps over the Avro schema's field positions ("Event
Deserialization Considerations"): the first string, `0x...`, has bit i set for the schema's
top-level field i; each further `<i>-0x...` names the nested fields of compound field i,
bit j for its nested field j, decoded as `Compound.Nested` (`Name.LastName`) as CometD and
the CDC guide name them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["field_names", "nested_fields"]


def nested_fields(field_type: Any) -> list[Mapping[str, Any]] | None:
    """The fields of a compound field's record (a `["null", record]` union), else None."""
    branches = field_type if isinstance(field_type, list) else [field_type]
    for branch in branches:
        if isinstance(branch, Mapping) and branch.get("type") == "record":
            fields: list[Mapping[str, Any]] = list(branch.get("fields") or ())
            return fields
    return None


def _positions(hex_bits: str) -> list[int]:
    bits = int(hex_bits, 16)
    return [i for i in range(bits.bit_length()) if bits >> i & 1]


def field_names(schema: Mapping[str, Any], bitmaps: Sequence[str]) -> list[str]:
    """Field names, in schema order, for one bitmap field. Strings that are not bitmaps (a
    list of names already) are kept as they are; positions past the schema are dropped."""
    fields: list[Mapping[str, Any]] = list(schema.get("fields") or ())
    names: list[str] = []
    for item in bitmaps:
        parent, dash, hex_bits = item.partition("-")
        if not dash:
            hex_bits, parent = item, ""
        if not hex_bits.lower().startswith("0x"):
            names.append(item)
            continue
        if not parent:
            names += [str(fields[i]["name"]) for i in _positions(hex_bits) if i < len(fields)]
            continue
        index = int(parent)
        inner = nested_fields(fields[index]["type"]) if index < len(fields) else None
        if inner is None:
            continue
        prefix = str(fields[index]["name"])
        names += [f"{prefix}.{inner[j]['name']}" for j in _positions(hex_bits) if j < len(inner)]
    return names
