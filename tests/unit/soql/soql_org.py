"""Test org for the SOQL engine: schema, fixed ids and rows (imported by conftest and tests).

`NOW` is a Thursday, 2024-03-14 15:30 UTC; the week started Sunday 2024-03-10.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from salesforce_typed.testing.soql import (
    ChildRel,
    FieldDef,
    JsonValue,
    ObjectDef,
    Schema,
    create_index_sqls,
    create_table_sql,
    execute_query,
    id18,
    to_storage,
)

NOW = dt.datetime(2024, 3, 14, 15, 30, tzinfo=dt.UTC)
F = FieldDef


def sfid(prefix: str, n: int) -> str:
    return id18(f"{prefix}{n:012d}")


U1, U2 = sfid("005", 1), sfid("005", 2)
A1, A2, A3, A4, A5 = (sfid("001", n) for n in range(1, 6))
C1, C2, C3, C4, C5 = (sfid("003", n) for n in range(1, 6))
O1, O2, O3, O4 = (sfid("006", n) for n in range(1, 5))
I1, I2, I3 = (sfid("a01", n) for n in range(1, 4))
G1 = sfid("00G", 1)


def build_schema() -> Schema:
    user = ObjectDef.of(
        "User",
        [
            F(name="Name", type="string", name_field=True),
            F(name="Email", type="email"),
            F(name="IsActive", type="boolean"),
        ],
    )
    account = ObjectDef.of(
        "Account",
        [
            F(name="Name", type="string", name_field=True),
            F(name="Industry", type="picklist"),
            F(name="AnnualRevenue", type="currency"),
            F(name="NumberOfEmployees", type="int"),
            F(name="OwnerId", type="reference", reference_to=("User",), relationship_name="Owner"),
            F(
                name="ParentId",
                type="reference",
                reference_to=("Account",),
                relationship_name="Parent",
            ),
            F(name="CreatedDate", type="datetime"),
            F(name="Description", type="textarea", filterable=False, sortable=False),
            F(name="Phone", type="phone"),
            F(name="Website", type="url"),
            F(name="BillingStreet", type="textarea", compound_field_name="BillingAddress"),
            F(name="BillingCity", type="string", compound_field_name="BillingAddress"),
            F(name="BillingCountry", type="string", compound_field_name="BillingAddress"),
            F(name="BillingAddress", type="address", filterable=False),
        ],
        [
            ChildRel(relationship_name="Contacts", child_object="Contact", field="AccountId"),
            ChildRel(
                relationship_name="Opportunities", child_object="Opportunity", field="AccountId"
            ),
            ChildRel(
                relationship_name="Invoices__r", child_object="Invoice__c", field="Account__c"
            ),
            ChildRel(relationship_name="ChildAccounts", child_object="Account", field="ParentId"),
        ],
    )
    contact = ObjectDef.of(
        "Contact",
        [
            F(name="FirstName", type="string"),
            F(name="LastName", type="string"),
            F(name="Name", type="string", name_field=True),
            F(name="Email", type="email"),
            F(name="Phone", type="phone"),
            F(
                name="AccountId",
                type="reference",
                reference_to=("Account",),
                relationship_name="Account",
            ),
            F(
                name="OwnerId",
                type="reference",
                reference_to=("Group", "User"),  # describe order: Group first
                relationship_name="Owner",
            ),
            F(name="Birthdate", type="date"),
            F(name="HasOptedOutOfEmail", type="boolean"),
        ],
        [ChildRel(relationship_name="Invoices__r", child_object="Invoice__c", field="Contact__c")],
    )
    opportunity = ObjectDef.of(
        "Opportunity",
        [
            F(name="Name", type="string", name_field=True),
            F(
                name="AccountId",
                type="reference",
                reference_to=("Account",),
                relationship_name="Account",
            ),
            F(name="StageName", type="picklist"),
            F(name="Amount", type="currency"),
            F(name="Probability", type="percent"),
            F(name="CloseDate", type="date"),
            F(name="IsWon", type="boolean"),
            F(name="Tags__c", type="multipicklist"),
            F(name="CreatedDate", type="datetime"),
        ],
    )
    invoice = ObjectDef.of(
        "Invoice__c",
        [
            F(name="Name", type="string", name_field=True),
            F(
                name="Account__c",
                type="reference",
                reference_to=("Account",),
                relationship_name="Account__r",
            ),
            F(
                name="Contact__c",
                type="reference",
                reference_to=("Contact",),
                relationship_name="Contact__r",
            ),
            F(name="Total__c", type="double"),
            F(name="Lines__c", type="int"),
            F(name="Due__c", type="date"),
            F(name="Paid__c", type="boolean"),
            F(name="Scan__c", type="base64"),
            F(name="Loc__c", type="location"),
            F(name="Loc__Latitude__s", type="double", compound_field_name="Loc__c"),
            F(name="Loc__Longitude__s", type="double", compound_field_name="Loc__c"),
        ],
    )
    group = ObjectDef.of("Group", [F(name="Name", type="string", name_field=True)])
    return Schema([user, account, contact, opportunity, invoice, group])


def insert(conn: sqlite3.Connection, schema: Schema, object_name: str, **values: Any) -> None:
    obj = schema.object(object_name)
    assert obj is not None
    names = list(values)
    stored = [to_storage(obj.fields[n], values[n]) for n in names]
    columns = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" for _ in names)
    conn.execute(f'INSERT INTO "{obj.name}" ({columns}) VALUES ({marks})', stored)


def create_tables(conn: sqlite3.Connection, schema: Schema) -> None:
    for obj in schema:
        conn.execute(create_table_sql(obj))
        for sql in create_index_sqls(obj):
            conn.execute(sql)


def load_data(conn: sqlite3.Connection, schema: Schema) -> None:
    def put(name: str, **values: Any) -> None:
        insert(conn, schema, name, **values)

    put("User", Id=U1, Name="Alice Admin", Email="alice@example.com", IsActive=True)
    put("User", Id=U2, Name="Bob Builder", Email="bob@example.com", IsActive=False)

    put(
        "Account",
        Id=A1,
        Name="Acme",
        Industry="Technology",
        AnnualRevenue=1_250_000,
        NumberOfEmployees=100,
        OwnerId=U1,
        CreatedDate="2024-01-10T09:00:00Z",
        Description="Big customer",
        Phone="(555) 010-1000",
        Website="https://acme.example",
        BillingStreet="1 Rue de Rivoli",
        BillingCity="Paris",
        BillingCountry="FR",
    )
    put(
        "Account",
        Id=A2,
        Name="Globex",
        Industry="Energy",
        AnnualRevenue=500_000,
        NumberOfEmployees=50,
        OwnerId=U2,
        ParentId=A1,
        CreatedDate="2024-03-05T12:00:00+00:00",
        BillingCity="Berlin",
    )
    put(
        "Account",
        Id=A3,
        Name="initech",
        OwnerId=U1,
        CreatedDate="2024-01-01T00:30:00+01:00",  # 2023-12-31T23:30Z
    )
    put(
        "Account",
        Id=A4,
        Name="Umbrella",
        Industry="Energy",
        AnnualRevenue=2_000_000,
        NumberOfEmployees=5000,
        CreatedDate="2024-03-14T08:00:00Z",
    )
    put("Account", Id=A5, Name="Deleted Co", Industry="Technology", IsDeleted=True)

    put("Contact", Id=C1, FirstName="Ann", LastName="Smith", Name="Ann Smith")
    conn.execute(
        'UPDATE "Contact" SET "Email"=?, "AccountId"=?, "OwnerId"=?, "Birthdate"=? WHERE "Id"=?',
        ("ann@acme.com", A1, U1, "1990-05-01", C1),
    )
    put(
        "Contact",
        Id=C2,
        FirstName="Bob",
        LastName="Jones",
        Name="Bob Jones",
        Email="bob@acme.com",
        AccountId=A1,
        OwnerId=U2,
        Birthdate="1985-03-14",
        HasOptedOutOfEmail=True,
    )
    put(
        "Contact",
        Id=C3,
        FirstName="Cid",
        LastName="O'Brien",
        Name="Cid O'Brien",
        AccountId=A2,
        OwnerId=U1,
        Phone="+1 555 0100",
    )
    put("Group", Id=G1, Name="Support Queue")
    put("Contact", Id=C4, LastName="Lee", Name="Lee", OwnerId=G1, HasOptedOutOfEmail=False)
    put("Contact", Id=C5, LastName="Gone", Name="Gone", AccountId=A1, IsDeleted=True)

    put(
        "Opportunity",
        Id=O1,
        Name="Acme Deal",
        AccountId=A1,
        StageName="Closed Won",
        Amount=1000,
        Probability=100,
        CloseDate="2024-03-10",
        IsWon=True,
        Tags__c="gold;vip",
        CreatedDate="2024-02-01T10:00:00Z",
    )
    put(
        "Opportunity",
        Id=O2,
        Name="Acme Upsell",
        AccountId=A1,
        StageName="Prospecting",
        Amount=500,
        Probability=10,
        CloseDate="2024-04-02",
        IsWon=False,
        Tags__c=["silver"],
        CreatedDate="2024-03-13T23:59:59Z",
    )
    put(
        "Opportunity",
        Id=O3,
        Name="Globex Big",
        AccountId=A2,
        StageName="Closed Won",
        Amount=2500.5,
        Probability=100,
        CloseDate="2024-02-28",
        IsWon=True,
        Tags__c="gold",
        CreatedDate="2023-11-20T08:00:00Z",
    )
    put(
        "Opportunity",
        Id=O4,
        Name="Umbrella Renewal",
        AccountId=A4,
        StageName="Negotiation",
        CloseDate="2023-12-15",
        IsWon=False,
        CreatedDate="2024-03-14T00:00:00Z",
    )

    put(
        "Invoice__c",
        Id=I1,
        Name="INV-001",
        Account__c=A1,
        Contact__c=C1,
        Total__c=100,
        Lines__c=3,
        Due__c="2024-03-15",
        Paid__c=True,
        Scan__c=b"%PDF",
        Loc__Latitude__s=48.85,
        Loc__Longitude__s=2.35,
    )
    put(
        "Invoice__c",
        Id=I2,
        Name="INV-002",
        Account__c=A1,
        Contact__c=C1,
        Total__c=250,
        Lines__c=1,
        Due__c="2024-03-20",
        Paid__c=False,
    )
    put("Invoice__c", Id=I3, Name="INV_003", Account__c=A2, Total__c=75.5, Paid__c=False)
    conn.commit()


def rows(conn: sqlite3.Connection, schema: Schema, soql: str, **kw: Any) -> list[Any]:
    """All records of a query, with the fixed clock unless told otherwise."""
    kw.setdefault("now", NOW)
    return list(execute_query(conn, schema, soql, **kw))


def column(records: list[Any], key: str) -> list[JsonValue]:
    return [r[key] for r in records]
