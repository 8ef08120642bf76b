"""WHERE: operators, case-insensitivity, SOQL null semantics, multipicklists, semi-joins,
literal type checks, and that user values never reach the SQL text."""

from __future__ import annotations

import sqlite3

import pytest
from soql_org import A1, A2, A3, A4, column, rows

from salesforce_typed.testing.soql import Schema, SoqlError, compile_soql, execute_query


def names(conn: sqlite3.Connection, schema: Schema, where: str, obj: str = "Account") -> list[str]:
    records = rows(conn, schema, f"SELECT Name FROM {obj} WHERE {where} ORDER BY Name")
    return [r["Name"] for r in records]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme'", ["Acme"]),  # = ignores case on text
        ("Name = 'ACME'", ["Acme"]),
        ("Industry = 'Energy'", ["Globex", "Umbrella"]),
        ("Industry != 'Energy'", ["Acme", "initech"]),  # != keeps nulls
        ("Industry <> 'energy'", ["Acme", "initech"]),
        ("Industry = null", ["initech"]),
        ("Industry != null", ["Acme", "Globex", "Umbrella"]),
        ("AnnualRevenue > 500000", ["Acme", "Umbrella"]),
        ("AnnualRevenue >= 500000", ["Acme", "Globex", "Umbrella"]),
        ("AnnualRevenue < 1250000", ["Globex"]),
        ("AnnualRevenue <= 1250000.0", ["Acme", "Globex"]),
        ("NumberOfEmployees = 100", ["Acme"]),
        ("NumberOfEmployees > 75.5", ["Acme", "Umbrella"]),
        ("Name > 'H'", ["initech", "Umbrella"]),  # case-insensitive ordering
        ("Name < 'b'", ["Acme"]),
    ],
)
def test_comparisons(
    conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]
) -> None:
    assert names(conn, schema, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name LIKE 'a%'", ["Acme"]),
        ("Name LIKE '%E%'", ["Acme", "Globex", "initech", "Umbrella"]),
        ("Name LIKE '_lobex'", ["Globex"]),
        ("Name LIKE 'INITECH'", ["initech"]),
        ("Name LIKE 'Glob'", []),
        ("Name LIKE null", []),
    ],
)
def test_like(conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]) -> None:
    assert names(conn, schema, where) == expected


def test_like_escaped_wildcards(conn: sqlite3.Connection, schema: Schema) -> None:
    assert names(conn, schema, r"Name LIKE 'INV\_%'", "Invoice__c") == ["INV_003"]
    assert names(conn, schema, "Name LIKE 'INV_%'", "Invoice__c") == [
        "INV-001",
        "INV-002",
        "INV_003",
    ]
    assert names(conn, schema, r"Name LIKE '%\%'", "Invoice__c") == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Industry IN ('energy', 'Technology')", ["Acme", "Globex", "Umbrella"]),
        ("Industry NOT IN ('Energy')", ["Acme", "initech"]),  # NOT IN keeps nulls
        ("Industry IN ('Energy', null)", ["Globex", "initech", "Umbrella"]),
        ("Industry NOT IN ('Energy', null)", ["Acme"]),
        ("NumberOfEmployees IN (50, 5000)", ["Globex", "Umbrella"]),
        (f"Id IN ('{A1}', '{A3[:15]}')", ["Acme", "initech"]),
    ],
)
def test_in_lists(
    conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]
) -> None:
    assert names(conn, schema, where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Tags__c INCLUDES ('gold')", ["Acme Deal", "Globex Big"]),
        ("Tags__c INCLUDES ('GOLD;VIP')", ["Acme Deal"]),  # both values
        ("Tags__c INCLUDES ('vip;gold', 'silver')", ["Acme Deal", "Acme Upsell"]),
        ("Tags__c INCLUDES ('go')", []),  # whole values only
        ("Tags__c EXCLUDES ('gold')", ["Acme Upsell", "Umbrella Renewal"]),  # null excluded nothing
        ("Tags__c EXCLUDES ('gold;vip')", ["Acme Upsell", "Globex Big", "Umbrella Renewal"]),
        ("Tags__c = 'gold;vip'", ["Acme Deal"]),
        ("Tags__c = null", ["Umbrella Renewal"]),
    ],
)
def test_multipicklist(
    conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]
) -> None:
    assert names(conn, schema, where, "Opportunity") == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Industry = 'Energy' AND AnnualRevenue > 1000000", ["Umbrella"]),
        ("Industry = 'Energy' OR Name = 'Acme'", ["Acme", "Globex", "Umbrella"]),
        (
            "Industry = 'Energy' AND (Name = 'Globex' OR AnnualRevenue > 1000000)",
            ["Globex", "Umbrella"],
        ),
        ("(Industry = 'Energy' AND Name = 'Globex') OR Name = 'Acme'", ["Acme", "Globex"]),
        ("NOT Industry = 'Energy'", ["Acme", "initech"]),  # two-valued NOT keeps nulls
        ("NOT (Industry = 'Energy' OR Name = 'Acme')", ["initech"]),
        ("NOT AnnualRevenue > 600000", ["Globex", "initech"]),
        ("Name = 'Acme' AND Name = 'Acme' AND NOT Name = 'x'", ["Acme"]),
        ("NOT NOT Name = 'Acme'", ["Acme"]),
    ],
)
def test_boolean_logic(
    conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]
) -> None:
    assert names(conn, schema, where) == expected


