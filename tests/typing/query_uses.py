"""Correct query-builder uses: mypy --strict finds nothing here, and the revealed types are
checked with assert_type (tests/typing/test_query_builder_mypy.py)."""

from __future__ import annotations

import datetime as dt
from typing import assert_type

from salesforce_typed import Salesforce
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core.unset import UnsetType
from salesforce_typed.query import count, literals, select, sum_
from salesforce_typed.query.builder import Select
from salesforce_typed_std import (
    Account,
    AccountCleanStatusPicklist,
    AccountIndustryPicklist,
    Contact,
    User,
)

q = (
    select(Account)
    .where(
        Account.Industry == AccountIndustryPicklist.BANKING,
        Account.AnnualRevenue > 1_000_000,
        Account.CreatedDate > literals.LAST_N_DAYS(30),
        Account.LastActivityDate < dt.date(2024, 1, 1),
        Account.Name.like("A%") | Account.Name.in_(["B", "C"]),
        Account.Industry == None,  # noqa: E711
    )
    .order_by(Account.Name.desc().nulls_last(), Account.Id)
    .limit(100)
    .offset(5)
)
assert_type(q, Select[Account, Account])

rows = select(Account.Id, Account.Name, Account.Owner.Name, Account.AnnualRevenue)
# Id, Name and the owner's Name are never null (Owner is required); AnnualRevenue may be.
assert_type(rows, Select[Account, tuple[str, str, str, float | None]])

via_lookup = select(Contact.LastName, Contact.Account.Name)
# Account.Name is never null, but Contact.AccountId is optional: the path may be null.
assert_type(via_lookup, Select[Contact, tuple[str, str | None]])

agg = select(Account.Industry, count(Account.Id), sum_(Account.AnnualRevenue)).group_by(
    Account.Industry
)
assert_type(agg, Select[Account, tuple[AccountIndustryPicklist | str | None, int, float | None]])

busy = (
    select(Account.Industry, count(Account.Id))
    .group_by(Account.Industry)
    .having(count(Account.Id) > 1)
)
semi = select(Account.Name).where(Account.Id.in_(select(Contact.AccountId)))
assert_type(semi, Select[Account, tuple[str]])

with_children = select(
    Account, Account.Contacts.select(Contact.LastName).where(Contact.LastName != "x").limit(5)
)
assert_type(with_children, Select[Account, Account])

acc = Account(Name="Acme", CleanStatus=AccountCleanStatusPicklist.MATCHED, Industry="Custom")
assert_type(acc.Name, str | None | UnsetType)  # a record's read type keeps None and UNSET
assert_type(acc.require.Name, str)
assert_type(acc.require.Owner, User)
acc.Name = "Renamed"
acc.CleanStatus = AccountCleanStatusPicklist.PENDING


def read(sf: Salesforce) -> list[str]:
    pager = sf.query(rows)
    assert_type(pager, Pager[tuple[str, str, str, float | None]])
    out = [name.upper() for _, name, _, _ in pager]
    out += [a.require.Name for a in sf.bulk2.query(q)]
    out += [r[1] for r in sf.soap.query(rows).all()]
    out += [r[1] for r in sf.bulk1.query(rows).all()]
    return out
