"""ORDER BY with nulls, LIMIT/OFFSET, queryAll, lazy paging of large results, and a
200k-row smoke test (never timed)."""

from __future__ import annotations

import inspect
import itertools
import sqlite3
from typing import Any

import pytest
from soql_org import NOW, column, rows, sfid

from salesforce_typed.testing.soql import QueryResult, Schema, execute_query


def names(conn: sqlite3.Connection, schema: Schema, tail: str, **kw: Any) -> list[str]:
    return column(rows(conn, schema, f"SELECT Name FROM Account {tail}", **kw), "Name")  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("Industry, Name", ["initech", "Globex", "Umbrella", "Acme"]),  # ASC: nulls first
        ("Industry DESC, Name", ["Acme", "Globex", "Umbrella", "initech"]),  # DESC: nulls last
        ("Industry ASC NULLS LAST, Name", ["Globex", "Umbrella", "Acme", "initech"]),
        ("Industry DESC NULLS FIRST, Name DESC", ["initech", "Acme", "Umbrella", "Globex"]),
        ("Industry ASC NULLS FIRST, Name", ["initech", "Globex", "Umbrella", "Acme"]),
        ("Name", ["Acme", "Globex", "initech", "Umbrella"]),  # case-insensitive
        ("name DESC", ["Umbrella", "initech", "Globex", "Acme"]),
        ("AnnualRevenue DESC", ["Umbrella", "Acme", "Globex", "initech"]),
        ("AnnualRevenue", ["initech", "Globex", "Acme", "Umbrella"]),
        ("Owner.Name DESC NULLS LAST, Name", ["Globex", "Acme", "initech", "Umbrella"]),
        ("CreatedDate DESC", ["Umbrella", "Globex", "Acme", "initech"]),
    ],
)
def test_order_by(
    conn: sqlite3.Connection, schema: Schema, order: str, expected: list[str]
) -> None:
    assert names(conn, schema, f"ORDER BY {order}") == expected


@pytest.mark.parametrize(
    ("tail", "expected", "total"),
    [
        ("ORDER BY Name LIMIT 2", ["Acme", "Globex"], 2),
        ("ORDER BY Name LIMIT 2 OFFSET 1", ["Globex", "initech"], 2),
        ("ORDER BY Name OFFSET 3", ["Umbrella"], 1),
        ("ORDER BY Name LIMIT 10 OFFSET 10", [], 0),
        ("ORDER BY Name LIMIT 0", [], 0),
        ("ORDER BY Name LIMIT 100", ["Acme", "Globex", "initech", "Umbrella"], 4),
    ],
)
def test_limit_offset_and_total_size(
    conn: sqlite3.Connection, schema: Schema, tail: str, expected: list[str], total: int
) -> None:
    result = execute_query(conn, schema, f"SELECT Name FROM Account {tail}", now=NOW)
    assert result.total_size == total
    assert [r["Name"] for r in result] == expected


def test_query_all_includes_deleted_rows(conn: sqlite3.Connection, schema: Schema) -> None:
    assert "Deleted Co" not in names(conn, schema, "")
    assert names(conn, schema, "WHERE IsDeleted = true") == []
    assert names(conn, schema, "WHERE IsDeleted = true", include_deleted=True) == ["Deleted Co"]
    everything = rows(
        conn, schema, "SELECT Name, IsDeleted FROM Account ORDER BY Name", include_deleted=True
    )
    assert [(r["Name"], r["IsDeleted"]) for r in everything][:2] == [
        ("Acme", False),
        ("Deleted Co", True),
    ]
    result = execute_query(conn, schema, "SELECT Id FROM Account", include_deleted=True)
    assert result.total_size == 5


