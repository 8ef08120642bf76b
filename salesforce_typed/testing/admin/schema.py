"""The admin schema API: add, change and remove fields at run time, as an admin would in
Setup, so drift checks and clients can be tested against a changing org.

    POST   /_admin/schema/fields                     {"sobject": "Account", "field": {...}}
    PATCH  /_admin/schema/fields/{sobject}/{field}   {"length": 80, "addPicklistValues": [...]}
    DELETE /_admin/schema/fields/{sobject}/{field}

Field bodies use describe's keys (name, type, label, length, precision, scale, nillable,
createable, updateable, defaultedOnCreate, restrictedPicklist, referenceTo,
relationshipName; picklistValues as values or describe entries); PATCH also takes
addPicklistValues, removePicklistValues and inactivePicklistValues. Each change replaces
the object's describe (describe's Last-Modified moves on) and its SQLite table follows: a
new column, a dropped one, a retyped one cleared (its values are not converted).
Changes live as long as the org process: a restart reloads the schema it started with.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Final

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.testing.org.describe import field_describe
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store

# Types a field can be given here: stored as one column, no compound parts.
_TYPES = frozenset(
    {
        "string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
        "combobox", "boolean", "int", "double", "currency", "percent", "date", "datetime",
        "time", "reference",
    }
)  # fmt: skip
# Fields the store and every record need: never removed or retyped.
_SYSTEM = frozenset(
    {
        "id", "isdeleted", "createddate", "createdbyid", "lastmodifieddate",
        "lastmodifiedbyid", "systemmodstamp",
    }
)  # fmt: skip
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}(__c)?")
_BOOLS = {
    "nillable": "nillable",
    "createable": "createable",
    "updateable": "updateable",
    "defaultedOnCreate": "defaulted_on_create",
    "restrictedPicklist": "restricted_picklist",
    "externalId": "external_id",
    "unique": "unique",
}
_INTS = {"length": "length", "precision": "precision", "scale": "scale"}
_PICKLIST_EDITS = ("addPicklistValues", "removePicklistValues", "inactivePicklistValues")
_KEYS = frozenset(
    {"name", "type", "label", "referenceTo", "relationshipName", "picklistValues"}
    | set(_BOOLS)
    | set(_INTS)
)


def _bad(message: str, fields: list[str] | None = None) -> SfError:
    return SfError(400, "INVALID_FIELD", message, fields)


def _describe(state: OrgState, sobject: str) -> dict[str, Any]:
    doc = state.schema.describe(sobject)
    if doc is None:
        raise SfError(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")
    return copy.deepcopy(doc)


def _info_kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    """An existing field describe -> FieldInfo arguments (what a rebuild keeps)."""
    values = [p for p in raw.get("picklistValues") or () if isinstance(p, dict)]
    return {
        "name": raw["name"],
        "type": raw["type"],
        "label": raw.get("label") or "",
        "length": int(raw.get("length") or 0),
        "precision": int(raw.get("precision") or raw.get("digits") or 0),
        "scale": int(raw.get("scale") or 0),
        "custom": bool(raw.get("custom")),
        "calculated": bool(raw.get("calculated")),
        "name_field": bool(raw.get("nameField")),
        "id_lookup": bool(raw.get("idLookup")),
        "reference_to": tuple(raw.get("referenceTo") or ()),
        "relationship_name": raw.get("relationshipName"),
        "picklist_values": tuple(str(p["value"]) for p in values),
        "picklist_labels": tuple(str(p.get("label") or p["value"]) for p in values),
        "inactive_picklist_values": tuple(
            str(p["value"]) for p in values if not p.get("active", True)
        ),
        "default_picklist_value": next(
            (str(p["value"]) for p in values if p.get("defaultValue")), None
        ),
        **{attr: bool(raw.get(key)) for key, attr in _BOOLS.items()},
    }


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(f"{key} must be a list of non-empty strings", [key])
    return value


def _apply(kwargs: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The body's describe keys over `kwargs`, each checked (never a 500 on bad input)."""
    for key, attr in _BOOLS.items():
        if key in body:
            if not isinstance(body[key], bool):
                raise _bad(f"{key} must be true or false", [key])
            kwargs[attr] = body[key]
    for key, attr in _INTS.items():
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 131072:
                raise _bad(f"{key} must be an integer from 0 to 131072", [key])
            kwargs[attr] = value
    if "type" in body:
        if not isinstance(body["type"], str) or body["type"] not in _TYPES:
            raise _bad(f"type must be one of {sorted(_TYPES)}", ["type"])
        kwargs["type"] = body["type"]
    if "label" in body:
        if not isinstance(body["label"], str):
            raise _bad("label must be a string", ["label"])
        kwargs["label"] = body["label"]
    if "referenceTo" in body:
        kwargs["reference_to"] = tuple(_strings(body, "referenceTo"))
    if "relationshipName" in body:
        rel = body["relationshipName"]
        if rel is not None and not (isinstance(rel, str) and _NAME.fullmatch(rel)):
            raise _bad("relationshipName must be a name or null", ["relationshipName"])
        kwargs["relationship_name"] = rel
    if "picklistValues" in body:
        values = body["picklistValues"]
        if not isinstance(values, list):
            raise _bad("picklistValues must be a list", ["picklistValues"])
        entries = [v if isinstance(v, dict) else {"value": v} for v in values]
        if not all(isinstance(e.get("value"), str) and e["value"] for e in entries):
            raise _bad("each picklist value needs a non-empty string value", ["picklistValues"])
        kwargs["picklist_values"] = tuple(e["value"] for e in entries)
        kwargs["picklist_labels"] = tuple(str(e.get("label") or e["value"]) for e in entries)
        kwargs["inactive_picklist_values"] = tuple(
            e["value"] for e in entries if e.get("active") is False
        )
        kwargs["default_picklist_value"] = next(
            (e["value"] for e in entries if e.get("defaultValue") is True), None
        )
    _edit_picklist(kwargs, body)
    return kwargs