def test_boolean_fields(conn: sqlite3.Connection, schema: Schema) -> None:
    assert names(conn, schema, "IsWon = true", "Opportunity") == ["Acme Deal", "Globex Big"]
    assert names(conn, schema, "IsWon = FALSE", "Opportunity") == [
        "Acme Upsell",
        "Umbrella Renewal",
    ]
    assert names(conn, schema, "IsWon != true", "Opportunity") == [
        "Acme Upsell",
        "Umbrella Renewal",
    ]
    records = rows(conn, schema, "SELECT LastName FROM Contact WHERE HasOptedOutOfEmail = true")
    assert column(records, "LastName") == ["Jones"]


def test_semi_and_anti_joins(conn: sqlite3.Connection, schema: Schema) -> None:
    assert names(conn, schema, "Id IN (SELECT AccountId FROM Contact)") == ["Acme", "Globex"]
    assert names(
        conn, schema, r"Id IN (SELECT AccountId FROM Contact WHERE LastName = 'O\'Brien')"
    ) == ["Globex"]
    assert names(conn, schema, "Id NOT IN (SELECT AccountId FROM Opportunity)") == ["initech"]
    assert names(
        conn,
        schema,
        "Id IN (SELECT Account__c FROM Invoice__c WHERE Paid__c = true) AND Name != null",
    ) == ["Acme"]
    # The deleted contact on Acme does not count.
    assert (
        names(conn, schema, "Id IN (SELECT AccountId FROM Contact WHERE LastName = 'Gone')") == []
    )


def test_doubled_quote_is_not_an_escape(conn: sqlite3.Connection, schema: Schema) -> None:
    err = error_of(conn, schema, "LastName = 'O''Brien'", "Contact")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.detail == "unexpected token: 'Brien'"


def test_values_are_bound_never_inlined(schema: Schema) -> None:
    compiled = compile_soql(
        schema, r"SELECT Id FROM Account WHERE Name = 'x\' OR 1=1 --' AND Industry IN ('a', 'b')"
    )
    assert compiled.sql is not None
    assert "1=1" not in compiled.sql and "'a'" not in compiled.sql
    assert "x' OR 1=1 --" in compiled.params.values()


def test_injection_attempt_matches_nothing(conn: sqlite3.Connection, schema: Schema) -> None:
    assert names(conn, schema, r"Name = 'x\' OR Name != \'y'") == []


