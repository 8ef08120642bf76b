"""Section: typed queries. One `select(...)` runs through REST, SOAP, Bulk 2.0 and Bulk 1.0
with the same typed rows; aggregates, a child subquery, and `record.require` narrowing."""

from __future__ import annotations

from types import ModuleType

from rich.console import Console

from salesforce_typed import FieldUnavailableError, Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.query import count, select, sum_
from salesforce_typed_std import Account, AccountIndustryPicklist, Contact


def query_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    made = [
        sf.create(Account(Name=n, Industry=AccountIndustryPicklist.BANKING, AnnualRevenue=r))
        for n, r in (("Typed Big", 5_000_000.0), ("Typed Small", 1_000.0))
    ]
    sf.create(Contact(LastName="Turing", AccountId=made[0].id))
    big = (
        select(Account.Name, Account.Owner.Name, Account.AnnualRevenue)
        .where(Account.Name.like("Typed %"), Account.AnnualRevenue > 1_000_000)
        .order_by(Account.Name)
    )
    say(console, f"built: {big}")
    answers = {}
    for label, api in (("REST", sf), ("SOAP", sf.soap), ("Bulk 2.0", sf.bulk2)):
        answers[label] = api.query(big).all()
    answers["Bulk 1.0"] = sf.bulk1.query(big).all()
    rows = answers["REST"]
    check(all(a == rows for a in answers.values()), f"the APIs disagree: {answers}")
    check(rows == [("Typed Big", rows[0][1], 5_000_000.0)], f"unexpected rows {rows}")
    say(console, f"same typed rows from {', '.join(answers)}: {rows}")

    groups = (
        select(Account.Industry, count(Account.Id), sum_(Account.AnnualRevenue))
        .where(Account.Name.like("Typed %"))
        .group_by(Account.Industry)
    )
    ((industry, n, total),) = sf.query(groups).all()
    check(industry is AccountIndustryPicklist.BANKING and n == 2, "wrong aggregate")
    say(console, f"GROUP BY as typed tuples: {industry!s} {n} accounts, revenue {total}")

    tree = select(Account, Account.Contacts.select(Contact.LastName)).where(
        Account.Id == made[0].id
    )
    acc = sf.query(tree).first()
    check(acc is not None, "the account is missing")
    assert acc is not None
    names = [c.require.LastName for c in acc.require.Contacts.records]
    check(names == ["Turing"], f"subquery rows {names}")
    say(console, f"child subquery: {acc.require.Name} has {names}")
    try:
        _ = acc.require.Contacts.records[0].require.Email
        check(False, "an unselected field was read")
    except FieldUnavailableError as exc:
        say(console, f"record.require names what is missing: {exc}")
    for r in made:
        sf.delete(Account, r.id)
