"""Section 9: the fake org behaves like Salesforce, not like our guesses.

A composite tree creates an Account with its Contacts in one call; Salesforce's derived values
come back (a Case's auto-number and describe defaults, an Opportunity's probability, forecast
category and fiscal period from its stage and close date, `Owner.Name`); a GROUP BY on a
field the real describe says is not groupable is refused with Salesforce's error; and an org
started on a data dir is the same org after a restart: credentials, records, ids.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from types import ModuleType

from rich.console import Console

from salesforce_typed import (
    MemoryTokenStore,
    QueryError,
    Record,
    RefreshTokenGrant,
    RelatedList,
    Salesforce,
    SObjectTree,
)
from salesforce_typed.demo.output import check, say
from salesforce_typed_std import Account, Case

GROUP_BY_DESCRIPTION = "SELECT Description, COUNT(Id) FROM Account GROUP BY Description"


def fidelity_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    ada = m.Contact(LastName="Lovelace", FirstName="Ada")
    acme = m.Account(
        Name="Tree Co", Contacts=RelatedList(records=[ada, m.Contact(LastName="Babbage")])
    )
    made = sf.create_tree(SObjectTree(acme))
    say(console, f"composite tree: Account {made.id_of(acme)} and 2 Contacts in one call")
    contact = sf.get(m.Contact, made.id_of(ada), ["Name"])
    check(contact.Name is not None, "the Contact's Name was not composed")
    say(console, f"the Contact's Name is composed as Salesforce does: {contact.Name!r}")

    case = sf.get(Case, sf.create(Case(Subject="Printer on fire")).id)
    check(bool(case.CaseNumber), "the Case got no auto-number")
    say(
        console,
        f"a new Case: CaseNumber {case.CaseNumber}, Status {str(case.Status)!r}, "
        f"Priority {str(case.Priority)!r} (the describe's defaults)",
    )
    deal = m.Opportunity(
        Name="Engines", StageName="Negotiation/Review", CloseDate=dt.date(2031, 5, 14)
    )
    opp = sf.query(
        m.Opportunity,
        "SELECT Probability, ForecastCategoryName, IsClosed, FiscalYear, FiscalQuarter, "
        "Owner.Name FROM Opportunity WHERE Id = :id",
        {"id": sf.create(deal).id},
    ).first()
    check(opp is not None and opp.Probability == 90, f"stage gave no probability: {opp}")
    assert opp is not None  # for mypy: check() exits otherwise
    check(isinstance(opp.Owner, Record), f"Owner did not decode: {opp.Owner!r}")
    owner = opp.Owner.extra_fields.get("Name") if isinstance(opp.Owner, Record) else None
    say(
        console,
        f"Opportunity at Negotiation/Review: Probability {opp.Probability:g}%, "
        f"{opp.ForecastCategoryName}, IsClosed {opp.IsClosed}, fiscal "
        f"{opp.FiscalYear} Q{opp.FiscalQuarter}, Owner.Name {owner!r}",
    )
    try:
        sf.query(GROUP_BY_DESCRIPTION).all()
    except QueryError as exc:
        reason = exc.message.strip().splitlines()[-1]
        say(console, f"GROUP BY Description → {exc.error_code}: {reason}")
    else:
        check(False, "GROUP BY on a non-groupable field was accepted")
    counts = sf.record_counts(m.Account, m.Contact, Case)
    say(console, f"/limits/recordCount → {counts}")
    _restart(console)


def _restart(console: Console) -> None:
    """A second org on a data dir, stopped and started again: the same org."""
    from salesforce_typed.testing.server import FakeOrg

    with tempfile.TemporaryDirectory(prefix="sf-demo-org-") as folder:
        data = Path(folder)
        with FakeOrg(data_dir=data, port=0) as org:
            creds = org.credentials()
            grant = _grant(creds)
            with Salesforce(auth=grant, token_store=MemoryTokenStore()) as sf:
                first = sf.create(_account("before the restart")).id
            port = org.port
        with FakeOrg(data_dir=data, port=port) as org:
            again = org.credentials()
            check(again["client_secret"] == creds["client_secret"], "new credentials minted")
            with Salesforce(auth=_grant(again), token_store=MemoryTokenStore()) as sf:
                second = sf.create(_account("after the restart")).id
                rows = sf.query("SELECT Id FROM Account WHERE Name LIKE '% the restart'").all()
        check(len(rows) == 2 and first != second, f"state lost in the restart: {rows}")
        say(
            console,
            f"an org on a data dir, restarted on port {port}: same credentials, "
            f"{len(rows)} Accounts, ids {first} then {second} (never reused)",
        )


def _grant(creds: dict[str, str]) -> RefreshTokenGrant:
    return RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )


def _account(name: str) -> Account:
    return Account(Name=name)