def error_of(
    conn: sqlite3.Connection, schema: Schema, where: str, obj: str = "Account"
) -> SoqlError:
    with pytest.raises(SoqlError) as err:
        execute_query(conn, schema, f"SELECT Id FROM {obj} WHERE {where}")
    return err.value


@pytest.mark.parametrize(
    ("where", "obj", "code", "detail"),
    [
        (
            "IsWon = 'true'",
            "Opportunity",
            "INVALID_FIELD",
            "value of filter criterion for field 'IsWon' must be of type boolean and should not be enclosed in quotes",
        ),
        (
            "Amount = '5'",
            "Opportunity",
            "INVALID_FIELD",
            "value of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes",
        ),
        (
            "NumberOfEmployees = '5'",
            "Account",
            "INVALID_FIELD",
            "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes",
        ),
        (
            "Name = 5",
            "Account",
            "INVALID_FIELD",
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "Name = true",
            "Account",
            "INVALID_FIELD",
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "CloseDate = '2024-01-01'",
            "Opportunity",
            "INVALID_FIELD",
            "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes",
        ),
        (
            "CloseDate = 2024-01-01T00:00:00Z",
            "Opportunity",
            "INVALID_FIELD",
            "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes",
        ),
        (
            "CreatedDate > 2024-01-01",
            "Opportunity",
            "INVALID_FIELD",
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "Name = TODAY",
            "Account",
            "INVALID_FIELD",
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        ("Id = 'abc'", "Account", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        (
            "OwnerId IN ('005000000000001', 'nope')",
            "Account",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        (
            "Name INCLUDES ('a')",
            "Account",
            "INVALID_QUERY_FILTER_OPERATOR",
            "includes or excludes operator only valid on multipicklist field",
        ),
        (
            "AnnualRevenue LIKE '5%'",
            "Account",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator on field: AnnualRevenue",
        ),
        (
            "IsWon > true",
            "Opportunity",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator on field: IsWon",
        ),
        (
            "COUNT(Id) > 1",
            "Account",
            "MALFORMED_QUERY",
            "Aggregate functions are not allowed in WHERE",
        ),
        (
            "Id IN (SELECT LastName FROM Contact)",
            "Account",
            "INVALID_FIELD",
            "Invalid field for semi/anti join: LastName. Must be an Id or reference.",
        ),
        (
            "Name IN (SELECT AccountId FROM Contact)",
            "Account",
            "INVALID_FIELD",
            "Invalid field for semi/anti join: Name. Must be an Id or reference.",
        ),
        (
            "Id IN (SELECT Id, AccountId FROM Contact)",
            "Account",
            "MALFORMED_QUERY",
            "The inner select field must be a single Id or reference field",
        ),
        (
            "Id IN (SELECT AccountId FROM Contactz)",
            "Account",
            "INVALID_TYPE",
            "sObject type 'Contactz' is not supported.",
        ),
    ],
)
def test_literal_type_errors(
    conn: sqlite3.Connection, schema: Schema, where: str, obj: str, code: str, detail: str
) -> None:
    err = error_of(conn, schema, where, obj)
    assert err.error_code == code
    assert err.detail.startswith(detail), err.detail


def test_type_error_caret_points_at_the_literal(conn: sqlite3.Connection, schema: Schema) -> None:
    err = error_of(conn, schema, "IsWon = 'yes'", "Opportunity")
    assert (err.row, err.column) == (1, 42)
    assert err.message.split("\n")[2] == " " * 41 + "^"


def test_parent_lookup_filters(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        f"SELECT LastName FROM Contact WHERE AccountId = '{A2}' OR AccountId = null ORDER BY LastName",
    )
    assert column(records, "LastName") == ["Lee", "O'Brien"]
    records = rows(conn, schema, f"SELECT Name FROM Opportunity WHERE Account.Id = '{A4}'")
    assert column(records, "Name") == ["Umbrella Renewal"]
