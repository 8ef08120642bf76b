"""The fake org's SOAP-only record operations: convertLead, merge, undelete, emptyRecycleBin.

They are built from the same pieces as every other write: `org.records.Writer` for records a
user could have written (validated against the describe, CDC published), the store directly
only for what Salesforce itself sets (a lead's Converted* fields, `MasterRecordId`,
re-parented lookups), each followed by the CDC UPDATE event a real org would send.

What must stay true:
- Each lead conversion and each merge request runs in its own store transaction: one that
  fails leaves no trace (no half-created Account) and does not stop the others.
- convertLead creates Account and Contact (or attaches the given ones), an Opportunity
  unless `doNotCreateOpportunity`, then marks the lead `IsConverted` with the Converted*
  fields and `ConvertedDate`. Fields the org's Lead describe lacks are skipped, not faked.
  Which statuses count as converted is not in the catalog (no LeadStatus object): a Status
  picklist value naming "Converted" but not "Not Converted" does.
- merge takes a Lead, Contact or Account master plus one or two losers of the same type,
  moves every child record (the describe's childRelationships) to the master, sets the
  losers' `MasterRecordId` and deletes them (recycle bin).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import salesforce_typed_soap as wsdl
from salesforce_typed.testing.org import changes
from salesforce_typed.testing.org.records import XREF, Outcome, Writer, field_index, rolled_back
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import RecordStore, store
from salesforce_typed.testing.org.validation import FieldError, FieldIndex
from salesforce_typed.testing.soap.wire import (
    SoapFaultError,
    children,
    errors,
    flag,
    read_sobject,
    text,
)
from salesforce_typed.testing.soql import normalize_id

MERGEABLE = frozenset({"Lead", "Contact", "Account"})

# Lead field -> field of the record conversion creates (skipped where the target lacks it).
ACCOUNT_FROM_LEAD = {
    "Company": "Name",
    "Street": "BillingStreet",
    "City": "BillingCity",
    "State": "BillingState",
    "PostalCode": "BillingPostalCode",
    "Country": "BillingCountry",
    "Phone": "Phone",
    "Fax": "Fax",
    "Website": "Website",
    "Industry": "Industry",
    "AnnualRevenue": "AnnualRevenue",
    "NumberOfEmployees": "NumberOfEmployees",
    "Rating": "Rating",
    "LeadSource": "AccountSource",
}
CONTACT_FROM_LEAD = {
    "Salutation": "Salutation",
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Title": "Title",
    "Email": "Email",
    "Phone": "Phone",
    "MobilePhone": "MobilePhone",
    "Fax": "Fax",
    "Street": "MailingStreet",
    "City": "MailingCity",
    "State": "MailingState",
    "PostalCode": "MailingPostalCode",
    "Country": "MailingCountry",
    "LeadSource": "LeadSource",
    "Description": "Description",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail",
    "DoNotCall": "DoNotCall",
}


class RollbackError(Exception):
    """Raised inside a store transaction to undo it (all-or-none, or one failed item)."""


class ItemFailedError(RollbackError):
    """One conversion or merge failed with this per-record error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.error = FieldError(code, message)


def index_of(state: OrgState, sobject: str) -> FieldIndex:
    index = field_index(state, sobject)
    if index is None:
        raise SoapFaultError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    return index


def _live(st: RecordStore, sobject: str, raw: str | None) -> str:
    record_id = normalize_id(raw) if raw else None
    if record_id is None:
        raise ItemFailedError("MALFORMED_ID", f"bad id {raw}")
    flags = st.deleted_flags(sobject, [record_id])
    if record_id not in flags:
        raise ItemFailedError(XREF.code, XREF.message)
    if flags[record_id]:
        raise ItemFailedError("ENTITY_IS_DELETED", "entity is deleted")
    return record_id


def _created(outcomes: list[Outcome]) -> str:
    outcome = outcomes[0]
    if not outcome.success or outcome.id is None:
        raise ItemFailedError(outcome.errors[0].code, outcome.errors[0].message)
    return outcome.id


def _publish_system_update(
    state: OrgState, writer: Writer, sobject: str, record_id: str, values: dict[str, Any]
) -> None:
    """Write fields only Salesforce may set, and send the CDC UPDATE a real org sends."""
    st = store(state)
    st.update(sobject, record_id, values)
    if changes.listening(state):
        row = st.get(sobject, record_id) or {}
        changes.publish_updates(
            state, index_of(state, sobject), [(row, values)], origin=writer.origin
        )


# -- undelete / emptyRecycleBin ----------------------------------------------------------------


