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
    length = f.length if f.type in _TEXT else 0
    inactive = set(f.inactive_picklist_values)
    return {
        "aggregatable": f.aggregatable,
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": f.byte_length,
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": f.default_value,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.precision if f.type in ("int", "long") else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info,
        "filterable": f.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.groupable,
        "highScaleNumber": False,
        "htmlFormatted": f.html_formatted,
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
        "permissionable": f.permissionable,
        "picklistValues": [
            {
                "active": v not in inactive,
                "defaultValue": v == f.default_picklist_value,
                "label": f.picklist_label(v),
                "validFor": None,
                "value": v,
            }
            for v in f.picklist_values
        ],
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision if f.type in ("double", "currency", "percent") else 0,
        "queryByDistance": f.query_by_distance,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": f.search_prefilterable,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": f.sortable,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


MASTER_RECORD_TYPE_ID = "012000000000000AAA"


def master_record_type(name: str, only: bool = True) -> dict[str, Any]:
    """The Master record type every object with record types lists (last, by name)."""
    return {
        "active": True,
        "available": True,
        "defaultRecordTypeMapping": only,
        "developerName": "Master",
        "master": True,
        "name": "Master",
        "recordTypeId": MASTER_RECORD_TYPE_ID,
        "urls": {
            "layout": f"/services/data/v{{version}}/sobjects/{name}/describe/layouts/"
            + MASTER_RECORD_TYPE_ID
        },
    }


def _scopes(plural: str, owned: bool) -> list[dict[str, str]]:
    """List view scopes: `everything`, and `mine` where records have an owner (the fake org
    models no teams, queues or scoping rules)."""
    scopes = [{"label": f"All {plural}", "name": "everything"}]
    if owned:
        scopes.append({"label": f"My {plural}", "name": "mine"})
    return scopes


def _urls(name: str) -> dict[str, str]:
    base = f"/services/data/v{{version}}/sobjects/{name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def sobject_describe(model: type[SObject]) -> dict[str, Any]:
    info = model.__sf_object__
    name = model.__sobject_type__
    if info is None:
        raise ValueError(f"{model.__name__} carries no object metadata")
    plural = info.label_plural or name
    owned = any(f.name == "OwnerId" for f in model.__sf_fields__)
    return {
        "actionOverrides": [],
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "childRelationships": [
            {
                "cascadeDelete": c.cascade_delete,
                "childSObject": c.child_sobject,
                "deprecatedAndHidden": False,
                "field": c.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": c.name,
                "restrictedDelete": c.restricted_delete,
            }
            for c in model.__sf_children__
        ],
        "compactLayoutable": info.compact_layoutable,
        "createable": info.createable,
        "custom": info.custom,
        "customSetting": False,
        "deepCloneable": info.deep_cloneable,
        "defaultImplementation": None,
        "deletable": info.deletable,
        "deprecatedAndHidden": False,
        "extendedBy": None,
        "extendsInterfaces": None,
        "feedEnabled": info.feed_enabled,
        "fields": [field_describe(f) for f in model.__sf_fields__],
        "hasSubtypes": False,
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": info.key_prefix,
        "label": info.label or name,
        "labelPlural": plural,
        "layoutable": info.layoutable,
        "listviewable": None,
        "lookupLayoutable": None,
        "mergeable": info.mergeable,
        "mruEnabled": info.mru_enabled,
        "name": name,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "queryable": info.queryable,
        "recordTypeInfos": [master_record_type(name)] if info.record_types else [],
        "replicateable": True,
        "retrieveable": True,
        "searchLayoutable": info.search_layoutable,
        "searchable": info.searchable,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": _scopes(plural.lower(), owned),
        "triggerable": info.triggerable,
        "undeletable": info.undeletable and info.deletable,
        "updateable": info.updateable,
        "urls": _urls(name),
    }
