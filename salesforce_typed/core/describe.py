"""Typed describe results: describeGlobal, sObject describe, fields, picklists, relationships.

Only the keys code reads are declared; Salesforce adds keys every release and those are
kept in `extra_fields`, so a describe from any API version round-trips.
"""

from __future__ import annotations

from typing import Any

import attrs

from salesforce_typed.core.jsonmodel import JsonModel, jfield, jnested
from salesforce_typed.core.unset import UnsetType

_S = str | None | UnsetType
_B = bool | UnsetType
_I = int | UnsetType


@attrs.define(kw_only=True, slots=True)
class PicklistEntry(JsonModel):
    value: _S = jfield()
    label: _S = jfield()
    active: _B = jfield()
    defaultValue: _B = jfield()
    validFor: _S = jfield()


@attrs.define(kw_only=True, slots=True)
class DescribeField(JsonModel):
    name: _S = jfield()
    label: _S = jfield()
    type: _S = jfield()
    soapType: _S = jfield()
    length: _I = jfield()
    byteLength: _I = jfield()
    precision: _I = jfield()
    scale: _I = jfield()
    digits: _I = jfield()
    nillable: _B = jfield()
    createable: _B = jfield()
    updateable: _B = jfield()
    defaultedOnCreate: _B = jfield()
    calculated: _B = jfield()
    autoNumber: _B = jfield()
    externalId: _B = jfield()
    idLookup: _B = jfield()
    unique: _B = jfield()
    custom: _B = jfield()
    nameField: _B = jfield()
    filterable: _B = jfield()
    sortable: _B = jfield()
    groupable: _B = jfield()
    referenceTo: list[str] | None | UnsetType = jfield()
    relationshipName: _S = jfield()
    polymorphicForeignKey: _B = jfield()
    cascadeDelete: _B = jfield()
    restrictedDelete: _B = jfield()
    picklistValues: list[PicklistEntry] | None | UnsetType = jnested(PicklistEntry, many=True)
    restrictedPicklist: _B = jfield()
    dependentPicklist: _B = jfield()
    controllerName: _S = jfield()
    compoundFieldName: _S = jfield()
    defaultValue: Any = jfield()
    inlineHelpText: _S = jfield()


@attrs.define(kw_only=True, slots=True)
class DescribeChildRelationship(JsonModel):
    childSObject: _S = jfield()
    field: _S = jfield()
    relationshipName: _S = jfield()
    cascadeDelete: _B = jfield()
    restrictedDelete: _B = jfield()
    deprecatedAndHidden: _B = jfield()


@attrs.define(kw_only=True, slots=True)
class RecordTypeInfo(JsonModel):
    recordTypeId: _S = jfield()
    developerName: _S = jfield()
    name: _S = jfield()
    active: _B = jfield()
    available: _B = jfield()
    master: _B = jfield()
    defaultRecordTypeMapping: _B = jfield()
    urls: dict[str, str] | None | UnsetType = jfield()


@attrs.define(kw_only=True, slots=True)
class DescribeSObjectResult(JsonModel):
    """`GET /sobjects/{Type}/describe`."""

    name: _S = jfield()
    label: _S = jfield()
    labelPlural: _S = jfield()
    keyPrefix: _S = jfield()
    custom: _B = jfield()
    customSetting: _B = jfield()
    createable: _B = jfield()
    updateable: _B = jfield()
    deletable: _B = jfield()
    undeletable: _B = jfield()
    mergeable: _B = jfield()
    queryable: _B = jfield()
    retrieveable: _B = jfield()
    searchable: _B = jfield()
    triggerable: _B = jfield()
    replicateable: _B = jfield()
    layoutable: _B = jfield()
    fields: list[DescribeField] | UnsetType = jnested(DescribeField, many=True)
    childRelationships: list[DescribeChildRelationship] | UnsetType = jnested(
        DescribeChildRelationship, many=True
    )
    recordTypeInfos: list[RecordTypeInfo] | UnsetType = jnested(RecordTypeInfo, many=True)
    urls: dict[str, str] | None | UnsetType = jfield()

    def field(self, name: str) -> DescribeField:
        for f in self.fields or ():
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


@attrs.define(kw_only=True, slots=True)
class DescribeGlobalSObject(JsonModel):
    name: _S = jfield()
    label: _S = jfield()
    labelPlural: _S = jfield()
    keyPrefix: _S = jfield()
    custom: _B = jfield()
    customSetting: _B = jfield()
    createable: _B = jfield()
    updateable: _B = jfield()
    deletable: _B = jfield()
    queryable: _B = jfield()
    searchable: _B = jfield()
    triggerable: _B = jfield()
    urls: dict[str, str] | None | UnsetType = jfield()


@attrs.define(kw_only=True, slots=True)
class DescribeGlobalResult(JsonModel):
    """`GET /sobjects`."""

    encoding: _S = jfield()
    maxBatchSize: _I = jfield()
    sobjects: list[DescribeGlobalSObject] | UnsetType = jnested(DescribeGlobalSObject, many=True)
