"""Bulk API 2.0 query, async: typed pages, a resumed locator, a stream, and a CSV file.

    python examples/bulk_v2_query.py

Loads 500 tagged Accounts with a Bulk insert, reads them back three ways (typed pages that
follow `Sforce-Locator`, an `async for` stream decoded as bytes arrive, one CSV file written
without holding the rows), resumes a half-read query from its saved locator, then deletes
the Accounts again. The sync `Bulk2` has the same methods without `await`.
"""

from __future__ import annotations

import asyncio
import csv
import secrets
import sys
import tempfile
from pathlib import Path

from _connect import step, target

from salesforce_typed.bulk import AsyncBulk2
from salesforce_typed_std import Account

ROWS = 500


async def tour(bulk: AsyncBulk2, tag: str) -> int:
    soql = "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE :tag ORDER BY Name"
    params = {"tag": f"{tag}%"}

    step("typed pages: each page is one Sforce-Locator's worth (page_size=200)")
    query = bulk.query(Account, soql, params, page_size=200)
    n = 0
    async for page in query.pages():
        n += 1
        head = page.records[0]
        print(f"page {n}: {len(page)} {type(head).__name__}s from {head.Name!r}, done={page.done}")
    print(f"job {query.job_id}: done={query.done}")

    step("resume: read a page, keep (job id, locator), carry on with a new query object")
    half = bulk.query(Account, soql, params, page_size=300)
    first = await anext(aiter(half.pages()))
    assert half.job_id is not None
    resumed = bulk.resume_query(half.job_id, Account, locator=half.locator, page_size=300)
    rest = [account async for account in resumed]
    print(f"first page {len(first)} + resumed {len(rest)} = {len(first) + len(rest)}")

    step("async for: rows decoded as the bytes arrive, one network chunk in memory")
    streamed = sum([1 async for _ in bulk.query(Account, soql, params)])
    print(f"streamed {streamed} Accounts")

    step("query_to_csv: every page into one file, the header once")
    with tempfile.TemporaryDirectory() as folder:
        out = await bulk.query_to_csv(soql, Path(folder) / "a.csv", params, page_size=150)
        with out.path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    print(f"{out.records} records, {out.bytes} bytes, header {rows[0]}, {len(rows) - 1} rows")
    return 0 if streamed == len(rows) - 1 == ROWS else 1


async def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org:
        async with org.async_client() as sf:
            bulk = AsyncBulk2(sf)
            step(f"seed {ROWS} Accounts tagged {tag!r} with a Bulk insert")
            seed = [Account(Name=f"{tag} {i:03d}", NumberOfEmployees=i) for i in range(ROWS)]
            async with await bulk.ingest(Account, seed) as loaded:
                ids = [row.id async for row in loaded.successful()]
            print(f"loaded {len(ids)}")
            try:
                code = await tour(bulk, tag)
            finally:
                step("clean up: bulk delete")
                gone = await bulk.ingest(Account, [{"Id": i} for i in ids], operation="delete")
                print(f"deleted {gone.counts.successful} Accounts")
                gone.close()
    print("\nbulk_v2_query: done")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
