"""SELECT lists and result shapes: fields, parent paths, child subqueries, compound fields,
FIELDS(), and the INVALID_FIELD / INVALID_TYPE errors for names."""

from __future__ import annotations

import sqlite3

import pytest
from soql_org import A1, A2, A3, A4, C1, C2, C3, C4, G1, I1, I3, U1, column, rows

from salesforce_typed.testing.soql import Schema, SoqlError, execute_query


def test_fields_in_select_order_with_canonical_case(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    records = rows(conn, schema, f"select name, ID, industry from ACCOUNT where id = '{A1}'")
    assert records == [
        {
            "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{A1}"},
            "Name": "Acme",
            "Id": A1,
            "Industry": "Technology",
        }
    ]
    assert list(records[0]) == ["attributes", "Name", "Id", "Industry"]


def test_values_come_back_as_json_types(conn: sqlite3.Connection, schema: Schema) -> None:
    (record,) = rows(
        conn,
        schema,
        "SELECT AnnualRevenue, NumberOfEmployees, CreatedDate, Owner.IsActive, Website "
        f"FROM Account WHERE Id = '{A1}'",
    )
    assert record["AnnualRevenue"] == 1250000.0 and isinstance(record["AnnualRevenue"], float)
    assert record["NumberOfEmployees"] == 100 and isinstance(record["NumberOfEmployees"], int)
    assert record["CreatedDate"] == "2024-01-10T09:00:00.000+0000"
    assert record["Owner"]["IsActive"] is True
    assert record["Website"] == "https://acme.example"


def test_null_fields_are_present(conn: sqlite3.Connection, schema: Schema) -> None:
    (record,) = rows(conn, schema, f"SELECT Industry, AnnualRevenue FROM Account WHERE Id = '{A3}'")
    assert record["Industry"] is None
    assert record["AnnualRevenue"] is None


def test_api_version_and_path_prefix(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(
        conn,
        schema,
        f"SELECT Id FROM Account WHERE Id = '{A1}'",
        api_version="59.0",
        instance_path_prefix="/custom/data/",
    )
    (record,) = list(result)
    assert record["attributes"]["url"] == f"/custom/data/v59.0/sobjects/Account/{A1}"


def test_parent_paths_nest_with_attributes(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Account.Name, LastName, Account.Owner.Name, Account.Parent.Name "
        "FROM Contact ORDER BY LastName",
    )
    assert column(records, "LastName") == ["Jones", "Lee", "O'Brien", "Smith"]
    jones, lee, obrien, _smith = records
    assert list(jones) == ["attributes", "Account", "LastName"]
    assert jones["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{A1}"},
        "Name": "Acme",
        "Owner": {
            "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{U1}"},
            "Name": "Alice Admin",
        },
        "Parent": None,
    }
    assert lee["Account"] is None  # empty lookup -> null, not an empty object
    assert obrien["Account"]["Parent"]["Name"] == "Acme"
    assert obrien["Account"]["Owner"]["Name"] == "Bob Builder"


def test_polymorphic_owner_reports_the_concrete_type(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    records = rows(
        conn, schema, "SELECT LastName, Owner.Name, Owner.Id FROM Contact ORDER BY LastName"
    )
    owners = {r["LastName"]: r["Owner"] for r in records}
    assert owners["Smith"] == {
        "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/{U1}"},
        "Name": "Alice Admin",
        "Id": U1,
    }
    assert owners["Lee"] == {
        "attributes": {"type": "Group", "url": f"/services/data/v62.0/sobjects/Group/{G1}"},
        "Name": "Support Queue",
        "Id": G1,
    }
    queue = rows(conn, schema, "SELECT LastName FROM Contact WHERE Owner.Name = 'support queue'")
    assert column(queue, "LastName") == ["Lee"]
    ordered = rows(conn, schema, "SELECT LastName FROM Contact ORDER BY Owner.Name DESC, LastName")
    assert column(ordered, "LastName") == ["Lee", "Jones", "O'Brien", "Smith"]


