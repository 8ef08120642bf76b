"""Records as REST JSON: the record URL, `fields=` lists, and a stored row rendered with
`attributes`, explicit nulls, nested compound fields and base64 blob URLs.

Shared by the `/sobjects` routes and sObject Collections, so both answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.validation import FieldIndex


def record_url(version: str, sobject: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"


def select_fields(index: FieldIndex, spec: str | Sequence[str] | None) -> list[str] | None:
    """`fields=A,b` canonicalized; unknown names fail as the query behind them does."""
    if spec is None:
        return None
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    out = []
    for name in names:
        f = index.field(name)
        if f is None:
            raise SfError(
                400,
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{index.sobject}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            )
        out.append(str(f["name"]))
    return out


def render(
    index: FieldIndex, row: Mapping[str, Any], version: str, fields: list[str] | None = None
) -> dict[str, Any]:
    """A stored row as REST JSON: `attributes`, every (or each listed) field, explicit nulls,
    compound fields nested from their components, base64 as a blob URL."""
    url = record_url(version, index.sobject, str(row["Id"]))
    out: dict[str, Any] = {"attributes": {"type": index.sobject, "url": url}}
    for name in fields or index.fields:
        ftype = index.fields[name].get("type")
        if ftype in ("address", "location"):
            parts = {
                key[:1].lower() + key[1:]: row.get(component)
                for component, (compound, key) in index.compounds.items()
                if compound == name
            }
            has_value = any(v is not None for v in parts.values())
            out[name] = dict(sorted(parts.items())) if has_value else None
        elif ftype == "base64":
            out[name] = f"{url}/{name}" if row.get(name) is not None else None
        else:
            out[name] = row.get(name)
    if fields and "Id" not in fields:
        out["Id"] = row["Id"]
    return out
