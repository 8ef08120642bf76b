"""Typed columnar data: a 1,000,000-row Bulk 2.0 extract to Parquet, then DuckDB over it.

The rows are put straight into the fake org's record store first (a Bulk 2.0 ingest of a
million Opportunities took 28.5 s on this 2-core machine, client and fake org in one process,
the extract about 12 s: the demo stays short); everything
after that is the real Bulk 2.0 API: a query job whose listed result pages download four at
a time while each becomes an Arrow record batch typed from the generated model (Amount
decimal(18,2), CloseDate date, StageName a dictionary, CreatedDate a UTC timestamp), one
Parquet row group per page, memory flat.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console

from salesforce_typed import Salesforce
from salesforce_typed.demo.bulk import _bar
from salesforce_typed.demo.output import check, say

ROWS = 1_000_000
PREFIX = "Columnar "
STAGES = ("Prospecting", "Qualification", "Closed Won")
SOQL = (
    "SELECT Id, Name, Amount, StageName, CloseDate, CreatedDate FROM Opportunity "
    "WHERE Name LIKE 'Columnar %'"
)


def _amount(i: int) -> Decimal:
    return Decimal(i % 1_000_000) / 100


def _seed(org: Any, rows: int) -> None:
    """Rows straight into the fake org's store (not an API call: see the module docstring)."""
    from salesforce_typed.testing.org.store import store

    day = dt.date(2026, 1, 1)
    store(org.state).insert_many(
        "Opportunity",
        (
            {
                "Name": f"{PREFIX}{i:07d}",
                "Amount": float(_amount(i)),
                "StageName": STAGES[i % 3],
                "CloseDate": (day + dt.timedelta(days=i % 365)).isoformat(),
            }
            for i in range(rows)
        ),
    )


def columnar_tour(
    console: Console, sf: Salesforce, m: ModuleType, org: Any, folder: Path, rows: int = ROWS
) -> None:
    import duckdb

    from salesforce_typed.columnar import arrow_batches, write_parquet

    started = time.perf_counter()
    _seed(org, rows)
    say(console, f"{rows:,} Opportunities put in the fake org's store ({_since(started)})")
    path = folder / "opportunities.parquet"
    started = time.perf_counter()
    with _bar(console, "extract to Parquet", rows) as follow:
        query = sf.bulk2.query(m.Opportunity, SOQL, parallel=4, progress=follow)
        written = write_parquet(arrow_batches(query), path)
    check(written.rows == rows, f"{written.rows} rows written, not {rows}")
    say(
        console,
        f"bulk2 query -> arrow_batches -> write_parquet: {written.rows:,} rows, "
        f"{written.bytes / 1e6:.1f} MB in {_since(started)}",
    )
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
    types = {str(row[0]): str(row[1]) for row in described}
    shown = ", ".join(
        f"{k} {types[k]}" for k in ("Amount", "StageName", "CloseDate", "CreatedDate")
    )
    say(console, f"DuckDB reads the declared types: {shown}")
    check(types["Amount"] == "DECIMAL(18,2)", f"Amount read as {types['Amount']}")
    query_text = (
        "SELECT StageName, count(*) AS n, sum(Amount) AS amount "
        f"FROM '{path}' GROUP BY StageName ORDER BY StageName"
    )
    say(console, f"duckdb: {query_text.replace(str(path), path.name)}")
    result = con.execute(query_text).fetchall()
    for stage, n, amount in result:
        say(console, f"  {stage:<14} {n:>9,}  {amount:>18,}")
    expected = sum((_amount(i) for i in range(rows)), Decimal(0))
    total = sum((amount for _, _, amount in result), Decimal(0))
    check(total == expected, f"the amounts sum to {total}, not {expected}")
    say(console, f"the amounts add up exactly: {total:,} (decimal, never float)")


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"
