"""A custom object with a field of every Salesforce type, on the fake org."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg


def _field(name: str, ftype: str, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "label": name.removesuffix("__c"),
        "type": ftype,
        "length": {"id": 18, "reference": 18, "textarea": 32768}.get(ftype, 255),
        "precision": 0,
        "scale": 0,
        "createable": True,
        "updateable": True,
        "nillable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "referenceTo": [],
        "relationshipName": None,
        "picklistValues": [],
    }
    doc.update(over)
    return doc


def _values(*names: str) -> list[dict[str, Any]]:
    return [
        {"value": n, "label": n, "active": True, "defaultValue": False, "validFor": None}
        for n in names
    ]


def gadget_describe() -> dict[str, Any]:
    system = {"createable": False, "updateable": False, "nillable": False}
    return {
        "name": "Gadget__c",
        "label": "Gadget",
        "labelPlural": "Gadgets",
        "keyPrefix": "a0G",
        "custom": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "urls": {},
        "childRelationships": [],
        "fields": [
            _field("Id", "id", idLookup=True, defaultedOnCreate=True, **system),
            _field("Name", "string", length=80, nillable=False),
            _field("Notes__c", "textarea"),
            _field("Email__c", "email", length=80),
            _field("Phone__c", "phone", length=40),
            _field("Site__c", "url"),
            _field("Stage__c", "picklist", picklistValues=_values("New", "Won", "Lost")),
            _field("Tags__c", "multipicklist", picklistValues=_values("a", "b", "c")),
            _field("Kind__c", "combobox", picklistValues=_values("x", "y")),
            _field(
                "Account__c", "reference", referenceTo=["Account"], relationshipName="Account__r"
            ),
            _field("Active__c", "boolean", nillable=False, defaultedOnCreate=True),
            _field("Count__c", "int", precision=9, digits=9),
            _field("Big__c", "long", precision=18, digits=18),
            _field("Ratio__c", "double", precision=18, scale=6),
            _field("Loose__c", "double"),
            _field("Price__c", "currency", precision=18, scale=2),
            _field("Share__c", "percent", precision=5, scale=2),
            _field("Day__c", "date"),
            _field("At__c", "datetime"),
            _field("Clock__c", "time"),
            _field("Secret__c", "encryptedstring", length=175),
            _field("CreatedDate", "datetime", defaultedOnCreate=True, **system),
            _field("SystemModstamp", "datetime", defaultedOnCreate=True, **system),
        ],
    }


@pytest.fixture
def org(fake_org: FakeOrg) -> FakeOrg:
    fake_org.state.schema.add_describe(gadget_describe())
    store(fake_org.state).ensure_tables()
    return fake_org


def grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token(),
        token_url=c["token_url"],
    )


@pytest.fixture
def sf(org: FakeOrg) -> Iterator[Salesforce]:
    with Salesforce(auth=grant(org), verify=False) as client:
        yield client
