"""Composite: up to 25 dependent subrequests in one API call, built with typed references.

    python examples/composite.py

1. An Account, a Contact pointing at it (`AccountId=acc.id` is `@{acc.id}`), a read of
   the Contact and a query, all or none, in one round trip.
2. The same shape with a broken Contact: everything rolls back; the failing item shows its
   own error, the others PROCESSING_HALTED.
"""

from __future__ import annotations

import secrets
import sys

from _connect import step, target

from salesforce_typed import CompositeRequest
from salesforce_typed.rest.soql import bind
from salesforce_typed_std import Account, Contact


def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org, org.client() as sf:
        step("build: create Account -> create Contact(AccountId=@{acc.id}) -> get -> query")
        req = CompositeRequest(all_or_none=True)
        acc = req.create(Account(Name=f"{tag} Composite Co"), ref="acc")
        con = req.create(Contact(LastName="Ng", AccountId=acc.id), ref="con")
        read = req.get(Contact, con.id, ["LastName", "AccountId"], ref="read")
        soql = bind("SELECT Id, Name FROM Account WHERE Name = :n", {"n": f"{tag} Composite Co"})
        rows = req.query(soql, Account, ref="rows")
        print(f"{len(req)} subrequests; the Contact's AccountId is sent as {acc.id!r}")

        step("send: one POST /composite, one API call")
        result = sf.composite(req)
        print(f"ok={result.ok}")
        for sub in result:
            print(f"  {sub.reference_id}: {sub.status_code}")
        account_id = result.created_id(acc)
        contact = result.record(read)
        print(f"Account {account_id}; Contact {contact.LastName} -> AccountId {contact.AccountId}")
        print(f"query in the same call saw: {[a.Name for a in result.records(rows)]}")

        step("allOrNone: a Contact without LastName fails, so nothing is committed")
        bad = CompositeRequest(all_or_none=True)
        acc2 = bad.create(Account(Name=f"{tag} Rolled Back"), ref="acc2")
        bad.create(Contact(FirstName="No last name", AccountId=acc2.id), ref="broken")
        failed = sf.composite(bad)
        print(f"ok={failed.ok}")
        for ref, error in failed.errors().items():
            print(f"  {ref}: {error.status_code} {error.error_code}")
        causes = failed.errors(include_rollback=False)
        print(f"the cause, rollback markers left out: {sorted(causes)}")
        left = sf.query(
            Account, "SELECT Id FROM Account WHERE Name = :n", {"n": f"{tag} Rolled Back"}
        )
        print(f"Accounts named '{tag} Rolled Back' after the rollback: {len(left.all())}")

        step("clean up")
        sf.delete(Account, account_id)  # its Contact goes with it
        print(f"deleted Account {account_id}")
        if not result.ok or failed.ok:
            return 1
    print("\ncomposite: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
