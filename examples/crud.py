"""Typed CRUD: create, get, update, upsert and delete one Account.

    python examples/crud.py            # against a fresh fake org
    SF_INSTANCE_URL=... python examples/crud.py   # against a real org (see README.md)

It deletes what it creates, so a real org is left as it was.
"""

from __future__ import annotations

import sys

from _connect import step, target

from salesforce_typed import UNSET, NotFoundError
from salesforce_typed_std import Account, AccountIndustryPicklist


def main() -> int:
    with target() as org, org.client() as sf:
        step("create: POST /sobjects/Account with the fields that are set")
        new = Account(
            Name="salesforce-typed example: Acme",
            Industry=AccountIndustryPicklist.BANKING,
            AnnualRevenue=1_250_000.0,
            Website=None,  # None sends null; fields left UNSET are not sent at all
        )
        print(f"payload: {new.to_create_payload()}")
        created = sf.create(new)
        print(f"created Account {created.id}")

        step("get: the whole record, typed")
        acc = sf.get(Account, created.id)
        print(f"Name={acc.Name!r} Industry={acc.Industry!r} AnnualRevenue={acc.AnnualRevenue}")
        print(f"CreatedDate={acc.CreatedDate!r} (a tz-aware datetime)")
        slim = sf.get(Account, created.id, ["Name"])
        print(f"get with fields=Name: Industry is UNSET (not selected): {slim.Industry is UNSET}")

        step("update: PATCH only what is set on the model")
        sf.update(Account(Id=created.id, BillingCity="Paris", Industry=None))
        acc = sf.get(Account, created.id, ["BillingCity", "Industry"])
        print(f"BillingCity={acc.BillingCity!r} Industry={acc.Industry!r} (cleared with None)")

        step("upsert by Id: PATCH /sobjects/Account/Id/<id>")
        upserted = sf.upsert(Account(NumberOfEmployees=42), "Id", created.id)
        print(f"upsert id={upserted.id} created={upserted.created} (an update: 200)")
        employees = sf.get(Account, created.id, ["NumberOfEmployees"]).NumberOfEmployees
        print(f"NumberOfEmployees={employees}")

        step("delete, then get: a typed NotFoundError carrying errorCode")
        sf.delete(Account, created.id)
        try:
            sf.get(Account, created.id)
        except NotFoundError as exc:
            print(f"NotFoundError status={exc.status_code} error_code={exc.error_code}")
        else:
            print("the record is still readable: unexpected")
            return 1
    print("\ncrud: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
