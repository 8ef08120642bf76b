"""SOQL, typed: a lazy iterator, safe binds, paging, a child subquery and queryAll.

    python examples/query.py

Seeds 250 Accounts (one with two Contacts) through sObject Collections, queries them, and
deletes them again; every name carries a run tag so a real org's own data is not touched.
"""

from __future__ import annotations

import secrets
import sys

from _connect import step, target

from salesforce_typed import RelatedList
from salesforce_typed_std import Account, Contact

SEEDED = 250


def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org, org.client() as sf:
        step(f"seed {SEEDED} Accounts tagged {tag!r} (create_many: 200 per request)")
        results = sf.create_many([Account(Name=f"{tag} {i:03d}") for i in range(SEEDED)])
        ids = [r.id for r in results if r.success and r.id]
        print(f"created {len(ids)} of {SEEDED}")
        parent = ids[0]
        sf.create_many(
            [Contact(LastName="Ng", AccountId=parent), Contact(LastName="Okafor", AccountId=parent)]
        )
        try:
            step("a typed, lazy iterator with a bind: `:prefix` is quoted for you")
            soql = "SELECT Id, Name, CreatedDate FROM Account WHERE Name LIKE :prefix ORDER BY Name"
            query = sf.query(Account, soql, {"prefix": f"{tag}%"})
            first = query.first()
            assert first is not None
            print(f"first row: {type(first).__name__} Name={first.Name!r} at {first.CreatedDate}")
            hostile = "x' OR Name != null OR Name = 'y"
            matches = sf.query(Account, "SELECT Id FROM Account WHERE Name = :n", {"n": hostile})
            print(f"an injection attempt as a bind value matches {len(matches.all())} rows")

            step("paging: batchSize=200, nextRecordsUrl followed only as you iterate")
            paged = sf.query(Account, soql, {"prefix": f"{tag}%"}, page_size=200)
            for n, page in enumerate(paged.pages(), 1):
                print(
                    f"page {n}: {len(page.records)} records, done={page.done}, "
                    f"totalSize={page.total_size}"
                )
            count = sum(1 for _ in sf.query(Account, soql, {"prefix": f"{tag}%"}, page_size=200))
            print(f"iterating record by record: {count} Accounts")

            step("a child subquery: Account.Contacts is a typed RelatedList[Contact]")
            row = sf.query(
                Account,
                "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) "
                "FROM Account WHERE Id = :id",
                {"id": parent},
            ).first()
            assert row is not None and isinstance(row.Contacts, RelatedList)
            names = [c.LastName for c in row.Contacts.records]
            print(f"{row.Name}: {row.Contacts.totalSize} contacts {names}")

            step("queryAll: deleted rows too (IsDeleted = true)")
            sf.delete(Account, ids[-1])
            gone = "SELECT Id, IsDeleted FROM Account WHERE Id = :id"
            live = sf.query(Account, gone, {"id": ids[-1]}).all()
            every = sf.query_all(Account, gone, {"id": ids[-1]}).all()
            print(f"query: {len(live)} rows; queryAll: {[(a.Id, a.IsDeleted) for a in every]}")
            ids.pop()
        finally:
            step("clean up: delete_many")
            deleted = sf.delete_many(ids)
            print(f"deleted {sum(r.success for r in deleted)} Accounts (their Contacts cascade)")
    print("\nquery: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