def undelete(
    state: OrgState, writer: Writer, raw_ids: list[str], all_or_none: bool
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        with store(state).transaction():
            for raw in raw_ids:
                record_id = normalize_id(raw)
                sobject = state.schema.by_prefix(record_id[:3]) if record_id else None
                if record_id is None:
                    outcomes.append(
                        Outcome(errors=[FieldError("MALFORMED_ID", f"malformed id {raw}")])
                    )
                elif sobject is None:
                    outcomes.append(Outcome(errors=[XREF]))
                else:
                    outcomes.append(writer.undelete(sobject, record_id))
            if all_or_none and not all(o.success for o in outcomes):
                raise RollbackError
    except RollbackError:
        return rolled_back(outcomes)
    return outcomes


def empty_recycle_bin(state: OrgState, raw_ids: list[str]) -> list[Outcome]:
    """Hard-delete records that are in the recycle bin; live records are refused."""
    st = store(state)
    outcomes: list[Outcome] = []
    with st.transaction():
        for raw in raw_ids:
            record_id = normalize_id(raw)
            sobject = state.schema.by_prefix(record_id[:3]) if record_id else None
            flags = st.deleted_flags(sobject, [record_id]) if sobject and record_id else {}
            if record_id is None or sobject is None or record_id not in flags:
                outcomes.append(
                    Outcome(errors=[FieldError("INVALID_ID_FIELD", f"invalid id: {raw}")])
                )
            elif not flags[record_id]:
                message = "The record is not in the recycle bin"
                outcomes.append(Outcome(errors=[FieldError("INVALID_ID_FIELD", message)]))
            else:
                st.hard_delete(sobject, record_id)
                outcomes.append(Outcome(id=record_id))
    return outcomes


# -- convertLead -----------------------------------------------------------------------------


def _copy(
    lead: Mapping[str, Any], target: FieldIndex, mapping: Mapping[str, str]
) -> dict[str, Any]:
    """Lead values for the fields the target has and lets us create (restricted picklists
    only with a value they allow)."""
    out: dict[str, Any] = {}
    for source, name in mapping.items():
        value = lead.get(source)
        f = target.fields.get(name)
        if value is None or f is None or not f.get("createable"):
            continue
        if f.get("restrictedPicklist"):
            allowed = {p.get("value") for p in f.get("picklistValues") or ()}
            if value not in allowed:
                continue
        out[name] = value
    return out


def _converted_status(lead_index: FieldIndex, status: str | None) -> str:
    values = {
        p.get("value") for p in lead_index.fields.get("Status", {}).get("picklistValues") or ()
    }
    if status and status in values and "Converted" in status and "Not Converted" not in status:
        return status
    raise ItemFailedError("INVALID_STATUS", f"invalid convertedStatus: {status}")


def _end_of_quarter(today: dt.date) -> dt.date:
    last_month = ((today.month - 1) // 3) * 3 + 3
    first_next = dt.date(today.year + last_month // 12, last_month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _default_stage(index: FieldIndex) -> str | None:
    values = [
        p
        for p in index.fields.get("StageName", {}).get("picklistValues") or ()
        if p.get("active", True)
    ]
    default = next((p for p in values if p.get("defaultValue")), values[0] if values else None)
    return None if default is None else str(default.get("value"))


def _record_body(element: ET.Element, name: str) -> dict[str, Any]:
    found = children(element, name)
    return read_sobject(found[0])[2] if found and len(found[0]) else {}


def _convert(state: OrgState, writer: Writer, element: ET.Element) -> wsdl.LeadConvertResult:
    st = store(state)
    lead_index = index_of(state, "Lead")
    lead_id = _live(st, "Lead", text(element, "leadId"))
    lead = st.get("Lead", lead_id) or {}
    if lead.get("IsConverted"):
        raise ItemFailedError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    status = _converted_status(lead_index, text(element, "convertedStatus"))
    owner = text(element, "ownerId")
    today = dt.datetime.fromtimestamp(state.clock(), dt.UTC).date()

    account_id = text(element, "accountId")
    if account_id:
        account_id = _live(st, "Account", account_id)
    else:
        account = _copy(lead, index_of(state, "Account"), ACCOUNT_FROM_LEAD)
        account.setdefault("Name", lead.get("Name"))
        account.update({"OwnerId": owner} if owner else {})
        account.update(_record_body(element, "accountRecord"))
        account_id = _created(writer.create("Account", [account]))

    contact_id = text(element, "contactId")
    if contact_id:
        contact_id = _live(st, "Contact", contact_id)
        if flag(element, "overwriteLeadSource") and lead.get("LeadSource"):
            _created(writer.update("Contact", [(contact_id, {"LeadSource": lead["LeadSource"]})]))
    else:
        contact = _copy(lead, index_of(state, "Contact"), CONTACT_FROM_LEAD)
        contact.update({"AccountId": account_id, **({"OwnerId": owner} if owner else {})})
        contact.update(_record_body(element, "contactRecord"))
        contact_id = _created(writer.create("Contact", [contact]))

    opportunity_id = text(element, "opportunityId")
    if flag(element, "doNotCreateOpportunity"):
        opportunity_id = None
    elif opportunity_id:
        opportunity_id = _live(st, "Opportunity", opportunity_id)
    else:
        opp_index = index_of(state, "Opportunity")
        opportunity = {
            "AccountId": account_id,
            "Name": text(element, "opportunityName") or lead.get("Company") or lead.get("Name"),
            "StageName": _default_stage(opp_index),
            "CloseDate": _end_of_quarter(today).isoformat(),
            **_copy(lead, opp_index, {"LeadSource": "LeadSource"}),
            **({"OwnerId": owner} if owner else {}),
        }
        opportunity.update(_record_body(element, "opportunityRecord"))
        opportunity_id = _created(writer.create("Opportunity", [opportunity]))

    converted = {
        "IsConverted": True,
        "Status": status,
        "ConvertedAccountId": account_id,
        "ConvertedContactId": contact_id,
        "ConvertedOpportunityId": opportunity_id,
        "ConvertedDate": today.isoformat(),
    }
    present = {k: v for k, v in converted.items() if k in lead_index.fields}
    _publish_system_update(state, writer, "Lead", lead_id, present)
    return wsdl.LeadConvertResult(
        account_id=account_id,
        contact_id=contact_id,
        lead_id=lead_id,
        opportunity_id=opportunity_id,
        success=True,
        errors=[],
    )


def convert_leads(
    state: OrgState, writer: Writer, elements: list[ET.Element]
) -> list[wsdl.LeadConvertResult]:
    if len(elements) > 200:
        raise SoapFaultError("LIMIT_EXCEEDED", "Cannot convert more than 200 leads in one call")
    results = []
    for element in elements:
        try:
            with store(state).transaction():
                results.append(_convert(state, writer, element))
        except ItemFailedError as failed:
            results.append(
                wsdl.LeadConvertResult(
                    account_id=None,
                    contact_id=None,
                    lead_id=normalize_id(text(element, "leadId") or ""),
                    opportunity_id=None,
                    success=False,
                    errors=errors([failed.error]),
                )
            )
    return results


# -- merge -----------------------------------------------------------------------------------


def _reparent(
    state: OrgState, writer: Writer, sobject: str, losers: list[str], master: str
) -> list[str]:
    """Point every child record of the losers at the master; returns the children's ids."""
    st = store(state)
    doc = state.schema.describe(sobject) or {}
    moved: list[str] = []
    for rel in doc.get("childRelationships") or ():
        child, field = str(rel.get("childSObject")), str(rel.get("field"))
        child_index = field_index(state, child)
        if child_index is None or field not in child_index.fields or field == "MasterRecordId":
            continue
        try:
            matches = st.ids_by_value(child, field, losers)
        except KeyError:
            continue
        for child_id in dict.fromkeys(i for ids in matches.values() for i in ids):
            _publish_system_update(state, writer, child, child_id, {field: master})
            moved.append(child_id)
    return moved


def _merge_one(state: OrgState, writer: Writer, element: ET.Element) -> wsdl.MergeResult:
    st = store(state)
    found = children(element, "masterRecord")
    if not found:
        raise SoapFaultError("INVALID_FIELD", "masterRecord is required", client=True)
    raw_type, raw_master, body = read_sobject(found[0])
    sobject = state.schema.canonical(raw_type) or raw_type
    if sobject not in MERGEABLE:
        raise ItemFailedError("INVALID_TYPE", f"Cannot merge records of type {raw_type}")
    master = _live(st, sobject, raw_master)
    raw_losers = [text(e) or "" for e in children(element, "recordToMergeIds")]
    if not 1 <= len(raw_losers) <= 2:
        raise ItemFailedError("INVALID_ARGUMENT", "merge takes one or two records to merge")
    losers = []
    for raw in raw_losers:
        record_id = normalize_id(raw)
        if record_id is None or state.schema.by_prefix(record_id[:3]) != sobject:
            raise ItemFailedError("MALFORMED_ID", f"bad id in recordsToMerge: {raw}")
        if record_id == master:
            raise ItemFailedError(
                "INVALID_ID_FIELD", "The master record cannot be merged into itself"
            )
        losers.append(_live(st, sobject, record_id))
    if body:
        _created(writer.update(sobject, [(master, body)]))
    related = _reparent(state, writer, sobject, losers, master)
    if "MasterRecordId" in index_of(state, sobject).fields:
        for loser in losers:
            _publish_system_update(state, writer, sobject, loser, {"MasterRecordId": master})
    for outcome in writer.delete(losers):
        if not outcome.success:
            raise ItemFailedError(outcome.errors[0].code, outcome.errors[0].message)
    return wsdl.MergeResult(
        id=master, merged_record_ids=losers, updated_related_ids=related, success=True, errors=[]
    )


def merge(state: OrgState, writer: Writer, elements: list[ET.Element]) -> list[wsdl.MergeResult]:
    if len(elements) > 200:
        raise SoapFaultError("LIMIT_EXCEEDED", "Cannot merge more than 200 requests in one call")
    results = []
    for element in elements:
        try:
            with store(state).transaction():
                results.append(_merge_one(state, writer, element))
        except ItemFailedError as failed:
            master = children(element, "masterRecord")
            master_id = read_sobject(master[0])[1] if master else None
            results.append(
                wsdl.MergeResult(id=master_id, success=False, errors=errors([failed.error]))
            )
    return results
