"""The custom object the demo adds to the fake org: `Invoice__c`, as a describe.

It has what a generator must handle beyond the standard catalog: an external id
(`Number__c`), a restricted picklist, a currency, a date and a lookup to Account.
"""

from __future__ import annotations

from typing import Any

INVOICE: dict[str, Any] = {
    "name": "Invoice__c",
    "label": "Invoice",
    "labelPlural": "Invoices",
    "custom": True,
    "keyPrefix": "a0I",
    "createable": True,
    "updateable": True,
    "deletable": True,
    "queryable": True,
    "searchable": True,
    "triggerable": True,
    "childRelationships": [],
    "urls": {},
    "fields": [
        {
            "name": "Id",
            "type": "id",
            "label": "Record ID",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "length": 18,
            "idLookup": True,
            "defaultedOnCreate": True,
        },
        {
            "name": "IsDeleted",
            "type": "boolean",
            "label": "Deleted",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "defaultedOnCreate": True,
        },
        {
            "name": "Name",
            "type": "string",
            "label": "Invoice Number",
            "length": 80,
            "createable": True,
            "updateable": True,
            "nillable": False,
            "nameField": True,
        },
        {
            "name": "Number__c",
            "type": "string",
            "label": "Number",
            "length": 20,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "externalId": True,
            "idLookup": True,
            "unique": True,
            "custom": True,
        },
        {
            "name": "Amount__c",
            "type": "currency",
            "label": "Amount",
            "precision": 16,
            "scale": 2,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "Status__c",
            "type": "picklist",
            "label": "Status",
            "length": 40,
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
            "restrictedPicklist": True,
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                for v in ("Draft", "Sent", "Paid")
            ],
        },
        {
            "name": "Due__c",
            "type": "date",
            "label": "Due",
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "Account__c",
            "type": "reference",
            "label": "Account",
            "length": 18,
            "referenceTo": ["Account"],
            "relationshipName": "Account__r",
            "createable": True,
            "updateable": True,
            "nillable": True,
            "custom": True,
        },
        {
            "name": "CreatedDate",
            "type": "datetime",
            "label": "Created Date",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "defaultedOnCreate": True,
        },
    ],
}