def test_polymorphic_field_missing_everywhere(conn: sqlite3.Connection, schema: Schema) -> None:
    with pytest.raises(SoqlError) as err:
        execute_query(conn, schema, "SELECT Owner.Email2 FROM Contact")
    assert err.value.detail.startswith("No such column 'Email2' on entity 'Group'.")
    # A field only one target has still resolves (null for the other type).
    records = rows(conn, schema, "SELECT LastName, Owner.Email FROM Contact ORDER BY LastName")
    emails = {r["LastName"]: r["Owner"]["Email"] for r in records}
    assert emails == {
        "Jones": "bob@example.com",
        "Lee": None,
        "O'Brien": "alice@example.com",
        "Smith": "alice@example.com",
    }


def test_custom_relationship_paths(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn, schema, "SELECT Name, Account__r.Name, Account__c FROM Invoice__c ORDER BY Name"
    )
    assert [(r["Name"], r["Account__r"]["Name"], r["Account__c"]) for r in records] == [
        ("INV-001", "Acme", A1),
        ("INV-002", "Acme", A1),
        ("INV_003", "Globex", A2),
    ]


def test_where_and_order_on_parent_fields(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT LastName FROM Contact WHERE Account.Owner.Name LIKE 'alice%' "
        "ORDER BY Account.Name DESC, LastName",
    )
    assert column(records, "LastName") == ["Jones", "Smith"]
    records = rows(
        conn, schema, "SELECT LastName FROM Contact ORDER BY Account.Name DESC, LastName"
    )
    assert column(records, "LastName") == ["O'Brien", "Jones", "Smith", "Lee"]


