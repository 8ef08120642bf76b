"""One query object through REST, SOAP, Bulk 2.0 and Bulk 1.0 against the fake org (real
sockets): the same rows, typed as the builder says, sync and async."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce
from salesforce_typed.query import count, literals, select, sum_
from salesforce_typed_std import Account, AccountIndustryPicklist, Contact

APIS = ["rest", "soap", "bulk2", "bulk1"]


def _api(sf: Salesforce, name: str) -> Any:
    return sf if name == "rest" else getattr(sf, name)


BANKING = (
    select(Account.Name, Account.AnnualRevenue, Account.Owner.Name, Account.Industry)
    .where(Account.Industry == AccountIndustryPicklist.BANKING)
    .order_by(Account.Name)
)
BANKING_ROWS = (
    ("Acme", 2_000_000.0, "Org Admin", AccountIndustryPicklist.BANKING),
    ("Globex", 500_000.0, "Org Admin", AccountIndustryPicklist.BANKING),
)


@pytest.mark.parametrize("api", APIS)
def test_projection_gives_the_same_typed_rows_on_every_api(sf: Salesforce, api: str) -> None:
    rows = _api(sf, api).query(BANKING).all()
    assert rows == list(BANKING_ROWS)
    for row in rows:
        assert type(row) is tuple
        assert [type(v) for v in row] == [str, float, str, AccountIndustryPicklist]


@pytest.mark.parametrize("api", APIS)
def test_model_rows_and_escaped_values(sf: Salesforce, api: str) -> None:
    q = select(Account).where(Account.Name == "O'Hare & Sons")
    (acc,) = _api(sf, api).query(q).all()
    assert isinstance(acc, Account)
    assert acc.require.Name == "O'Hare & Sons"
    assert acc.Industry is None and isinstance(acc.require.CreatedDate, dt.datetime)


def test_parent_path_null_lookup_reads_none(sf: Salesforce) -> None:
    q = select(Contact.LastName, Contact.Account.Name).where(
        Contact.Account.Name.like("O%") | Contact.LastName.in_(["Nobody"])
    )
    assert sorted(sf.query(q).all()) == [
        ("Jones of O'Hare & Sons", "O'Hare & Sons"),
        ("Smith of O'Hare & Sons", "O'Hare & Sons"),
    ]
    orphan = sf.create(Contact(LastName="Orphan"))
    q2 = select(Contact.LastName, Contact.Account.Name).where(Contact.Id == orphan.id)
    assert sf.query(q2).all() == [("Orphan", None)]


def test_child_subquery_rows(sf: Salesforce) -> None:
    q = select(
        Account,
        Account.Contacts.select(Contact.LastName).order_by(Contact.LastName).limit(1),
    ).where(
        Account.AnnualRevenue > 1_000_000,
        Account.CreatedDate == literals.LAST_N_DAYS(1),  # within the range (`>`: after it)
    )
    got = {a.require.Name: [c.LastName for c in a.require.Contacts.records] for a in sf.query(q)}
    assert got == {"Acme": ["Jones of Acme"], "Initech": ["Jones of Initech"]}


def test_aggregate_rows(sf: Salesforce) -> None:
    q = (
        select(Account.Industry, count(Account.Id), sum_(Account.AnnualRevenue))
        .where(Account.Name.in_(["Acme", "Globex", "Initech", "O'Hare & Sons"]))
        .group_by(Account.Industry)
        .order_by(Account.Industry.asc().nulls_first())
    )
    assert sf.query(q).all() == [
        (None, 1, None),
        (AccountIndustryPicklist.BANKING, 2, 2_500_000.0),
        (AccountIndustryPicklist.TECHNOLOGY, 1, 3_000_000.0),
    ]


def test_pages_and_first(sf: Salesforce) -> None:
    pager = sf.query(BANKING)
    pages = list(pager.pages())
    assert [row for page in pages for row in page] == list(BANKING_ROWS)
    assert pager.total_size == 2
    assert sf.query(BANKING).first() == BANKING_ROWS[0]


async def test_async_client_runs_the_same_query(
    fresh_grant: RefreshTokenGrant, sf: Salesforce
) -> None:
    async with AsyncSalesforce(auth=fresh_grant, verify=False) as client:
        assert await client.query(BANKING).all() == list(BANKING_ROWS)
        assert await client.bulk2.query(BANKING).all() == list(BANKING_ROWS)
        assert await client.soap.query(BANKING).first() == BANKING_ROWS[0]


def test_having_and_semi_join_run(sf: Salesforce) -> None:
    seeded = ["Acme", "Globex", "Initech", "O'Hare & Sons"]
    busy = (
        select(Account.Industry, count(Account.Id))
        .where(Account.Name.in_(seeded))
        .group_by(Account.Industry)
        .having(count(Account.Id) > 1)
    )
    assert sf.query(busy).all() == [(AccountIndustryPicklist.BANKING, 2)]
    smiths = select(Contact.AccountId).where(Contact.LastName.like("Smith of G%"))
    q = select(Account.Name).where(Account.Id.in_(smiths))
    for api in APIS:
        assert _api(sf, api).query(q).all() == [("Globex",)]


@pytest.mark.parametrize("clause", ["for_view", "for_reference", "for_update"])
def test_for_clauses_run(sf: Salesforce, clause: str) -> None:
    base = select(Account.Name).where(Account.Name == "Acme").limit(1)
    q = getattr(base, clause)()
    assert sf.query(q).all() == [("Acme",)]


def test_offset_pages_past_the_first_rows(sf: Salesforce) -> None:
    names = select(Account.Name).where(Account.Name.in_(["Acme", "Globex", "Initech"]))
    q = names.order_by(Account.Name).limit(2).offset(1)
    assert sf.query(q).all() == [("Globex",), ("Initech",)]


@pytest.mark.parametrize("api", APIS)
def test_include_deleted_reads_the_recycle_bin(sf: Salesforce, api: str) -> None:
    gone = sf.create(Account(Name="Recycled QB"))
    sf.delete(Account, gone.id)
    q = select(Account.Name, Account.IsDeleted).where(Account.Id == gone.id)
    assert _api(sf, api).query(q).all() == []
    assert _api(sf, api).query(q, include_deleted=True).all() == [("Recycled QB", True)]
