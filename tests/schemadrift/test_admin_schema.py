"""The admin schema API: Salesforce-shaped errors for bad input, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

_ADD_BODIES: list[Any] = [
    [],
    "x",
    {"sobject": "Account"},
    {"sobject": 5, "field": {"name": "X__c", "type": "string"}},
    {"sobject": "Account", "field": {"name": "X__c"}},
    {"sobject": "Account", "field": {"name": "1bad", "type": "string"}},
    {"sobject": "Account", "field": {"name": "X__c", "type": ["string"]}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "blob"}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "string", "length": "9"}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "string", "length": 10**9}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "string", "nillable": "no"}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "reference"}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "picklist", "picklistValues": [{}]}},
    {"sobject": "Account", "field": {"name": "X__c", "type": "string", "colour": "red"}},
    {"sobject": "Account", "field": {"name": "name", "type": "string"}},
]
_PATCHES: list[tuple[str, Any]] = [
    ("Account/Name", []),
    ("Account/Name", {"name": "Other"}),
    ("Account/Name", {"addPicklistValues": "Gold"}),
    ("Account/Name", {"picklistValues": [1]}),
    ("Account/Id", {"length": 20}),
    ("Account/BillingCity", {"length": 20}),
    ("Account/Nope__c", {"length": 20}),
    ("Nope/Name", {"length": 20}),
]


@pytest.mark.parametrize("body", _ADD_BODIES)
def test_bad_additions_are_refused(admin: httpx.Client, body: Any) -> None:
    answer = admin.post("/fields", json=body)
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()[0]["errorCode"] in (
        "INVALID_FIELD",
        "NOT_FOUND",
        "DUPLICATE_DEVELOPER_NAME",
    )


@pytest.mark.parametrize(("path", "body"), _PATCHES)
def test_bad_changes_are_refused(admin: httpx.Client, path: str, body: Any) -> None:
    answer = admin.patch(f"/fields/{path}", json=body)
    assert answer.status_code in (400, 404), answer.text
    assert {"message", "errorCode"} <= set(answer.json()[0])


def test_unparsable_json_and_system_fields(admin: httpx.Client) -> None:
    assert admin.post("/fields", content=b"{").status_code == 400
    assert admin.patch("/fields/Account/Name", content=b"[").status_code == 400
    assert admin.delete("/fields/Account/SystemModstamp").status_code == 400
    assert admin.delete("/fields/Account/Nope__c").status_code == 404


def test_picklist_edits(admin: httpx.Client, fake_org_api: httpx.Client) -> None:
    body = {
        "name": "Tier__c",
        "type": "multipicklist",
        "picklistValues": ["Gold", {"value": "Silver", "label": "Argent"}],
    }
    assert admin.post("/fields", json={"sobject": "Account", "field": body}).status_code == 200
    edit = {
        "addPicklistValues": ["Bronze"],
        "removePicklistValues": ["Gold"],
        "inactivePicklistValues": ["Silver"],
    }
    assert admin.patch("/fields/Account/Tier__c", json=edit).status_code == 200
    fields = fake_org_api.get("/sobjects/Account/describe").json()["fields"]
    tier = next(f for f in fields if f["name"] == "Tier__c")
    assert tier["type"] == "multipicklist"
    assert [(p["value"], p["label"], p["active"]) for p in tier["picklistValues"]] == [
        ("Silver", "Argent", False),
        ("Bronze", "Bronze", True),
    ]
