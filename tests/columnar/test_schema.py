"""The Arrow type of every Salesforce field type, from generated models and from describes."""

from __future__ import annotations

import pyarrow as pa
import pytest

import salesforce_typed_std as std
from salesforce_typed.columnar import (
    ADDRESS,
    LOCATION,
    arrow_schema,
    arrow_type,
    fields_from_describe,
)
from salesforce_typed.core.fields import FieldInfo

PICKLIST = pa.dictionary(pa.int32(), pa.string())


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("id", {}, pa.string()),
        ("reference", {}, pa.string()),
        ("string", {}, pa.string()),
        ("textarea", {}, pa.string()),
        ("email", {}, pa.string()),
        ("phone", {}, pa.string()),
        ("url", {}, pa.string()),
        ("combobox", {}, pa.string()),
        ("encryptedstring", {}, pa.string()),
        ("base64", {}, pa.string()),  # a query returns the blob's URL
        ("anyType", {}, pa.string()),
        ("picklist", {}, PICKLIST),
        ("multipicklist", {}, pa.list_(pa.string())),
        ("boolean", {}, pa.bool_()),
        ("int", {"precision": 9}, pa.int32()),
        ("long", {"precision": 18}, pa.int64()),
        ("double", {"precision": 18, "scale": 6}, pa.decimal128(18, 6)),
        ("double", {}, pa.float64()),
        ("currency", {"precision": 18, "scale": 2}, pa.decimal128(18, 2)),
        ("percent", {"precision": 5, "scale": 2}, pa.decimal128(5, 2)),
        ("date", {}, pa.date32()),
        ("datetime", {}, pa.timestamp("ms", tz="UTC")),
        ("time", {}, pa.time32("ms")),
        ("address", {}, ADDRESS),
        ("location", {}, LOCATION),
    ],
)
def test_arrow_type(kind: str, extra: dict[str, int], expected: pa.DataType) -> None:
    assert arrow_type(FieldInfo(name="F", type=kind, **extra)) == expected


def test_address_and_location_components() -> None:
    assert ADDRESS.names == [
        "street",
        "city",
        "state",
        "postalCode",
        "country",
        "stateCode",
        "countryCode",
        "latitude",
        "longitude",
        "geocodeAccuracy",
    ]
    assert LOCATION.names == ["latitude", "longitude"]
    assert ADDRESS.field("latitude").type == pa.decimal128(18, 15)


def test_schema_from_a_generated_model_follows_parents() -> None:
    schema = arrow_schema(
        std.Contact, ["Id", "Account.AnnualRevenue", "Account.Owner.Name", "Nope__c"]
    )
    assert schema.field("Account.AnnualRevenue").type == pa.decimal128(18, 0)
    assert schema.field("Account.Owner.Name").type == pa.string()
    assert schema.field("Nope__c").type == pa.string() and schema.field("Nope__c").metadata is None
    full = arrow_schema(std.Account)
    assert full.field("BillingAddress").type == ADDRESS
    assert full.field("BillingLatitude").type == pa.decimal128(18, 15)
    assert full.field("Type").metadata == {b"sf_type": b"picklist"}


def test_schema_from_a_describe() -> None:
    describe = {
        "fields": [
            {"name": "Amount__c", "type": "currency", "precision": 16, "scale": 4},
            {"name": "When__c", "type": "datetime", "precision": None},
        ]
    }
    schema = arrow_schema(fields_from_describe(describe))
    assert schema.types == [pa.decimal128(16, 4), pa.timestamp("ms", tz="UTC")]
