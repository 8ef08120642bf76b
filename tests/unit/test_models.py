"""Generated models in use: UNSET vs None, payloads, types, relationships, metadata."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import salesforce_typed_std as std
from salesforce_typed import UNSET, Address, ChangeType, Record, RelatedList, UnknownFieldError
from salesforce_typed.core.codecs import FieldValueError
from salesforce_typed.rest._async.client import endpoints_for


def test_metadata_is_class_level_not_a_slot() -> None:
    names = {a.name for a in attrs.fields(std.Account)}
    assert "__sf_fields__" not in names and "__sobject_type__" not in names
    assert isinstance(std.Account.__sf_fields__, tuple)
    assert std.Account.sobject_type() == "Account"
    assert std.Account.__sf_object__ is not None and std.Account.__sf_object__.key_prefix == "001"


def test_field_metadata_at_run_time() -> None:
    name = std.Account.field_info("Name")
    assert (name.type, name.length, name.nillable, name.createable) == ("string", 255, False, True)
    ident = std.Account.field_info("Id")
    assert not ident.createable and not ident.updateable
    owner = std.Contact.field_info("AccountId")
    assert owner.reference_to == ("Account",) and owner.relationship_name == "Account"
    industry = std.Account.field_info("Industry")
    assert "Banking" in industry.picklist_values and industry.enum is std.AccountIndustryPicklist
    with pytest.raises(KeyError):
        std.Account.field_info("Nope__c")


def test_unset_is_not_none() -> None:
    acc = std.Account(Name="Acme", Industry=None)
    assert acc.BillingCity is UNSET
    assert acc.Industry is None
    assert acc.to_dict() == {"Name": "Acme", "Industry": None}
    assert list(acc.set_fields()) == ["Name", "Industry"]


def test_create_and_update_payloads_hold_only_writable_set_fields() -> None:
    acc = std.Account(
        Id="001000000000001AAA",
        Name="Acme",
        Industry=None,
        IsDeleted=False,
        CreatedDate=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    assert acc.to_create_payload() == {"Name": "Acme", "Industry": None}
    assert acc.to_update_payload() == {"Name": "Acme", "Industry": None}
    opp = std.Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2024, 3, 31))
    assert opp.to_create_payload() == {
        "Name": "Deal",
        "StageName": "Prospecting",
        "CloseDate": "2024-03-31",
    }


def test_create_only_field_is_left_out_of_update_payload() -> None:
    create_only = [f for f in std.ContentVersion.__sf_fields__ if f.createable and not f.updateable]
    assert create_only, "the catalog has create-only fields (e.g. ContentVersion.PathOnClient)"
    info = create_only[0]
    rec = std.ContentVersion(Title="t", **{info.attr_name: "x" if info.type != "base64" else b"x"})
    assert info.name in rec.to_create_payload()
    assert info.name not in rec.to_update_payload()


def test_base64_bytes_are_encoded() -> None:
    rec = std.ContentVersion(Title="hello.txt", PathOnClient="hello.txt", VersionData=b"hello")
    assert rec.to_create_payload()["VersionData"] == "aGVsbG8="


def test_picklists_known_values_typed_unknown_accepted() -> None:
    acc = std.Account.from_dict({"Industry": "Banking", "Rating": "Lukewarm"})
    assert acc.Industry is std.AccountIndustryPicklist.BANKING
    assert acc.Industry == "Banking"
    assert acc.Rating == "Lukewarm" and not isinstance(acc.Rating, std.AccountRatingPicklist)
    assert acc.to_dict() == {"Industry": "Banking", "Rating": "Lukewarm"}


def test_datetime_date_time_and_multipicklist_codecs() -> None:
    raw = {"CreatedDate": "2024-01-01T00:00:00.000+0000", "CloseDate": "2024-02-29"}
    opp = std.Opportunity.from_dict(raw)
    assert opp.CreatedDate == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert opp.CloseDate == dt.date(2024, 2, 29)
    assert opp.to_dict() == raw
    naive = std.Opportunity(CloseDate=dt.date(2024, 1, 2))
    assert naive.to_dict() == {"CloseDate": "2024-01-02"}


def test_address_compound_round_trip() -> None:
    raw = {"BillingAddress": {"city": "Paris", "country": "FR", "street": None}}
    acc = std.Account.from_dict(raw)
    assert isinstance(acc.BillingAddress, Address) and acc.BillingAddress.city == "Paris"
    assert acc.to_dict() == raw
    assert (
        "BillingAddress" not in std.Account(BillingAddress=acc.BillingAddress).to_create_payload()
    )


def test_unknown_keys_kept_loose_rejected_strict() -> None:
    raw = {"Name": "Acme", "Region__c": "EMEA"}
    acc = std.Account.from_dict(raw)
    assert acc.extra_fields == {"Region__c": "EMEA"}
    assert acc["Region__c"] == "EMEA" and acc["Name"] == "Acme"
    assert acc.to_dict() == raw
    assert "Region__c" not in acc.to_update_payload()
    assert acc.to_update_payload(include_extra=True)["Region__c"] == "EMEA"
    with pytest.raises(UnknownFieldError):
        std.Account.from_dict(raw, strict=True)


def test_strict_rejects_wrong_json_types() -> None:
    with pytest.raises(FieldValueError):
        std.Account.from_dict({"NumberOfEmployees": "ten"}, strict=True)
    with pytest.raises(FieldValueError):
        std.Account.from_dict({"Name": True}, strict=True)
    std.Account.from_dict({"NumberOfEmployees": 10, "AnnualRevenue": 1}, strict=True)


def test_nulls_everywhere_do_not_crash() -> None:
    raw = {f.name: None for f in std.Account.__sf_fields__}
    acc = std.Account.from_dict(raw, strict=True)
    assert acc.to_dict() == raw


def test_parent_relationship_typed_and_polymorphic_fallback() -> None:
    raw = {
        "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003x"},
        "Id": "003000000000001AAA",
        "Account": {"attributes": {"type": "Account", "url": "/x"}, "Name": "Acme"},
        "Owner": {"attributes": {"type": "User", "url": "/y"}, "Name": "Ann"},
    }
    con = std.Contact.from_dict(raw)
    assert isinstance(con.Account, std.Account) and con.Account.Name == "Acme"
    assert isinstance(con.Owner, std.User)
    assert con.to_dict() == raw
    task = std.Task.from_dict({"Who": {"attributes": {"type": "Lead"}, "Company": "X"}})
    assert isinstance(task.Who, std.Lead)
    odd = std.Task.from_dict({"What": {"attributes": {"type": "Solution"}, "SolutionName": "s"}})
    assert isinstance(odd.What, Record) and odd.What["SolutionName"] == "s"


def test_child_relationship_list_typed() -> None:
    raw = {
        "Name": "Acme",
        "Contacts": {
            "totalSize": 1,
            "done": True,
            "records": [{"attributes": {"type": "Contact"}, "LastName": "Doe"}],
        },
    }
    acc = std.Account.from_dict(raw)
    assert isinstance(acc.Contacts, RelatedList)
    assert isinstance(acc.Contacts.records[0], std.Contact)
    assert acc.Contacts.records[0].LastName == "Doe"
    assert acc.to_dict() == raw


def test_parent_by_external_id_goes_into_payload() -> None:
    con = std.Contact(LastName="Doe", Account=std.Account(AccountNumber="A-1"))
    assert con.to_create_payload() == {"LastName": "Doe", "Account": {"AccountNumber": "A-1"}}


def test_change_event_model_decodes_header_and_nested_name() -> None:
    payload = {
        "ChangeEventHeader": {
            "entityName": "Contact",
            "recordIds": ["003A", "003B"],
            "changeType": "UPDATE",
            "changeOrigin": "com/salesforce/api/rest/59.0",
            "transactionKey": "k",
            "sequenceNumber": 1,
            "commitTimestamp": 1714564800000,
            "commitNumber": 11,
            "commitUser": "005A",
            "changedFields": ["Name", "LastModifiedDate"],
            "nulledFields": [],
            "diffFields": [],
        },
        "Name": {"FirstName": "Jane", "LastName": "Doe"},
        "LastModifiedDate": "2024-05-01T12:00:00.000Z",
    }
    ev = std.ContactChangeEvent.from_dict(payload)
    assert ev.ChangeEventHeader is not None and ev.ChangeEventHeader is not UNSET
    header = ev.ChangeEventHeader
    assert header.recordIds == ["003A", "003B"] and header.changeType is ChangeType.UPDATE
    assert ev.Name is not None and ev.Name is not UNSET and ev.Name.LastName == "Doe"
    assert isinstance(ev.LastModifiedDate, dt.datetime)
    assert std.ContactChangeEvent.__sf_entity__ == "Contact"


def test_endpoints_build_pure_requests() -> None:
    # The operations class the clients bind to a model (generated packages carry none).
    account = endpoints_for(std.Account)
    get = account.build_get("001000000000001AAA", ["Id", "Name"])
    assert (get.method, get.path, get.params) == (
        "GET",
        "/sobjects/Account/001000000000001AAA",
        (("fields", "Id,Name"),),
    )
    create = account.build_create(std.Account(Name="Acme", Id="x"))
    assert (create.method, create.json, create.idempotent) == ("POST", {"Name": "Acme"}, False)
    up = account.build_upsert("Id", "001x", std.Account(Name="A"))
    assert (up.method, up.path) == ("PATCH", "/sobjects/Account/Id/001x")
    with pytest.raises(ValueError, match="not an external id field"):
        account.build_get_by_external_id("Name", "Acme")
    assert account.parse_save(201, {"id": "001x", "success": True}).created
    assert not account.parse_save(204, None).created


def test_lazy_index_behaviour() -> None:
    assert "Account" in dir(std) and "Account" in std.SOBJECTS
    with pytest.raises(AttributeError):
        _ = std.NotAnObject  # type: ignore[attr-defined]
