"""Date and datetime literals: relative ranges at a fixed `now`, offsets, and field typing."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from soql_org import NOW, rows

from salesforce_typed.testing.soql import Schema, execute_query
from salesforce_typed.testing.soql.date_literals import resolve


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("literal", "n", "start", "end"),
    [
        ("TODAY", None, "2024-03-14", "2024-03-15"),
        ("YESTERDAY", None, "2024-03-13", "2024-03-14"),
        ("TOMORROW", None, "2024-03-15", "2024-03-16"),
        ("THIS_WEEK", None, "2024-03-10", "2024-03-17"),
        ("LAST_WEEK", None, "2024-03-03", "2024-03-10"),
        ("NEXT_WEEK", None, "2024-03-17", "2024-03-24"),
        ("THIS_MONTH", None, "2024-03-01", "2024-04-01"),
        ("LAST_MONTH", None, "2024-02-01", "2024-03-01"),
        ("NEXT_MONTH", None, "2024-04-01", "2024-05-01"),
        ("LAST_90_DAYS", None, "2023-12-15", "2024-03-15"),
        ("NEXT_90_DAYS", None, "2024-03-15", "2024-06-13"),
        ("THIS_QUARTER", None, "2024-01-01", "2024-04-01"),
        ("LAST_QUARTER", None, "2023-10-01", "2024-01-01"),
        ("NEXT_QUARTER", None, "2024-04-01", "2024-07-01"),
        ("THIS_YEAR", None, "2024-01-01", "2025-01-01"),
        ("LAST_YEAR", None, "2023-01-01", "2024-01-01"),
        ("NEXT_YEAR", None, "2025-01-01", "2026-01-01"),
        ("LAST_N_DAYS", 7, "2024-03-07", "2024-03-15"),
        ("NEXT_N_DAYS", 7, "2024-03-15", "2024-03-22"),
        ("N_DAYS_AGO", 3, "2024-03-11", "2024-03-12"),
        ("LAST_N_WEEKS", 2, "2024-02-25", "2024-03-10"),
        ("NEXT_N_WEEKS", 1, "2024-03-17", "2024-03-24"),
        ("N_WEEKS_AGO", 1, "2024-03-03", "2024-03-10"),
        ("LAST_N_MONTHS", 2, "2024-01-01", "2024-03-01"),
        ("NEXT_N_MONTHS", 2, "2024-04-01", "2024-06-01"),
        ("N_MONTHS_AGO", 14, "2023-01-01", "2023-02-01"),
        ("LAST_N_QUARTERS", 1, "2023-10-01", "2024-01-01"),
        ("NEXT_N_QUARTERS", 2, "2024-04-01", "2024-10-01"),
        ("N_QUARTERS_AGO", 1, "2023-10-01", "2024-01-01"),
        ("LAST_N_YEARS", 2, "2022-01-01", "2024-01-01"),
        ("NEXT_N_YEARS", 1, "2025-01-01", "2026-01-01"),
        ("N_YEARS_AGO", 1, "2023-01-01", "2024-01-01"),
        ("THIS_FISCAL_QUARTER", None, "2024-01-01", "2024-04-01"),
        ("LAST_N_FISCAL_YEARS", 1, "2023-01-01", "2024-01-01"),
        ("this_month", None, "2024-03-01", "2024-04-01"),
    ],
)
def test_resolve(literal: str, n: int | None, start: str, end: str) -> None:
    assert resolve(literal, n, NOW) == (d(start), d(end))


def test_resolve_uses_utc_and_week_starts_sunday() -> None:
    late_in_asia = dt.datetime(2024, 3, 15, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert resolve("TODAY", None, late_in_asia) == (d("2024-03-14"), d("2024-03-15"))
    assert resolve("TODAY", None, dt.datetime(2024, 3, 14, 23, 59)) == (
        d("2024-03-14"),
        d("2024-03-15"),
    )
    sunday = dt.datetime(2024, 3, 17, 0, 0, tzinfo=dt.UTC)
    saturday = dt.datetime(2024, 3, 16, 23, 0, tzinfo=dt.UTC)
    assert resolve("THIS_WEEK", None, sunday) == (d("2024-03-17"), d("2024-03-24"))
    assert resolve("THIS_WEEK", None, saturday) == (d("2024-03-10"), d("2024-03-17"))


def test_resolve_across_year_boundary() -> None:
    january = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    assert resolve("LAST_MONTH", None, january) == (d("2023-12-01"), d("2024-01-01"))
    assert resolve("LAST_QUARTER", None, january) == (d("2023-10-01"), d("2024-01-01"))
    assert resolve("NEXT_N_MONTHS", 12, january) == (d("2024-02-01"), d("2025-02-01"))


def opps(conn: sqlite3.Connection, schema: Schema, where: str) -> list[str]:
    records = rows(conn, schema, f"SELECT Name FROM Opportunity WHERE {where} ORDER BY Name")
    return [r["Name"] for r in records]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # CloseDate (date): Deal 03-10, Upsell 04-02, Big 02-28, Renewal 2023-12-15.
        ("CloseDate = THIS_MONTH", ["Acme Deal"]),
        ("CloseDate = LAST_MONTH", ["Globex Big"]),
        ("CloseDate = NEXT_MONTH", ["Acme Upsell"]),
        ("CloseDate = THIS_WEEK", ["Acme Deal"]),
        ("CloseDate = LAST_QUARTER", ["Umbrella Renewal"]),
        ("CloseDate = THIS_QUARTER", ["Acme Deal", "Globex Big"]),
        ("CloseDate < THIS_QUARTER", ["Umbrella Renewal"]),
        ("CloseDate <= THIS_MONTH", ["Acme Deal", "Globex Big", "Umbrella Renewal"]),
        ("CloseDate > THIS_MONTH", ["Acme Upsell"]),
        ("CloseDate >= THIS_MONTH", ["Acme Deal", "Acme Upsell"]),
        ("CloseDate != THIS_MONTH", ["Acme Upsell", "Globex Big", "Umbrella Renewal"]),
        ("CloseDate = LAST_N_DAYS:90", ["Acme Deal", "Globex Big", "Umbrella Renewal"]),
        ("CloseDate = LAST_90_DAYS", ["Acme Deal", "Globex Big", "Umbrella Renewal"]),
        ("CloseDate = LAST_N_DAYS:89", ["Acme Deal", "Globex Big"]),
        ("CloseDate = NEXT_N_DAYS:30", ["Acme Upsell"]),
        ("CloseDate = N_DAYS_AGO:4", ["Acme Deal"]),
        ("CloseDate = LAST_N_MONTHS:1", ["Globex Big"]),
        ("CloseDate = NEXT_N_MONTHS:1", ["Acme Upsell"]),
        ("CloseDate IN (LAST_MONTH, NEXT_MONTH)", ["Acme Upsell", "Globex Big"]),
        ("CloseDate NOT IN (LAST_MONTH, NEXT_MONTH)", ["Acme Deal", "Umbrella Renewal"]),
        ("CloseDate = 2024-03-10", ["Acme Deal"]),
        ("CloseDate > 2024-03-10", ["Acme Upsell"]),
        ("CloseDate IN (2024-03-10, 2024-02-28)", ["Acme Deal", "Globex Big"]),
        # CreatedDate (datetime): Deal 02-01T10:00Z, Upsell 03-13T23:59:59Z,
        # Big 2023-11-20T08:00Z, Renewal 03-14T00:00:00Z.
        ("CreatedDate = TODAY", ["Umbrella Renewal"]),
        ("CreatedDate = YESTERDAY", ["Acme Upsell"]),
        ("CreatedDate = LAST_N_DAYS:1", ["Acme Upsell", "Umbrella Renewal"]),
        ("CreatedDate = THIS_YEAR", ["Acme Deal", "Acme Upsell", "Umbrella Renewal"]),
        ("CreatedDate < TODAY", ["Acme Deal", "Acme Upsell", "Globex Big"]),
        ("CreatedDate > YESTERDAY", ["Umbrella Renewal"]),
        ("CreatedDate < 2024-03-14T00:00:00Z", ["Acme Deal", "Acme Upsell", "Globex Big"]),
        ("CreatedDate >= 2024-03-14T01:00:00+01:00", ["Umbrella Renewal"]),
        ("CreatedDate = 2024-02-01T11:00:00+01:00", ["Acme Deal"]),
        ("CreatedDate = 2024-02-01T10:00:00.000Z", ["Acme Deal"]),
        ("CreatedDate >= 2024-03-13T18:00:00-0600", ["Umbrella Renewal"]),
        ("CreatedDate > 2024-03-13T18:00:00-0600", []),
    ],
)
def test_date_filters(
    conn: sqlite3.Connection, schema: Schema, where: str, expected: list[str]
) -> None:
    assert opps(conn, schema, where) == expected


def test_stored_offsets_were_normalised(conn: sqlite3.Connection, schema: Schema) -> None:
    # initech was written as 2024-01-01T00:30:00+01:00, i.e. 2023 in UTC.
    records = rows(
        conn, schema, "SELECT Name, CreatedDate FROM Account WHERE CreatedDate = LAST_YEAR"
    )
    assert records[0]["Name"] == "initech"
    assert records[0]["CreatedDate"] == "2023-12-31T23:30:00.000+0000"


def test_date_field_values_and_filters(conn: sqlite3.Connection, schema: Schema) -> None:
    records = rows(
        conn, schema, "SELECT LastName, Birthdate FROM Contact WHERE Birthdate < 1989-01-01"
    )
    assert [(r["LastName"], r["Birthdate"]) for r in records] == [("Jones", "1985-03-14")]


def test_moving_now_moves_the_range(conn: sqlite3.Connection, schema: Schema) -> None:
    april = dt.datetime(2024, 4, 2, 12, 0, tzinfo=dt.UTC)
    records = rows(conn, schema, "SELECT Name FROM Opportunity WHERE CloseDate = TODAY", now=april)
    assert [r["Name"] for r in records] == ["Acme Upsell"]


def test_default_now_is_the_wall_clock(conn: sqlite3.Connection, schema: Schema) -> None:
    # Every close date lies before next year, whenever this runs (after 2024).
    result = execute_query(conn, schema, "SELECT Id FROM Opportunity WHERE CloseDate < NEXT_YEAR")
    assert result.total_size == 4
