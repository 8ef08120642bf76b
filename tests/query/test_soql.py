"""The SOQL text each builder construct renders (golden strings); values quoted safely."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from salesforce_typed.core.errors import UsageError
from salesforce_typed.query import (
    and_,
    avg,
    count,
    count_distinct,
    max_,
    min_,
    not_,
    or_,
    select,
    sum_,
)
from salesforce_typed.query import literals as d
from salesforce_typed.query.columns import Cond
from salesforce_typed.rest.soql import escape_like
from salesforce_typed_std import (
    Account,
    AccountIndustryPicklist,
    Contact,
    Opportunity,
    Task,
    User,
)

WHERE_CASES = [
    (Account.Name == "Acme", "Name = 'Acme'"),
    (Account.Name != "Acme", "Name != 'Acme'"),
    (Account.Name == None, "Name = null"),  # noqa: E711 - SOQL's `= null`, on purpose
    (Account.Industry.is_(None), "Industry = null"),
    (Account.Industry.is_not(None), "Industry != null"),
    (Account.Industry == AccountIndustryPicklist.BANKING, "Industry = 'Banking'"),
    (Account.Industry == "Not In The Enum", "Industry = 'Not In The Enum'"),
    (Account.Name.like("Ac%"), "Name LIKE 'Ac%'"),
    (Account.Name.like("%" + escape_like("50%_off") + "%"), r"Name LIKE '%50\%\_off%'"),
    (Account.Name.in_(["A", "B"]), "Name IN ('A','B')"),
    (Account.Name.not_in(("A",)), "Name NOT IN ('A')"),
    (Account.Name > "M", "Name > 'M'"),
    (Account.AnnualRevenue > 1_000_000, "AnnualRevenue > 1000000"),
    (Account.AnnualRevenue >= 2.5, "AnnualRevenue >= 2.5"),
    (Account.NumberOfEmployees < 10, "NumberOfEmployees < 10"),
    (Account.NumberOfEmployees <= 10, "NumberOfEmployees <= 10"),
    (Account.NumberOfEmployees.in_([1, 2]), "NumberOfEmployees IN (1,2)"),
    (Account.IsDeleted == False, "IsDeleted = false"),  # noqa: E712 - an expression, not a test
    (Account.CreatedDate > d.LAST_N_DAYS(30), "CreatedDate > LAST_N_DAYS:30"),
    (Account.CreatedDate == d.TODAY, "CreatedDate = TODAY"),
    (Account.LastActivityDate < d.N_DAYS_AGO(7), "LastActivityDate < N_DAYS_AGO:7"),
    (Account.LastActivityDate >= dt.date(2024, 2, 29), "LastActivityDate >= 2024-02-29"),
    (
        Account.CreatedDate < dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "CreatedDate < 2024-01-02T03:04:05Z",
    ),
    (Contact.Account.Name == "Acme", "Account.Name = 'Acme'"),
    (Contact.Account.Owner.Name == "Ann", "Account.Owner.Name = 'Ann'"),
    (Task.What.Name == "Acme", "What.Name = 'Acme'"),
    (User.UserPermissionsMarketingUser == True, "UserPermissionsMarketingUser = true"),  # noqa: E712
]


@pytest.mark.parametrize(("cond", "text"), WHERE_CASES, ids=[t for _, t in WHERE_CASES])
def test_condition_text(cond: Cond[Any], text: str) -> None:
    assert cond.text == text


def test_quotes_and_backslashes_are_escaped() -> None:
    q = select(Account.Id).where(Account.Name == "O'Hare \\ 'x' OR Name != ''")
    assert q.to_soql() == r"SELECT Id FROM Account WHERE Name = 'O\'Hare \\ \'x\' OR Name != \'\''"


def test_combinators() -> None:
    a, b, c = Account.Name == "A", Account.Name == "B", Account.AnnualRevenue > 1
    assert (a | b).text == "(Name = 'A' OR Name = 'B')"
    assert (a & ~b).text == "(Name = 'A' AND (NOT Name = 'B'))"
    assert or_(a, b, c).text == "(Name = 'A' OR Name = 'B' OR AnnualRevenue > 1)"
    assert and_(a, or_(b, c)).text == "(Name = 'A' AND (Name = 'B' OR AnnualRevenue > 1))"
    assert not_(a).text == "(NOT Name = 'A')"
    with pytest.raises(TypeError, match="no truth value"):
        bool(a)


def test_full_projection_query() -> None:
    q = (
        select(Account.Id, Account.Name, Account.Owner.Name)
        .where(
            Account.Industry == AccountIndustryPicklist.BANKING,
            Account.AnnualRevenue > 1_000_000,
        )
        .order_by(Account.Name.desc().nulls_last(), Account.Id)
        .limit(100)
        .offset(10)
    )
    assert q.to_soql() == (
        "SELECT Id, Name, Owner.Name FROM Account "
        "WHERE Industry = 'Banking' AND AnnualRevenue > 1000000 "
        "ORDER BY Name DESC NULLS LAST, Id LIMIT 100 OFFSET 10"
    )
    assert str(q) == q.to_soql()


def test_model_select_lists_every_queryable_field_and_subqueries() -> None:
    q = select(
        Account,
        Account.Contacts.select(Contact.LastName, Contact.Email)
        .where(Contact.LastName.like("S%"))
        .order_by(Contact.LastName.asc().nulls_first())
        .limit(5),
    ).where(Account.Name == "Acme")
    text = q.to_soql()
    assert text.startswith("SELECT Id, IsDeleted, MasterRecordId, Name, Type, ")
    assert ", BillingAddress," not in text  # compound fields: their parts are selected
    assert text.endswith(
        ", (SELECT LastName, Email FROM Contacts WHERE LastName LIKE 'S%' "
        "ORDER BY LastName ASC NULLS FIRST LIMIT 5) FROM Account WHERE Name = 'Acme'"
    )


def test_aggregates_and_group_by() -> None:
    q = (
        select(
            Opportunity.StageName,
            count(Opportunity.Id),
            count_distinct(Opportunity.AccountId),
            sum_(Opportunity.Amount),
            avg(Opportunity.Amount),
            min_(Opportunity.CloseDate),
            max_(Opportunity.CloseDate),
        )
        .group_by(Opportunity.StageName)
        .having(Opportunity.StageName != "Closed Lost")
        .order_by(Opportunity.StageName)
    )
    assert q.to_soql() == (
        "SELECT StageName, COUNT(Id), COUNT_DISTINCT(AccountId), SUM(Amount), AVG(Amount), "
        "MIN(CloseDate), MAX(CloseDate) FROM Opportunity GROUP BY StageName "
        "HAVING StageName != 'Closed Lost' ORDER BY StageName"
    )


def test_multipicklist_includes_excludes() -> None:
    from salesforce_typed.query.columns import MultiPicklist

    col: MultiPicklist[object, list[str], None, list[str]] = MultiPicklist(
        Account, "Regions__c", None
    )
    assert col.includes("AMER;EMEA", "APAC").text == "Regions__c INCLUDES ('AMER;EMEA','APAC')"
    assert col.excludes("APAC").text == "Regions__c EXCLUDES ('APAC')"


def test_for_view_reference_update() -> None:
    base = select(Account.Id).where(Account.Name == "A")
    assert base.for_view().to_soql().endswith("WHERE Name = 'A' FOR VIEW")
    assert base.for_reference().to_soql().endswith("FOR REFERENCE")
    assert base.limit(1).for_update().to_soql().endswith("LIMIT 1 FOR UPDATE")
    with pytest.raises(UsageError, match="ORDER BY"):
        base.order_by(Account.Name).for_update()


def test_builder_refuses_bad_arguments() -> None:
    with pytest.raises(UsageError, match="one object"):
        select(Account.Name, Contact.LastName)  # type: ignore[misc]
    with pytest.raises(UsageError, match="whole number"):
        select(Account.Id).limit(-1)
    with pytest.raises(UsageError, match="needs a model"):
        select()  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="whole number"):
        d.LAST_N_DAYS(-3)
    with pytest.raises(UsageError, match="empty IN"):
        Account.Name.in_([])


def test_queries_are_immutable() -> None:
    base = select(Account.Id)
    narrowed = base.where(Account.Name == "A")
    assert base.to_soql() == "SELECT Id FROM Account"
    assert narrowed.to_soql() == "SELECT Id FROM Account WHERE Name = 'A'"


def test_having_compares_aggregates() -> None:
    q = (
        select(Account.Industry, count(Account.Id))
        .group_by(Account.Industry)
        .having(count(Account.Id) > 1, sum_(Account.AnnualRevenue) >= 2.5)
    )
    assert q.to_soql() == (
        "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry "
        "HAVING COUNT(Id) > 1 AND SUM(AnnualRevenue) >= 2.5"
    )


def test_semi_join_and_anti_join() -> None:
    with_contacts = select(Contact.AccountId).where(Contact.LastName.like("S%"))
    q = select(Account.Name).where(
        Account.Id.in_(with_contacts), Account.OwnerId.not_in(select(User.Id))
    )
    assert q.to_soql() == (
        "SELECT Name FROM Account WHERE Id IN "
        "(SELECT AccountId FROM Contact WHERE LastName LIKE 'S%') "
        "AND OwnerId NOT IN (SELECT Id FROM User)"
    )


def test_unfilterable_fields_have_no_conditions() -> None:
    assert (Account.Description == "x") is False  # identity, not a condition
    assert Account.Description != "x"
    with pytest.raises(UsageError, match="Description cannot be filtered"):
        Account.Description.is_(None)
    assert select(Account.Description).to_soql() == "SELECT Description FROM Account"