def test_compound_address_and_location(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(conn, schema, "SELECT Name, BillingAddress FROM Account ORDER BY Name")
    by_name = {r["Name"]: r["BillingAddress"] for r in records}
    assert by_name["Acme"] == {"city": "Paris", "country": "FR", "street": "1 Rue de Rivoli"}
    assert list(by_name["Acme"]) == ["city", "country", "street"]
    assert by_name["Globex"] == {"city": "Berlin", "country": None, "street": None}
    assert by_name["Umbrella"] is None
    (invoice,) = rows(conn, schema, f"SELECT Loc__c FROM Invoice__c WHERE Id = '{I1}'")
    assert invoice["Loc__c"] == {"latitude": 48.85, "longitude": 2.35}


def test_base64_reads_back_as_blob_url(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(conn, schema, "SELECT Scan__c FROM Invoice__c ORDER BY Name")
    assert records[0]["Scan__c"] == f"/services/data/v62.0/sobjects/Invoice__c/{I1}/Scan__c"
    assert records[2]["Scan__c"] is None


def test_child_subquery_shape(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Name, (SELECT LastName, Email FROM Contacts ORDER BY LastName DESC), Id "
        "FROM Account ORDER BY Name",
    )
    assert column(records, "Name") == ["Acme", "Globex", "initech", "Umbrella"]
    acme = records[0]
    assert list(acme) == ["attributes", "Name", "Contacts", "Id"]
    assert acme["Contacts"] == {
        "totalSize": 2,
        "done": True,
        "records": [
            {
                "attributes": {
                    "type": "Contact",
                    "url": f"/services/data/v62.0/sobjects/Contact/{C1}",
                },
                "LastName": "Smith",
                "Email": "ann@acme.com",
            },
            {
                "attributes": {
                    "type": "Contact",
                    "url": f"/services/data/v62.0/sobjects/Contact/{C2}",
                },
                "LastName": "Jones",
                "Email": "bob@acme.com",
            },
        ],
    }
    assert records[1]["Contacts"]["records"][0]["LastName"] == "O'Brien"
    assert records[2]["Contacts"] is None  # no children -> null
    assert records[3]["Contacts"] is None


def test_child_subquery_where_limit_offset_and_parent_paths(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Name, (SELECT Name, Account.Name FROM Opportunities WHERE Amount > 100 "
        "ORDER BY Amount DESC LIMIT 1), (SELECT LastName FROM Contacts ORDER BY LastName "
        "LIMIT 1 OFFSET 1) FROM Account WHERE Name IN ('Acme', 'Globex') ORDER BY Name",
    )
    acme, globex = records
    assert [r["Name"] for r in acme["Opportunities"]["records"]] == ["Acme Deal"]
    assert acme["Opportunities"]["records"][0]["Account"]["Name"] == "Acme"
    assert [r["Name"] for r in globex["Opportunities"]["records"]] == ["Globex Big"]
    assert acme["Contacts"]["records"][0]["LastName"] == "Smith"
    assert globex["Contacts"] is None  # one contact, offset 1


def test_nested_child_subqueries(conn: sqlite3.Connection, schema: Schema) -> None:
    (acme,) = rows(
        conn,
        schema,
        "SELECT Name, (SELECT LastName, (SELECT Name FROM Invoices__r ORDER BY Name) "
        f"FROM Contacts ORDER BY LastName) FROM Account WHERE Id = '{A1}'",
    )
    jones, smith = acme["Contacts"]["records"]
    assert jones["Invoices__r"] is None
    assert [i["Name"] for i in smith["Invoices__r"]["records"]] == ["INV-001", "INV-002"]


def test_child_subqueries_cost_one_statement_per_relationship(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    records = rows(
        conn,
        schema,
        "SELECT Name, (SELECT LastName FROM Contacts), (SELECT Name FROM Opportunities), "
        "(SELECT Name FROM ChildAccounts) FROM Account",
    )
    conn.set_trace_callback(None)
    assert len(records) == 4
    assert records[0]["ChildAccounts"]["records"][0]["Name"] == "Globex"
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4  # the page, then one per relationship (not one per account)


def test_include_deleted_applies_to_children(conn: sqlite3.Connection, schema: Schema) -> None:
    soql = (
        f"SELECT (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Id = '{A1}'"
    )
    (live,) = rows(conn, schema, soql)
    (everything,) = rows(conn, schema, soql, include_deleted=True)
    assert live["Contacts"]["totalSize"] == 2
    assert [c["LastName"] for c in everything["Contacts"]["records"]] == ["Gone", "Jones", "Smith"]


def test_fields_macros(conn: sqlite3.Connection, schema: Schema) -> None:
    (standard,) = rows(conn, schema, f"SELECT FIELDS(STANDARD) FROM Invoice__c WHERE Id = '{I3}'")
    assert list(standard)[1:] == ["Id", "Name", "IsDeleted"]
    (custom,) = rows(
        conn, schema, f"SELECT Id, FIELDS(CUSTOM) FROM Invoice__c WHERE Id = '{I3}' LIMIT 1"
    )
    assert "Name" not in custom
    assert custom["Total__c"] == 75.5
    assert custom["Loc__c"] is None
    assert custom["Loc__Latitude__s"] is None
    (everything,) = rows(
        conn, schema, f"SELECT FIELDS(ALL) FROM Account WHERE Id = '{A1}' LIMIT 200"
    )
    assert everything["Id"] == A1
    assert everything["IsDeleted"] is False
    assert everything["BillingAddress"]["city"] == "Paris"
    assert everything["BillingCity"] == "Paris"


def test_query_alias_prefix(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(conn, schema, "SELECT a.Name, a.Owner.Name FROM Account a WHERE a.Name = 'Acme'")
    assert records[0]["Name"] == "Acme"
    assert records[0]["Owner"]["Name"] == "Alice Admin"


def test_with_security_enforced_and_for_view_are_ignored(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Name FROM Account WHERE Name = 'Acme' WITH SECURITY_ENFORCED LIMIT 1 FOR VIEW",
    )
    assert column(records, "Name") == ["Acme"]


def test_ids_compare_in_15_or_18_char_form(conn: sqlite3.Connection, schema: Schema) -> None:
    for literal in (A4[:15], A4, A4[:15] + A4[15:].lower()):
        assert column(
            rows(conn, schema, f"SELECT Name FROM Account WHERE Id = '{literal}'"), "Name"
        ) == ["Umbrella"]
    records = rows(
        conn, schema, f"SELECT LastName FROM Contact WHERE AccountId IN ('{A2[:15]}', '{A4}')"
    )
    assert column(records, "LastName") == ["O'Brien"]


# Errors ----------------------------------------------------------------------------------


def error_of(conn: sqlite3.Connection, schema: Schema, soql: str) -> SoqlError:
    with pytest.raises(SoqlError) as err:
        execute_query(conn, schema, soql)
    return err.value


def test_unknown_field_message_matches_salesforce(conn: sqlite3.Connection, schema: Schema) -> None:
    err = error_of(conn, schema, "SELECT Nme FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Nme FROM Account\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Nme' on entity 'Account'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
        "the describe call for the appropriate names."
    )


def test_unknown_object_message(conn: sqlite3.Connection, schema: Schema) -> None:
    err = error_of(conn, schema, "SELECT Id FROM Acount")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM Acount\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Acount' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


@pytest.mark.parametrize(
    ("soql", "code", "detail_start"),
    [
        (
            "SELECT Acount.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Acount' in field path.",
        ),
        (
            "SELECT Account.Nme FROM Contact",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'.",
        ),
        (
            "SELECT Account FROM Contact",
            "INVALID_FIELD",
            "No such column 'Account' on entity 'Contact'.",
        ),
        (
            "SELECT Name.Foo FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Name' in field path.",
        ),
        (
            "SELECT Account__c.Name FROM Invoice__c",
            "INVALID_FIELD",
            "Didn't understand relationship 'Account__c'",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contactz) FROM Account",
            "INVALID_TYPE",
            "Didn't understand relationship 'Contactz' in FROM part of query call.",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contact) FROM Account",
            "INVALID_TYPE",
            "Didn't understand relationship 'Contact' in FROM part",
        ),
        ("SELECT Id, Name, id FROM Account", "INVALID_FIELD", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account WHERE Nme = 'x'",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'.",
        ),
        (
            "SELECT Id FROM Account ORDER BY Nme",
            "INVALID_FIELD",
            "No such column 'Nme' on entity 'Account'.",
        ),
        (
            "SELECT Id FROM Account WHERE Description = 'x'",
            "INVALID_FIELD",
            "field 'Description' can not be filtered in query call",
        ),
        (
            "SELECT Id FROM Account ORDER BY Description",
            "INVALID_FIELD",
            "field 'Description' can not be sorted in a query call",
        ),
        (
            "SELECT Id FROM Account WHERE BillingAddress = null",
            "INVALID_FIELD",
            "field 'BillingAddress' can not be filtered",
        ),
        ("SELECT Name n FROM Account", "MALFORMED_QUERY", "unexpected token: 'n'"),
        (
            "SELECT FIELDS(ALL) FROM Account",
            "MALFORMED_QUERY",
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ),
        (
            "SELECT FIELDS(CUSTOM) FROM Account LIMIT 201",
            "MALFORMED_QUERY",
            "The SOQL FIELDS function must have a LIMIT",
        ),
        (
            "SELECT Id FROM Account OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_name_errors(
    conn: sqlite3.Connection, schema: Schema, soql: str, code: str, detail_start: str
) -> None:
    err = error_of(conn, schema, soql)
    assert err.error_code == code
    assert err.detail.startswith(detail_start), err.detail
    assert "ERROR at Row:1:Column:" in err.message


def test_relationship_error_points_at_the_path(conn: sqlite3.Connection, schema: Schema) -> None:
    err = error_of(conn, schema, "SELECT Id, Acount.Name FROM Contact")
    assert (err.row, err.column) == (1, 12)


def test_unknown_subquery_object_counts_are_unaffected(
    conn: sqlite3.Connection, schema: Schema
) -> None:
    # A failing query leaves the database untouched and later queries work.
    error_of(conn, schema, "SELECT Id FROM Nope__c")
    assert len(rows(conn, schema, "SELECT Id FROM Contact")) == 4
    assert {C3, C4} <= set(column(rows(conn, schema, "SELECT Id FROM Contact"), "Id"))
