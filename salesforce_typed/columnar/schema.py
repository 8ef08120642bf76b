"""Arrow types from describe: what a Salesforce field's values are, as a column.

Numbers with a declared scale (currency, percent, and doubles describe gives a precision and
scale) become decimal128(precision, scale), so a currency never passes through float; a double
without them stays float64. Datetimes are timestamp(ms, UTC) (Salesforce keeps milliseconds),
picklists dictionary-encoded strings, multipicklists list<string>, addresses and locations
structs of their components. Ids, references and every text type are strings, and so is
base64: a query returns its blob's URL, never the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import pyarrow as pa

from salesforce_typed.bulk2.rows import field_at
from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.core.models import Record, SObject

__all__ = [
    "ADDRESS",
    "LOCATION",
    "FieldSource",
    "arrow_schema",
    "arrow_type",
    "column_field",
    "fields_from_describe",
]

# Where column types come from: a generated model, or the fields of a describe.
FieldSource: TypeAlias = type[SObject] | Sequence[FieldInfo]

# Latitude and longitude as describe gives the components (BillingLatitude: 18, 15).
_DEGREES: Final = pa.decimal128(18, 15)
LOCATION: Final = pa.struct([("latitude", _DEGREES), ("longitude", _DEGREES)])
ADDRESS: Final = pa.struct(
    [
        ("street", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("postalCode", pa.string()),
        ("country", pa.string()),
        ("stateCode", pa.string()),
        ("countryCode", pa.string()),
        ("latitude", _DEGREES),
        ("longitude", _DEGREES),
        ("geocodeAccuracy", pa.string()),
    ]
)
PICKLIST: Final = pa.dictionary(pa.int32(), pa.string())
_SIMPLE: Final[dict[str, pa.DataType]] = {
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "time": pa.time32("ms"),
    "picklist": PICKLIST,
    "multipicklist": pa.list_(pa.string()),
    "address": ADDRESS,
    "location": LOCATION,
}
_SCALED: Final = frozenset({"currency", "percent", "double"})


def arrow_type(info: FieldInfo, extra_scale: int = 0) -> pa.DataType:
    """The column type of one field; unknown types (and all text) are strings.

    `extra_scale` widens decimals (scale and precision, up to 38 digits): Salesforce keeps
    the decimals an API call sent beyond the scale describe gives, and returns them.
    """
    if info.type in _SCALED:
        if 0 < info.precision <= 38:
            scale = min(info.scale, info.precision) + extra_scale
            return pa.decimal128(min(info.precision + extra_scale, 38), min(scale, 38))
        return pa.float64()
    return _SIMPLE.get(info.type, pa.string())


def fields_from_describe(describe: Mapping[str, Any]) -> tuple[FieldInfo, ...]:
    """The fields of a describe (`sf.describe(...)` JSON), with what typing needs."""
    return tuple(
        FieldInfo(
            name=str(f["name"]),
            type=str(f.get("type", "string")),
            precision=int(f.get("precision") or 0),
            scale=int(f.get("scale") or 0),
            length=int(f.get("length") or 0),
        )
        for f in describe.get("fields", ())
    )


def column_field(source: FieldSource | None, column: str) -> FieldInfo | None:
    """The field behind a query column (`Owner.Name` follows the parent's model), or None."""
    if source is not None and not isinstance(source, type):
        return next((f for f in source if f.name == column), None)
    return field_at(None if source is Record else source, column.split("."))


def arrow_schema(
    source: FieldSource, columns: Sequence[str] | None = None, *, extra_scale: int = 0
) -> pa.Schema:
    """The schema of `columns` (default: every field), typed by a model or describe's fields.

    Each field carries its Salesforce type in the metadata (`sf_type`) for readers that care.
    """
    known = source.__sf_fields__ if isinstance(source, type) else source
    names = list(columns) if columns is not None else [f.name for f in known]
    fields = []
    for name in names:
        info = column_field(source, name)
        kind = pa.string() if info is None else arrow_type(info, extra_scale)
        meta = None if info is None else {b"sf_type": info.type.encode()}
        fields.append(pa.field(name, kind, nullable=True, metadata=meta))
    return pa.schema(fields)
