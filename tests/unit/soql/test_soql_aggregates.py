"""COUNT(), aggregate functions, GROUP BY / HAVING, AggregateResult shapes and their errors."""

from __future__ import annotations

import sqlite3

import pytest
from soql_org import A1, insert, rows, sfid

from salesforce_typed.testing.soql import Schema, SoqlError, execute_query

AGG = {"type": "AggregateResult"}


@pytest.mark.parametrize(
    ("soql", "total", "kw"),
    [
        ("SELECT COUNT() FROM Account", 4, {}),
        ("SELECT COUNT() FROM Account WHERE Industry = 'Energy'", 2, {}),
        ("SELECT COUNT() FROM Account LIMIT 1", 1, {}),
        ("SELECT COUNT() FROM Account", 5, {"include_deleted": True}),
        ("SELECT COUNT() FROM Account GROUP BY Industry", 3, {}),
        ("select count() from Contact where Account.Name = 'Acme'", 2, {}),
    ],
)
def test_count_star(
    conn: sqlite3.Connection, schema: Schema, soql: str, total: int, kw: dict[str, bool]
) -> None:
    result = execute_query(conn, schema, soql, **kw)
    assert result.total_size == total
    assert result.done
    assert list(result) == []
    assert result.next_page() == {"totalSize": total, "done": True, "records": []}


