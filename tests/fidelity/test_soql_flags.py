"""SOQL obeys the describe's field flags the way Salesforce does, over HTTP.

filterable (WHERE), sortable (ORDER BY) and groupable (GROUP BY) failures are 400
INVALID_FIELD with Salesforce's texts ("field 'X' can not be filtered in query call", "... can
not be sorted in a query call", "... can not be grouped in a query call"); an aggregate
function on a field that is not aggregatable is 400 MALFORMED_QUERY "field X does not support
aggregate operator F" (as Salesforce answers `COUNT(Id)` on FeedItem). The flags are the
recorded describes' (Account.Description is a long text area; Opportunity.HasOpenActivity
and HasOverdueTask are flag-only booleans).
"""

from __future__ import annotations

import httpx
import pytest

from tests.fidelity.test_describe import real

V = "/services/data/v59.0"


def query(api: httpx.Client, soql: str) -> httpx.Response:
    return api.get(f"{V}/query", params={"q": soql})


def _flag(sobject: str, field: str, flag: str) -> bool:
    doc = real(sobject)
    value: bool = next(f for f in doc["fields"] if f["name"] == field)[flag]
    return value


@pytest.mark.parametrize(
    ("soql", "code", "detail", "column"),
    [
        (
            "SELECT Description FROM Account GROUP BY Description",
            "INVALID_FIELD",
            "field 'Description' can not be grouped in a query call",
            42,
        ),
        (
            "SELECT Id FROM Opportunity WHERE HasOpenActivity = true",
            "INVALID_FIELD",
            "field 'HasOpenActivity' can not be filtered in query call",
            34,
        ),
        (
            "SELECT Id FROM Opportunity ORDER BY HasOverdueTask",
            "INVALID_FIELD",
            "field 'HasOverdueTask' can not be sorted in a query call",
            37,
        ),
        (
            "SELECT MAX(Description) FROM Account",
            "MALFORMED_QUERY",
            "field Description does not support aggregate operator MAX",
            12,
        ),
        (
            "SELECT COUNT(IsDeleted) FROM Contact",
            "MALFORMED_QUERY",
            "field IsDeleted does not support aggregate operator COUNT",
            14,
        ),
    ],
)
def test_flag_refusals(
    module_api: httpx.Client, soql: str, code: str, detail: str, column: int
) -> None:
    r = query(module_api, soql)
    assert r.status_code == 400, r.text
    [error] = r.json()
    assert error["errorCode"] == code
    assert (
        error["message"]
        == f"\n{soql}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{detail}"
    )


def test_flags_are_the_recorded_ones() -> None:
    """The refusals above rest on facts, not on the fake org's type rules."""
    assert not _flag("Account", "Description", "groupable")
    assert not _flag("Account", "Description", "aggregatable")
    assert not _flag("Opportunity", "HasOpenActivity", "filterable")
    assert not _flag("Opportunity", "HasOverdueTask", "sortable")
    assert _flag("Account", "BillingStreet", "filterable")
    assert not _flag("Contact", "IsDeleted", "aggregatable")


def test_what_the_flags_allow(api: httpx.Client) -> None:
    """BillingStreet (a 255-character text area) filters, sorts and groups; short text
    areas aggregate; groupable picklists group."""
    made = api.post(
        f"{V}/sobjects/Account",
        json={"Name": "Acme", "BillingStreet": "1 Main St", "Industry": "Energy"},
    )
    assert made.status_code == 201, made.text
    r = query(api, "SELECT Id, Name FROM Account WHERE BillingStreet = '1 Main St'")
    assert r.status_code == 200, r.text
    assert [rec["Name"] for rec in r.json()["records"]] == ["Acme"]
    r = query(api, "SELECT BillingStreet FROM Account ORDER BY BillingStreet")
    assert r.status_code == 200, r.text
    r = query(
        api,
        "SELECT Industry, BillingStreet, MAX(BillingStreet) m FROM Account "
        "GROUP BY Industry, BillingStreet",
    )
    assert r.status_code == 200, r.text
    [row] = r.json()["records"]
    assert (row["Industry"], row["BillingStreet"], row["m"]) == ("Energy", "1 Main St", "1 Main St")
    r = query(api, "SELECT Id FROM Opportunity WHERE HasOpenActivity = true")
    assert r.status_code == 400  # the same engine, a fact that forbids
