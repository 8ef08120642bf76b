"""Bulk API 1.0: a streamed load split into batches, failures matched to their rows, and a
PK-chunked query streamed per result file.

    python examples/bulk_v1.py

Loads 120 Accounts from a generator (50 per batch, so three batches), one bad Contact next
to a good one, queries the Accounts back with PK chunking, and deletes everything again;
names carry a run tag so a real org's own data is not touched.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator

from _connect import step, target

from salesforce_typed.bulk1._sync.client import Bulk1
from salesforce_typed.bulk1.batches import BatchLimits
from salesforce_typed.jobs.polling import PollPolicy
from salesforce_typed_std import Account, Contact

LOADED = 120


def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org, org.client() as sf:
        poll = PollPolicy(initial=0.1, factor=1.5, maximum=5.0, timeout=900)
        bulk = Bulk1(sf, poll=poll, limits=BatchLimits(max_records=50))

        def accounts() -> Iterator[Account]:
            for i in range(LOADED):  # rows are encoded as they come: never all in memory
                yield Account(Name=f"{tag} {i:03d}", NumberOfEmployees=i)

        step(f"insert {LOADED} Accounts from a generator; batches cut at 50 records")
        loaded = bulk.insert(Account, accounts())
        account_ids = [r.id for r in loaded.succeeded if r.id]
        print(
            f"job {loaded.job.state}: {len(loaded.batches)} batches, "
            f"{len(loaded.succeeded)} succeeded, {len(loaded.failed)} failed; "
            f"reconciles: {loaded.reconciles}"
        )
        contact_ids: list[str] = []
        try:
            step("a failing row is a value, matched to the row that caused it (JSON batches)")
            people = [Contact(LastName=f"{tag} Ng"), Contact(FirstName=f"{tag} no last name")]
            mixed = bulk.insert(Contact, people, content_type="JSON")
            contact_ids = [r.id for r in mixed.succeeded if r.id]
            for row in mixed.rows:
                what = "ok" if row.success else f"{row.errors[0].code} {list(row.errors[0].fields)}"
                print(f"row {row.index} {row.input!r}: {what}")

            step("query them back with PK chunking: Id-range batches, streamed file by file")
            soql = "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE :tag"
            query = bulk.query(Account, soql, {"tag": f"{tag}%"}, page_size=100, pk_chunking=50)
            sizes = [len(page) for page in query.pages()]  # pages of at most page_size rows
            total = sum(sizes)
            states = [b.state for b in query.batches]
            print(f"{total} Accounts from {len(query.result_files)} result files; batches {states}")
            print(f"pages of {sizes}; query reconciles: {query.reconciles}")
        finally:
            step("clean up with bulk deletes")
            gone = bulk.delete(Account, account_ids)
            print(f"deleted {len(gone.succeeded)} Accounts")
            if contact_ids:
                bulk.delete(Contact, contact_ids)
    print("\nbulk_v1: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
