"""Schema lookups, the storage convention (tables, indexes, values) and id checksums."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

import salesforce_typed.testing.soql as soql
from salesforce_typed.testing.soql import (
    FieldDef,
    ObjectDef,
    Schema,
    create_index_sqls,
    create_table_sql,
    format_datetime,
    from_storage,
    id18,
    normalize_id,
    to_storage,
)


def test_lookups_are_case_insensitive_and_return_canonical_names(schema: Schema) -> None:
    account = schema.object("aCCount")
    assert account is not None and account.name == "Account"
    assert account.field("annualrevenue") == account.fields["AnnualRevenue"]
    owner = account.parent_relationship("OWNER")
    assert owner is not None and owner.name == "OwnerId"
    contacts = account.child_relationship("contacts")
    assert contacts is not None and contacts.relationship_name == "Contacts"
    assert schema.object("Acount") is None
    assert account.field("Nme") is None
    invoice = schema.object("invoice__C")
    assert invoice is not None
    rel = invoice.parent_relationship("account__R")
    assert rel is not None and rel.name == "Account__c"


def test_object_of_adds_id_and_is_deleted() -> None:
    obj = ObjectDef.of("Thing__c", [FieldDef(name="Name", type="string")])
    assert list(obj.fields) == ["Id", "Name", "IsDeleted"]
    assert obj.fields["Id"].type == "id"


def test_unknown_field_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown field type"):
        FieldDef(name="X", type="blob")  # type: ignore[arg-type]


def test_from_describe() -> None:
    obj = ObjectDef.from_describe(
        {
            "name": "Case",
            "fields": [
                {"name": "Id", "type": "id"},
                {"name": "Subject", "type": "string", "nameField": True},
                {
                    "name": "OwnerId",
                    "type": "reference",
                    "referenceTo": ["Group", "User"],
                    "relationshipName": "Owner",
                },
                {"name": "Description", "type": "textarea", "filterable": False},
                {"name": "Weird", "type": "anyType"},
                {"name": "Big", "type": "long"},
            ],
            "childRelationships": [
                {
                    "relationshipName": "CaseComments",
                    "childSObject": "CaseComment",
                    "field": "ParentId",
                },
                {"relationshipName": None, "childSObject": "Task", "field": "WhatId"},
            ],
        }
    )
    assert obj.fields["Subject"].name_field
    assert obj.fields["OwnerId"].reference_to == ("Group", "User")
    assert obj.fields["Description"].filterable is False
    assert obj.fields["Weird"].type == "string"
    assert obj.fields["Big"].type == "int"
    assert "IsDeleted" in obj.fields
    assert list(obj.child_relationships) == ["CaseComments"]


def test_create_table_follows_the_convention(schema: Schema) -> None:
    account = schema.object("Account")
    assert account is not None
    sql = create_table_sql(account)
    assert sql.startswith('CREATE TABLE IF NOT EXISTS "Account" (')
    assert '"Id" TEXT PRIMARY KEY' in sql
    assert '"IsDeleted" INTEGER NOT NULL DEFAULT 0' in sql
    assert '"BillingCity" TEXT COLLATE NOCASE' in sql
    assert '"AnnualRevenue" REAL' in sql
    assert '"NumberOfEmployees" INTEGER' in sql
    assert '"OwnerId" TEXT,' in sql
    assert "BillingAddress" not in sql  # compound fields have no column
    conn = sqlite3.connect(":memory:")
    conn.execute(sql)
    columns = [row[1] for row in conn.execute('PRAGMA table_info("Account")')]
    assert columns[:2] == ["Id", "IsDeleted"]
    assert len(columns) == len(account.stored_fields())


def test_index_helpers(schema: Schema) -> None:
    account = schema.object("Account")
    assert account is not None
    sqls = create_index_sqls(account, extra=["CreatedDate"])
    assert sqls == [
        'CREATE INDEX IF NOT EXISTS "ix_Account_OwnerId" ON "Account" ("OwnerId")',
        'CREATE INDEX IF NOT EXISTS "ix_Account_ParentId" ON "Account" ("ParentId")',
        'CREATE INDEX IF NOT EXISTS "ix_Account_Name" ON "Account" ("Name")',
        'CREATE INDEX IF NOT EXISTS "ix_Account_CreatedDate" ON "Account" ("CreatedDate")',
    ]


@pytest.mark.parametrize(
    ("ftype", "value", "stored"),
    [
        ("boolean", True, 1),
        ("boolean", "false", 0),
        ("int", 7, 7),
        ("double", 2, 2.0),
        ("currency", "10.5", 10.5),
        ("date", "2024-01-31", "2024-01-31"),
        ("date", dt.date(2024, 2, 1), "2024-02-01"),
        ("datetime", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.000+0000"),
        ("datetime", "2024-01-31T10:00:00.5+01:00", "2024-01-31T09:00:00.500+0000"),
        ("datetime", "2024-01-31T23:30:00-0130", "2024-02-01T01:00:00.000+0000"),
        ("datetime", dt.datetime(2024, 1, 31, 10, 0), "2024-01-31T10:00:00.000+0000"),
        ("time", "10:30:00Z", "10:30:00.000Z"),
        ("multipicklist", ["a", "b"], "a;b"),
        ("multipicklist", "a;b", "a;b"),
        ("string", "x", "x"),
        ("string", None, None),
    ],
)
def test_to_storage(ftype: str, value: object, stored: object) -> None:
    field = FieldDef(name="F", type=ftype)  # type: ignore[arg-type]
    assert to_storage(field, value) == stored


def test_to_storage_rejects_wrong_types() -> None:
    with pytest.raises(ValueError):
        to_storage(FieldDef(name="F", type="boolean"), "yes")
    with pytest.raises(ValueError):
        to_storage(FieldDef(name="F", type="int"), True)


@pytest.mark.parametrize(
    ("ftype", "stored", "json"),
    [
        ("boolean", 1, True),
        ("boolean", 0, False),
        ("int", 3, 3),
        ("currency", 5, 5.0),
        ("datetime", "2024-01-31T10:00:00.000+0000", "2024-01-31T10:00:00.000+0000"),
        ("string", None, None),
    ],
)
def test_from_storage(ftype: str, stored: object, json: object) -> None:
    value = from_storage(ftype, stored)  # type: ignore[arg-type]
    assert value == json
    assert type(value) is type(json)


def test_format_datetime_is_fixed_width_and_sortable() -> None:
    early = format_datetime(
        dt.datetime(2024, 1, 1, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    late = format_datetime(dt.datetime(2024, 1, 1, 8, 0, 0, 999000, tzinfo=dt.UTC))
    assert early == "2024-01-01T07:05:00.000+0000"
    assert late == "2024-01-01T08:00:00.999+0000"
    assert early < late


def test_id18_checksum() -> None:
    # The suffix encodes which of the 15 chars are upper case, per 5-char chunk.
    assert id18("001000000000001") == "001000000000001AAA"
    assert id18("001Hs00003ZkQp1") == "001Hs00003ZkQp1IAF"
    assert normalize_id("001Hs00003ZkQp1") == "001Hs00003ZkQp1IAF"
    assert normalize_id("001Hs00003ZkQp1iaf") == "001Hs00003ZkQp1IAF"
    assert normalize_id("001Hs00003ZkQp") is None
    assert normalize_id("001Hs00003ZkQp1-AF") is None


def test_public_surface() -> None:
    assert sorted(soql.__all__) == sorted(
        [
            "FIELD_TYPES",
            "ChildRel",
            "CompiledQuery",
            "FieldDef",
            "FieldType",
            "JsonValue",
            "ObjectDef",
            "QueryResult",
            "Record",
            "Schema",
            "SoqlError",
            "compile_query",
            "compile_soql",
            "create_index_sqls",
            "create_table_sql",
            "execute_query",
            "execute_search",
            "format_datetime",
            "from_storage",
            "id18",
            "normalize_id",
            "parse_datetime",
            "parse_query",
            "parse_search",
            "to_storage",
        ]
    )
    for name in soql.__all__:
        assert hasattr(soql, name)
