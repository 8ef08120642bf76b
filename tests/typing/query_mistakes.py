"""Query-builder mistakes mypy --strict must reject: each line marked `# mypy: error [code]`
draws exactly that error (tests/typing/test_query_builder_mypy.py)."""

from __future__ import annotations

from salesforce_typed.query import count, select, sum_
from salesforce_typed.query.builder import Select
from salesforce_typed_std import Account, AccountCleanStatusPicklist, Contact

select(Account).where(Account.Nmae == "Acme")  # mypy: error [attr-defined]
select(Account).where(Contact.LastName == "Smith")  # mypy: error [arg-type]
select(Account).where(Account.AnnualRevenue > "x")  # mypy: error [operator]
# `==` falls back to object.__eq__ (bool), which where() refuses:
select(Account).where(Account.AnnualRevenue == "x")  # mypy: error [arg-type]
select(Account).where(Account.CreatedDate > "2024-01-01")  # mypy: error [operator]
select(Account).where(Account.Name.like(5))  # mypy: error [arg-type]
select(Account).order_by(Contact.LastName)  # mypy: error [arg-type]
select(Account.Name, Contact.LastName)  # mypy: error [misc]
select(Account.Name).having(Contact.LastName == "x")  # mypy: error [arg-type]
select(Account, Account.Contacts.select(Account.Name))  # mypy: error [arg-type]
sum_(Account.Name)  # mypy: error [arg-type]
count(Account.IsDeleted)  # mypy: error [arg-type]
select(Account).where(Account.Description == "long text")  # mypy: error [arg-type]
select(Account.Id).having(sum_(Account.AnnualRevenue) > "x")  # mypy: error [operator]
two_fields = select(Contact.AccountId, Contact.Id)
Account.Id.in_(two_fields)  # mypy: error [arg-type]
Account(CleanStatus="Matchd")  # mypy: error [arg-type]
Account(AnnualRevenue="lots")  # mypy: error [arg-type]
rows = select(Account.Id, Account.Industry)
wrong: Select[Account, tuple[str, str]] = rows  # mypy: error [assignment]
name: str = Account(Name="x").Name  # mypy: error [assignment]
missing = Account(Name="x").require.Nmae  # mypy: error [attr-defined]
Account(Name="x").Name = 3  # mypy: error [assignment]
typo = AccountCleanStatusPicklist.MATCHD  # mypy: error [attr-defined]
