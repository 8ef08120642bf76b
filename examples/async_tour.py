"""AsyncSalesforce: the same typed API, awaited; independent calls run concurrently.

    python examples/async_tour.py

Creates 20 Leads concurrently with asyncio.gather (the token is fetched once, under the
auth flow's lock), reads them back with `async for` over a lazily paged query, then
deletes them again, also concurrently.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time

from _connect import step, target

from salesforce_typed import AsyncSalesforce
from salesforce_typed_std import Lead

LEADS = 20


async def tour(sf: AsyncSalesforce, tag: str) -> int:
    step(f"create {LEADS} Leads concurrently (asyncio.gather over sf.create)")
    started = time.perf_counter()
    made = await asyncio.gather(
        *(
            sf.create(
                Lead(LastName=f"{tag} {i:02d}", Company="Async Co", Status="Open - Not Contacted")
            )
            for i in range(LEADS)
        )
    )
    print(f"{len(made)} created in {time.perf_counter() - started:.2f}s, e.g. {made[0].id}")

    try:
        step("read one back: await sf.get(Lead, id)")
        lead = await sf.get(Lead, made[0].id)
        print(f"{type(lead).__name__} LastName={lead.LastName!r} Company={lead.Company!r}")

        step("async for over a typed query (pages fetched as you iterate)")
        names = []
        query = sf.query(
            Lead,
            "SELECT Id, LastName FROM Lead WHERE LastName LIKE :p ORDER BY LastName",
            {"p": f"{tag}%"},
        )
        async for row in query:
            names.append(row.LastName)
        print(f"{len(names)} Leads (totalSize={query.total_size}): {names[0]} ... {names[-1]}")

        step("describe and limits, concurrently")
        describe, limits = await asyncio.gather(sf.describe(Lead), sf.limits())
        usage = limits["DailyApiRequests"]
        print(f"Lead has {len(describe.fields or ())} fields; DailyApiRequests {usage}")
        return 0 if len(names) >= LEADS else 1
    finally:
        step("clean up: delete concurrently")
        await asyncio.gather(*(sf.delete(Lead, m.id) for m in made))
        print(f"deleted {len(made)} Leads")


async def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org:
        async with org.async_client() as sf:
            code = await tour(sf, tag)
    print("\nasync_tour: done")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
