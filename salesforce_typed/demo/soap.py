"""Section 5: convertLead, a SOAP-only call, on the REST client's session.

A lead is created over REST and converted over SOAP (`sf.soap` sends the
same OAuth token as its SessionHeader); the Account, Contact and Opportunity Salesforce made
are then read back as typed models over REST. A second lead asks for a status that is not a
converted one: its failure is a value in its own result, not an exception.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from rich.console import Console

from salesforce_typed import Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.soap import LeadConvert

CONVERTED = "Closed - Converted"


def soap_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    made = sf.create_many(
        [
            m.Lead(FirstName="Ada", LastName="Lovelace", Company="Analytical Engines"),
            m.Lead(LastName="Nobody", Company="Nowhere"),
        ]
    )
    ada, nobody = (r.id for r in made)
    check(ada is not None and nobody is not None, f"the Leads were not created: {made}")
    assert ada is not None and nobody is not None  # for mypy: check() exits otherwise
    say(console, f"created Leads {ada} and {nobody} over REST")
    soap = sf.soap  # the partner SOAP API on the REST client's session
    good, bad = soap.convert_lead(
        [
            LeadConvert(lead_id=ada, converted_status=CONVERTED, opportunity_name="Engine deal"),
            LeadConvert(lead_id=nobody, converted_status="Open - Not Contacted"),
        ]
    )
    check(good.success, f"convertLead failed: {good.errors}")
    say(
        console,
        f"convertLead over SOAP → Account {good.account_id}, Contact {good.contact_id}, "
        f"Opportunity {good.opportunity_id}",
    )
    check(not bad.success, "a non-converted status was accepted")
    say(
        console, f"second lead not converted, a value not an exception: {bad.errors[0].status_code}"
    )
    _read_back(console, sf, m, ada, good)


def _read_back(console: Console, sf: Any, m: ModuleType, lead_id: str, result: Any) -> None:
    """Each created record, typed, over REST; and the lead now marked converted."""
    account = sf.get(m.Account, result.account_id)
    contact = sf.get(m.Contact, result.contact_id)
    opportunity = sf.get(m.Opportunity, result.opportunity_id)
    lead = sf.get(m.Lead, lead_id, ["IsConverted", "ConvertedAccountId", "Status"])
    say(
        console,
        f"read back over REST: {type(account).__name__} {account.Name!r}, "
        f"{type(contact).__name__} {contact.FirstName} {contact.LastName} "
        f"(AccountId matches: {contact.AccountId == account.Id}), "
        f"{type(opportunity).__name__} {opportunity.Name!r} {opportunity.StageName!s}",
    )
    say(console, f"Lead IsConverted={lead.IsConverted} Status={lead.Status!s}")
    check(
        lead.IsConverted
        and lead.ConvertedAccountId == account.Id
        and contact.AccountId == account.Id
        and opportunity.AccountId == account.Id,
        "the converted records do not point at each other",
    )