def test_count_of_field_and_distinct(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(
        conn, schema, "SELECT COUNT(Id), COUNT(Industry), COUNT_DISTINCT(Industry) FROM Account"
    )
    assert result.total_size == 1
    assert list(result) == [{"attributes": AGG, "expr0": 4, "expr1": 3, "expr2": 2}]


def test_group_by_with_every_function(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Industry, COUNT(Id) cnt, SUM(AnnualRevenue), AVG(NumberOfEmployees), "
        "MIN(CreatedDate), MAX(Name) FROM Account GROUP BY Industry ORDER BY Industry",
    )
    assert records == [
        {
            "attributes": AGG,
            "Industry": None,
            "cnt": 1,
            "expr0": None,
            "expr1": None,
            "expr2": "2023-12-31T23:30:00.000+0000",
            "expr3": "initech",
        },
        {
            "attributes": AGG,
            "Industry": "Energy",
            "cnt": 2,
            "expr0": 2500000.0,
            "expr1": 2525.0,
            "expr2": "2024-03-05T12:00:00.000+0000",
            "expr3": "Umbrella",
        },
        {
            "attributes": AGG,
            "Industry": "Technology",
            "cnt": 1,
            "expr0": 1250000.0,
            "expr1": 100.0,
            "expr2": "2024-01-10T09:00:00.000+0000",
            "expr3": "Acme",
        },
    ]
    assert list(records[0]) == ["attributes", "Industry", "cnt", "expr0", "expr1", "expr2", "expr3"]
    assert isinstance(records[1]["expr0"], float)


def test_value_types(conn: sqlite3.Connection, schema: Schema) -> None:
    (record,) = rows(
        conn, schema, "SELECT SUM(Lines__c), MAX(Total__c), MIN(Due__c) FROM Invoice__c"
    )
    assert record == {"attributes": AGG, "expr0": 4, "expr1": 250.0, "expr2": "2024-03-15"}
    assert isinstance(record["expr0"], int)
    won = rows(
        conn, schema, "SELECT IsWon, COUNT(Id) n FROM Opportunity GROUP BY IsWon ORDER BY IsWon"
    )
    assert [(r["IsWon"], r["n"]) for r in won] == [(False, 2), (True, 2)]


def test_group_by_parent_field_uses_field_name(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name ORDER BY Account.Name",
    )
    assert records == [
        {"attributes": AGG, "Name": None, "expr0": 1},
        {"attributes": AGG, "Name": "Acme", "expr0": 2},
        {"attributes": AGG, "Name": "Globex", "expr0": 1},
    ]


def test_grouped_field_alias(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT StageName stage, COUNT(Id) FROM Opportunity GROUP BY StageName ORDER BY StageName",
    )
    assert [(r["stage"], r["expr0"]) for r in records] == [
        ("Closed Won", 2),
        ("Negotiation", 1),
        ("Prospecting", 1),
    ]


def test_having_and_order_by_aggregate(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT AccountId, COUNT(Id) FROM Opportunity GROUP BY AccountId HAVING COUNT(Id) > 1",
    )
    assert records == [{"attributes": AGG, "AccountId": A1, "expr0": 2}]
    records = rows(
        conn,
        schema,
        "SELECT StageName, SUM(Amount) total FROM Opportunity GROUP BY StageName "
        "ORDER BY SUM(Amount) DESC NULLS LAST",
    )
    assert [(r["StageName"], r["total"]) for r in records] == [
        ("Closed Won", 3500.5),
        ("Prospecting", 500.0),
        ("Negotiation", None),
    ]
    records = rows(
        conn,
        schema,
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry "
        "HAVING Industry != null AND MAX(AnnualRevenue) > 1500000",
    )
    assert [r["Industry"] for r in records] == ["Energy"]


def test_limit_applies_to_groups(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(
        conn,
        schema,
        "SELECT Industry FROM Account GROUP BY Industry ORDER BY Industry DESC LIMIT 2",
    )
    assert result.total_size == 2
    assert [r["Industry"] for r in result] == ["Technology", "Energy"]


def test_grouping_ignores_case(conn: sqlite3.Connection, schema: Schema) -> None:
    insert(conn, schema, "Account", Id=sfid("001", 99), Name="Lowercase", Industry="energy")
    records = rows(
        conn,
        schema,
        "SELECT Industry, COUNT(Id) FROM Account WHERE Industry = 'ENERGY' GROUP BY Industry",
    )
    assert len(records) == 1
    assert records[0]["expr0"] == 3


def test_where_filters_before_grouping(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn,
        schema,
        "SELECT Account.Industry, SUM(Amount) FROM Opportunity WHERE IsWon = true GROUP BY Account.Industry ORDER BY Account.Industry",
    )
    assert [(r["Industry"], r["expr0"]) for r in records] == [
        ("Energy", 2500.5),
        ("Technology", 1000.0),
    ]


@pytest.mark.parametrize(
    ("soql", "detail"),
    [
        (
            "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry",
            "Field must be grouped or aggregated: Name",
        ),
        ("SELECT Name, COUNT(Id) FROM Account", "Field must be grouped or aggregated: Name"),
        (
            "SELECT Industry FROM Account GROUP BY Industry ORDER BY Name",
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT Industry FROM Account GROUP BY Industry HAVING Name = 'x'",
            "Field must be grouped or aggregated: Name",
        ),
        ("SELECT SUM(Name) FROM Account", "field Name does not support aggregate operator SUM"),
        (
            "SELECT AVG(CreatedDate) FROM Account",
            "field CreatedDate does not support aggregate operator AVG",
        ),
        (
            "SELECT MAX(IsWon) FROM Opportunity",
            "field IsWon does not support aggregate operator MAX",
        ),
        (
            "SELECT COUNT(BillingAddress) FROM Account",
            "field BillingAddress does not support aggregate operator COUNT",
        ),
        (
            "SELECT COUNT(Id), COUNT() FROM Account",
            "COUNT() must be the only element of the SELECT",
        ),
        ("SELECT COUNT(Id) c, SUM(AnnualRevenue) C FROM Account", "duplicate alias: C"),
        (
            "SELECT Industry, (SELECT Id FROM Contacts) FROM Account GROUP BY Industry",
            "Only fields and aggregates are allowed with GROUP BY",
        ),
        (
            "SELECT Id FROM Account ORDER BY COUNT(Id)",
            "Aggregate functions in ORDER BY need an aggregate query",
        ),
        (
            "SELECT Id, (SELECT COUNT(Id) FROM Contacts) FROM Account",
            "Aggregate functions are not allowed in this query",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contacts GROUP BY Id) FROM Account",
            "GROUP BY is not allowed in a subquery",
        ),
    ],
)
def test_aggregate_errors(conn: sqlite3.Connection, schema: Schema, soql: str, detail: str) -> None:
    with pytest.raises(SoqlError) as err:
        execute_query(conn, schema, soql)
    assert err.value.error_code == "MALFORMED_QUERY"
    assert err.value.detail == detail


def test_total_size_of_ungrouped_aggregates(conn: sqlite3.Connection, schema: Schema) -> None:
    assert execute_query(conn, schema, "SELECT MAX(Name) FROM Account").total_size == 1
    empty = execute_query(conn, schema, "SELECT MAX(Name) FROM Account WHERE Name = 'none'")
    assert empty.total_size == 1  # an aggregate over nothing is still one row of nulls
    assert list(empty) == [{"attributes": AGG, "expr0": None}]
    having = execute_query(conn, schema, "SELECT COUNT(Id) FROM Account HAVING COUNT(Id) > 10")
    assert having.total_size == 0
    assert list(having) == []
    with pytest.raises(SoqlError) as err:
        execute_query(conn, schema, "SELECT COUNT() FROM Account HAVING COUNT(Id) > 1")
    assert err.value.error_code == "MALFORMED_QUERY"


def test_aggregate_in_where_of_an_aggregate_query(conn: sqlite3.Connection, schema: Schema) -> None:
    with pytest.raises(SoqlError) as err:
        execute_query(
            conn, schema, "SELECT Industry FROM Account WHERE COUNT(Id) > 1 GROUP BY Industry"
        )
    assert err.value.detail == "Aggregate functions are not allowed in WHERE"
