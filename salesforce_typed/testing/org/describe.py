"""Describe JSON for the fake org, built from generated models' run-time metadata.

The fake org's schema is describes (what Salesforce serves); the standard objects come from
the generated standard package, so the emulator and the typed models can never disagree.
"""

from __future__ import annotations

from typing import Any

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.core.models import SObject

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}
_TEXT = {
    "string",
    "textarea",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "combobox",
    "encryptedstring",
    "id",
    "reference",
}


def field_describe(f: FieldInfo) -> dict[str, Any]:
    """One field with the ~55 keys Salesforce always sends (unused ones null/false/0/[])."""
    text = f.type in _TEXT
    length = f.length if text else 0
    compound = f.type in ("address", "location")
    return {
        "aggregatable": not compound and f.type not in ("textarea", "base64"),
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": length * 3 if f.type not in ("id", "reference") else length,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": False if f.type == "boolean" and f.defaulted_on_create else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.precision if f.type in ("int", "long") else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": None,
        "filterable": not compound and f.type not in ("textarea", "base64"),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.type in _TEXT or f.type in ("boolean", "date", "int"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.id_lookup,
        "inlineHelpText": None,
        "label": f.label or f.name,
        "length": length,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": len(f.reference_to) > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable and not f.calculated and f.createable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": v == f.default_picklist_value,
                "label": v,
                "validFor": None,
                "value": v,
            }
            for v in f.picklist_values
        ],
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision if f.type in ("double", "currency", "percent") else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": False,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": not compound and f.type not in ("textarea", "base64", "multipicklist"),
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def sobject_describe(model: type[SObject]) -> dict[str, Any]:
    info = model.__sf_object__
    name = model.__sobject_type__
    if info is None:
        raise ValueError(f"{model.__name__} carries no object metadata")
    urls = {
        "sobject": f"/services/data/v{{version}}/sobjects/{name}",
        "describe": f"/services/data/v{{version}}/sobjects/{name}/describe",
        "rowTemplate": f"/services/data/v{{version}}/sobjects/{name}/{{ID}}",
    }
    return {
        "actionOverrides": [],
        "activateable": False,
        "childRelationships": [
            {
                "cascadeDelete": c.cascade_delete,
                "childSObject": c.child_sobject,
                "deprecatedAndHidden": False,
                "field": c.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": c.name,
                "restrictedDelete": False,
            }
            for c in model.__sf_children__
        ],
        "compactLayoutable": True,
        "createable": info.createable,
        "custom": info.custom,
        "customSetting": False,
        "deletable": info.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "fields": [field_describe(f) for f in model.__sf_fields__],
        "keyPrefix": info.key_prefix,
        "label": info.label or name,
        "labelPlural": info.label_plural or name,
        "layoutable": True,
        "mergeable": name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": True,
        "name": name,
        "queryable": info.queryable,
        "recordTypeInfos": [],
        "replicateable": True,
        "retrieveable": True,
        "searchable": info.searchable,
        "triggerable": info.triggerable,
        "undeletable": info.deletable,
        "updateable": info.updateable,
        "urls": urls,
    }
