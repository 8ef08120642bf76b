"""Bulk throughput where latency rules: the same extract read page after page, then with the
listed result pages downloading ten at a time, against the fake org in realistic-latency
mode (50 ms a request, a results page served at 20,000 rows/s).

The rows are put straight into the fake org's record store (not the subject here); both
files are then read through the real Bulk 2.0 API and must be byte for byte the same.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console

from salesforce_typed import Salesforce
from salesforce_typed.demo.output import check, say

ROWS = 20_000
PAGE = 2_000
PREFIX = "Overlap "
SOQL = "SELECT Id, Name FROM Account WHERE Name LIKE 'Overlap %' ORDER BY Name"
LATENCY = {"rtt_ms": 50.0, "bulk_rows_per_s": 200_000.0, "bulk_results_rows_per_s": 20_000.0}


def bulk_overlap_tour(
    console: Console, sf: Salesforce, m: ModuleType, org: Any, folder: Path
) -> None:
    from salesforce_typed.testing.admin.latency import configure
    from salesforce_typed.testing.bulk2.jobs import settings
    from salesforce_typed.testing.org.store import store

    store(org.state).insert_many("Account", ({"Name": f"{PREFIX}{i:05d}"} for i in range(ROWS)))
    bulk_settings = settings(org.state)
    page_size = bulk_settings.default_max_records
    bulk_settings.default_max_records = PAGE  # ten pages, all listed at once
    configure(org.state, dict(LATENCY))
    stated = ", ".join(f"{key} {value:g}" for key, value in LATENCY.items())
    say(console, f"fake org in realistic-latency mode: {stated}")
    try:
        started = time.perf_counter()
        one = sf.bulk2.query_to_csv(SOQL, folder / "by-locator.csv", page_size=PAGE)
        by_locator = time.perf_counter() - started
        say(console, f"page after page by locator: {one.records:,} rows in {by_locator:.1f} s")
        started = time.perf_counter()
        parallel_csv = sf.bulk2.query_to_csv(SOQL, folder / "parallel.csv")
        parallel = time.perf_counter() - started
        say(console, f"listed pages, ten at a time (the default): {parallel_csv.records:,} rows in "
            f"{parallel:.1f} s ({by_locator / parallel:.1f}x)")  # fmt: skip
    finally:
        configure(org.state, {key: 0 for key in LATENCY})
        bulk_settings.default_max_records = page_size
    check(
        one.records == parallel_csv.records == ROWS,
        f"{one.records} and {parallel_csv.records} rows",
    )
    same = one.path.read_bytes() == parallel_csv.path.read_bytes()
    check(same, "the two files differ")
    say(console, "both files are byte for byte the same: result order, one header")