def _edit_picklist(kwargs: dict[str, Any], body: dict[str, Any]) -> None:
    added = _strings(body, "addPicklistValues")
    removed = set(_strings(body, "removePicklistValues"))
    inactive = set(_strings(body, "inactivePicklistValues"))
    if not (added or removed or inactive):
        return
    pairs = [
        (v, label)
        for v, label in zip(kwargs["picklist_values"], kwargs["picklist_labels"], strict=True)
        if v not in removed
    ]
    pairs += [(v, v) for v in added if v not in kwargs["picklist_values"]]
    kwargs["picklist_values"] = tuple(v for v, _ in pairs)
    kwargs["picklist_labels"] = tuple(label for _, label in pairs)
    kept = set(kwargs["picklist_values"])
    kwargs["inactive_picklist_values"] = tuple(
        v
        for v in kwargs["picklist_values"]
        if v in inactive or (v in kwargs["inactive_picklist_values"] and v not in added)
    )
    if kwargs["default_picklist_value"] not in kept:
        kwargs["default_picklist_value"] = None


def _field_doc(kwargs: dict[str, Any]) -> dict[str, Any]:
    ftype = kwargs["type"]
    if ftype == "reference" and not kwargs["reference_to"]:
        raise _bad("a reference field needs referenceTo", ["referenceTo"])
    if ftype not in ("picklist", "multipicklist"):
        for key in ("picklist_values", "picklist_labels", "inactive_picklist_values"):
            kwargs[key] = ()
        kwargs["default_picklist_value"] = None
        kwargs["restricted_picklist"] = False
    if (
        ftype in ("string", "textarea", "email", "phone", "url", "combobox")
        and not kwargs["length"]
    ):
        kwargs["length"] = 255
    if ftype in ("picklist", "multipicklist") and not kwargs["length"]:
        kwargs["length"] = 255 if ftype == "picklist" else 4099
    if ftype in ("id", "reference"):
        kwargs["length"] = 18
    return field_describe(FieldInfo(**kwargs))


def _commit(req: Request, doc: dict[str, Any], dropped: tuple[str, ...] = ()) -> Response:
    name = req.org.schema.add_describe(doc)
    store(req.org).follow_schema(name, dropped)
    return Response.json({"sobject": name, "fields": [f["name"] for f in doc["fields"]]})


async def add_field(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("field"), dict):
        raise _bad('the body is {"sobject": NAME, "field": {describe keys}}')
    sobject, field = body.get("sobject"), body["field"]
    if not isinstance(sobject, str):
        raise _bad("sobject must be a string", ["sobject"])
    unknown = sorted(set(field) - _KEYS)
    if unknown:
        raise _bad(f"unknown field keys: {', '.join(unknown)}", unknown)
    name = field.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad("name must be a field API name (letters, digits, _; custom ends __c)", ["name"])
    if "type" not in field:
        raise _bad("type is required", ["type"])
    doc = _describe(req.org, sobject)
    if any(f["name"].lower() == name.lower() for f in doc["fields"]):
        raise SfError(400, "DUPLICATE_DEVELOPER_NAME", f"{doc['name']}.{name} already exists")
    kwargs = _info_kwargs({"name": name, "type": field["type"], "label": name})
    boolean = field["type"] == "boolean"  # a checkbox is never null: false unless set
    kwargs.update(custom=name.endswith("__c"), createable=True, updateable=True)
    kwargs.update(nillable=not boolean, defaulted_on_create=boolean)
    doc["fields"].append(_field_doc(_apply(kwargs, field)))
    return _commit(req, doc)


def _existing(doc: dict[str, Any], name: str) -> int:
    for i, f in enumerate(doc["fields"]):
        if f["name"].lower() == name.lower():
            if name.lower() in _SYSTEM or f.get("compoundFieldName") or f["type"] in (
                "address", "location", "id",
            ):  # fmt: skip
                raise _bad(f"{doc['name']}.{f['name']} is a system or compound field", [name])
            return i
    raise SfError(404, "NOT_FOUND", f"No such column '{name}' on entity '{doc['name']}'")


async def change_field(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise _bad("the body is a JSON object of describe keys")
    unknown = sorted(set(body) - _KEYS - set(_PICKLIST_EDITS) - {"name"})
    if unknown or body.get("name", req.params["field"]) != req.params["field"]:
        raise _bad(f"unknown or unchangeable keys: {', '.join(unknown) or 'name'}", unknown)
    doc = _describe(req.org, req.params["sobject"])
    at = _existing(doc, req.params["field"])
    old = doc["fields"][at]
    doc["fields"][at] = _field_doc(_apply(_info_kwargs(old), body))
    retyped = doc["fields"][at]["type"] != old["type"]
    return _commit(req, doc, (old["name"],) if retyped else ())


async def remove_field(req: Request) -> Response:
    doc = _describe(req.org, req.params["sobject"])
    at = _existing(doc, req.params["field"])
    removed = doc["fields"].pop(at)
    return _commit(req, doc, (removed["name"],))


PUBLIC_ROUTES: Final = (
    ("POST", "/_admin/schema/fields", add_field),
    ("PATCH", "/_admin/schema/fields/{sobject}/{field}", change_field),
    ("DELETE", "/_admin/schema/fields/{sobject}/{field}", remove_field),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(PUBLIC_ROUTES, auth=False)