def test_fetch_done_and_next_page(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(conn, schema, "SELECT Name FROM Account ORDER BY Name")
    assert not result.done
    assert [r["Name"] for r in result.fetch(3)] == ["Acme", "Globex", "initech"]
    assert not result.done
    page = result.next_page(3)
    assert page["totalSize"] == 4
    assert page["done"] is True
    assert [r["Name"] for r in page["records"]] == ["Umbrella"]  # type: ignore[union-attr,index]
    assert result.done
    assert result.fetch(3) == []
    assert result.returned == 4
    with pytest.raises(ValueError):
        result.fetch(0)


def test_fetch_one_at_a_time(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(conn, schema, "SELECT Name FROM Account ORDER BY Name")
    assert [result.fetch(1)[0]["Name"] for _ in range(4)] == [
        "Acme",
        "Globex",
        "initech",
        "Umbrella",
    ]
    assert result.done


def test_exact_page_boundary_reports_done(conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(conn, schema, "SELECT Name FROM Account")
    assert len(result.fetch(4)) == 4
    assert result.done  # known without another round trip


def test_empty_result(empty_conn: sqlite3.Connection, schema: Schema) -> None:
    result = execute_query(empty_conn, schema, "SELECT Name FROM Account")
    assert result.total_size == 0
    assert result.done
    assert list(result) == []


def test_row_factory_of_the_connection_is_ignored(conn: sqlite3.Connection, schema: Schema) -> None:
    conn.row_factory = sqlite3.Row
    assert names(conn, schema, "ORDER BY Name LIMIT 1") == ["Acme"]


class CountingCursor:
    """Wraps a real cursor and counts the rows handed out to the engine."""

    def __init__(self, cursor: sqlite3.Cursor, owner: CountingConnection) -> None:
        self._cursor = cursor
        self._owner = owner
        self.row_factory = None

    def execute(self, sql: str, params: Any) -> CountingCursor:
        self._cursor.row_factory = self.row_factory
        self._cursor.execute(sql, params)
        self._owner.statements += 1
        return self

    def fetchone(self) -> Any:
        row = self._cursor.fetchone()
        self._owner.rows_read += row is not None
        return row

    def fetchmany(self, size: int) -> list[Any]:
        batch = self._cursor.fetchmany(size)
        self._owner.rows_read += len(batch)
        return batch

    def fetchall(self) -> list[Any]:
        batch = self._cursor.fetchall()
        self._owner.rows_read += len(batch)
        return batch

    def close(self) -> None:
        self._cursor.close()


class CountingConnection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.rows_read = 0
        self.statements = 0

    def cursor(self) -> CountingCursor:
        return CountingCursor(self._conn.cursor(), self)


def fill_contacts(conn: sqlite3.Connection, count: int, accounts: int) -> None:
    conn.executemany(
        'INSERT INTO "Account" ("Id", "Name") VALUES (?, ?)',
        ((sfid("001", i), f"Account {i:05d}") for i in range(accounts)),
    )
    conn.executemany(
        'INSERT INTO "Contact" ("Id", "LastName", "AccountId") VALUES (?, ?, ?)',
        ((sfid("003", i), f"Last {i:06d}", sfid("001", i % accounts)) for i in range(count)),
    )
    conn.commit()


def test_large_result_is_read_lazily(empty_conn: sqlite3.Connection, schema: Schema) -> None:
    fill_contacts(empty_conn, 50_000, 10)
    proxy = CountingConnection(empty_conn)
    result = QueryResult(
        proxy,  # type: ignore[arg-type]
        execute_query(
            empty_conn, schema, "SELECT Id, LastName FROM Contact ORDER BY LastName DESC"
        ).compiled,
    )
    records = result.records
    assert inspect.isgenerator(records)
    assert proxy.rows_read == 0  # nothing runs before the first record is asked for
    first = list(itertools.islice(records, 10))
    assert [r["LastName"] for r in first[:2]] == ["Last 049999", "Last 049998"]
    assert proxy.rows_read <= 2001  # one page plus the look-ahead row, not 50,000
    assert result.total_size == 50_000
    before = proxy.rows_read
    page = result.fetch(500)
    assert len(page) == 500
    assert proxy.rows_read - before <= 500
    # Paging to the end returns every row once, in order.
    seen = [r["LastName"] for r in first] + [r["LastName"] for r in page]
    for batch in result.pages(2000):
        seen.extend(r["LastName"] for r in batch)
    # The generator buffered the rest of its first page: it still yields it afterwards.
    seen.extend(r["LastName"] for r in records)
    assert len(seen) == len(set(seen)) == 50_000
    assert result.done


def test_child_subqueries_run_once_per_page(empty_conn: sqlite3.Connection, schema: Schema) -> None:
    fill_contacts(empty_conn, 5_000, 1_000)
    proxy = CountingConnection(empty_conn)
    compiled = execute_query(
        empty_conn,
        schema,
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 2) FROM Account ORDER BY Name",
    ).compiled
    result = QueryResult(proxy, compiled)  # type: ignore[arg-type]
    pages = list(result.pages(200))
    assert [len(p) for p in pages] == [200] * 5
    assert proxy.statements == 1 + 5  # the main query, then one child query per page
    first = pages[0][0]
    assert first["Name"] == "Account 00000"
    assert first["Contacts"]["totalSize"] == 2
    assert [c["LastName"] for c in first["Contacts"]["records"]] == ["Last 000000", "Last 001000"]


def test_200k_rows_filtered_ordered_limited(empty_conn: sqlite3.Connection, schema: Schema) -> None:
    industries = ["Energy", "Technology", None, "Retail"]
    empty_conn.executemany(
        'INSERT INTO "Account" ("Id", "Name", "Industry", "AnnualRevenue", "CreatedDate") '
        "VALUES (?, ?, ?, ?, ?)",
        (
            (
                sfid("001", i),
                f"Company {(i * 7919) % 200_000:06d}",
                industries[i % 4],
                float(i * 10),
                f"2024-01-{1 + i % 28:02d}T00:00:00.000+0000",
            )
            for i in range(200_000)
        ),
    )
    empty_conn.commit()
    result = execute_query(
        empty_conn,
        schema,
        "SELECT Id, Name, AnnualRevenue FROM Account WHERE Industry = 'energy' "
        "AND AnnualRevenue > 1000000 AND CreatedDate = THIS_YEAR "
        "ORDER BY AnnualRevenue DESC, Name LIMIT 5",
        now=NOW,
    )
    top = [i for i in range(199_999, -1, -1) if i % 4 == 0 and i * 10 > 1_000_000][:5]
    assert [r["Id"] for r in result] == [sfid("001", i) for i in top]
    assert result.total_size == 5
    count = execute_query(
        empty_conn, schema, "SELECT COUNT() FROM Account WHERE Industry = 'Energy'"
    )
    assert count.total_size == 50_000
    first = execute_query(empty_conn, schema, "SELECT Name FROM Account ORDER BY Name LIMIT 3")
    assert [r["Name"] for r in first] == ["Company 000000", "Company 000001", "Company 000002"]
