"""REST records against the fake org over real sockets: validation from the describe,
create/read/update/delete by id and by external id, replication windows, CDC events."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from salesforce_typed.testing.org import changes, records
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import FieldIndex, PayloadError, coerce, compound_key
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"


def field(name: str, ftype: str = "string", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "label": name.replace("__c", "").replace("_", " "),
        "type": ftype,
        "length": 80 if ftype in ("string", "picklist", "multipicklist") else 0,
        "createable": True,
        "updateable": True,
        "nillable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "restrictedPicklist": False,
        "picklistValues": [],
        "referenceTo": [],
        "relationshipName": None,
        "compoundFieldName": None,
        "precision": 0,
        "scale": 0,
        "defaultValue": None,
    }
    base.update(over)
    return base


def _system(name: str, ftype: str, **over: Any) -> dict[str, Any]:
    return field(name, ftype, createable=False, updateable=False, nillable=False, **over)


def widget_describe() -> dict[str, Any]:
    """A custom object with an external id, restricted picklists and a lookup to Account."""
    picks = [{"active": True, "defaultValue": v == "A", "label": v, "value": v} for v in "ABC"]
    return {
        "name": "Widget__c",
        "label": "Widget",
        "labelPlural": "Widgets",
        "keyPrefix": "a0W",
        "custom": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "urls": {},
        "childRelationships": [],
        "fields": [
            _system("Id", "id", length=18, idLookup=True, defaultedOnCreate=True),
            _system("IsDeleted", "boolean", defaultedOnCreate=True),
            field("Name", nillable=False),
            field("ExtId__c", length=20, externalId=True, idLookup=True, unique=True),
            field("Code__c", length=20, externalId=True),
            field("Kind__c", "picklist", restrictedPicklist=True, picklistValues=picks),
            field("Tags__c", "multipicklist", restrictedPicklist=True, picklistValues=picks),
            field("Count__c", "int"),
            field("Amount__c", "currency", precision=5, scale=2),
            field(
                "Active__c", "boolean", nillable=False, defaultedOnCreate=True, defaultValue=True
            ),
            field("Due__c", "date"),
            field(
                "Account__c", "reference", referenceTo=["Account"], relationshipName="Account__r"
            ),
            field("Street__c", "textarea", length=255),
            _system("CreatedDate", "datetime", defaultedOnCreate=True),
            _system("LastModifiedDate", "datetime", defaultedOnCreate=True),
            _system("SystemModstamp", "datetime", defaultedOnCreate=True),
            field(
                "OwnerId", "reference", referenceTo=["User"], nillable=False, defaultedOnCreate=True
            ),
        ],
    }


@pytest.fixture
def widgets(fake_org: FakeOrg) -> FakeOrg:
    fake_org.state.schema.add_describe(widget_describe())
    store(fake_org.state).ensure_tables()
    return fake_org


@pytest.fixture
def events(fake_org: FakeOrg) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    fake_org.state.change_listeners.append(received.append)
    return received


def create(api: httpx.Client, sobject: str, **values: Any) -> str:
    r = api.post(f"{V}/sobjects/{sobject}", json=values)
    assert r.status_code == 201, r.text
    record_id: str = r.json()["id"]
    return record_id


def error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and body
    first: dict[str, Any] = body[0]
    return first


# -- create and read --------------------------------------------------------------------------


def test_create_returns_201_location_and_reads_back_with_attributes(api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/account", json={"attributes": {"type": "Account"}, "name": "Acme"})
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True and body["errors"] == [] and len(body["id"]) == 18
    assert r.headers["location"] == f"{V}/sobjects/Account/{body['id']}"
    record = api.get(f"{V}/sobjects/Account/{body['id'][:15]}").json()
    assert record["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{body['id']}"}
    assert record["Name"] == "Acme" and record["Id"] == body["id"]
    assert record["Industry"] is None and record["IsDeleted"] is False
    assert record["CreatedDate"].endswith("+0000") and record["OwnerId"].startswith("005")
    assert record["BillingAddress"] is None


def test_get_with_fields_lists_only_those_plus_id_and_nests_addresses(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme", BillingCity="Paris", BillingCountry="FR")
    r = api.get(f"{V}/sobjects/Account/{account}", params={"fields": "name,BillingAddress"})
    assert list(r.json()) == ["attributes", "Name", "BillingAddress", "Id"]
    address = r.json()["BillingAddress"]
    assert address["city"] == "Paris" and address["country"] == "FR" and address["street"] is None
    assert list(address) == sorted(address)
    r = api.get(f"{V}/sobjects/Account/{account}", params={"fields": "Nope"})
    assert error(r, 400)["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope'" in r.json()[0]["message"]


def test_missing_deleted_and_foreign_ids_are_404(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme")
    contact = create(api, "Contact", LastName="Ng")
    r = api.get(f"{V}/sobjects/Account/{contact}")
    assert error(r, 404) == {
        "message": f"Provided external ID field does not exist or is not accessible: {contact}",
        "errorCode": "NOT_FOUND",
    }
    missing = account[:9] + "ZZZZZZ"
    assert error(api.get(f"{V}/sobjects/Account/{missing}"), 404)["errorCode"] == "NOT_FOUND"
    assert error(api.get(f"{V}/sobjects/Nope__c/{account}"), 404)["errorCode"] == "NOT_FOUND"
    assert api.delete(f"{V}/sobjects/Account/{account}").status_code == 204
    assert error(api.get(f"{V}/sobjects/Account/{account}"), 404)["errorCode"] == "NOT_FOUND"
    r = api.patch(f"{V}/sobjects/Account/{account}", json={"Name": "x"})
    assert error(r, 404) == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}
    assert error(api.delete(f"{V}/sobjects/Account/{account}"), 404)["errorCode"] == (
        "ENTITY_IS_DELETED"
    )
    r = api.patch(f"{V}/sobjects/Account/{missing}", json={"Name": "x"})
    assert error(r, 404)["errorCode"] == "NOT_FOUND"


def test_delete_is_soft_and_update_patches_only_sent_fields(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    account = create(api, "Account", Name="Acme", Industry="Energy", Phone="1")
    r = api.patch(f"{V}/sobjects/Account/{account}", json={"phone": None, "Rating": "Hot"})
    assert r.status_code == 204 and r.content == b""
    record = api.get(f"{V}/sobjects/Account/{account}").json()
    assert (record["Industry"], record["Phone"], record["Rating"]) == ("Energy", None, "Hot")
    assert api.delete(f"{V}/sobjects/Account/{account}").status_code == 204
    row = store(fake_org.state).get("Account", account, include_deleted=True)
    assert row is not None and row["IsDeleted"] is True


def test_post_to_id_creates_and_other_verbs_are_405(api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/Account/Id", json={"Name": "Via Id"})
    assert r.status_code == 201
    r = api.post(f"{V}/sobjects/Account/{r.json()['id']}", json={"Name": "x"})
    assert error(r, 405)["errorCode"] == "METHOD_NOT_ALLOWED"
    assert error(api.put(f"{V}/sobjects/Account", json={}), 405)["errorCode"] == (
        "METHOD_NOT_ALLOWED"
    )


# -- validation -------------------------------------------------------------------------------


def test_unknown_field_and_unparseable_bodies(api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/Account", json={"Name": "A", "Foo__c": 1})
    assert error(r, 400) == {
        "message": "No such column 'Foo__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD",
    }
    assert error(api.post(f"{V}/sobjects/Account", json=[{"Name": "A"}]), 400)["errorCode"] == (
        "JSON_PARSER_ERROR"
    )
    r = api.post(
        f"{V}/sobjects/Account", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert error(r, 400)["errorCode"] == "JSON_PARSER_ERROR"
    assert error(api.post(f"{V}/sobjects/Account"), 400)["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    ("values", "type_name", "token"),
    [
        ({"NumberOfEmployees": "many"}, "int", "VALUE_STRING value many"),
        ({"NumberOfEmployees": 1.5}, "int", "VALUE_NUMBER_FLOAT value 1.5"),
        ({"AnnualRevenue": True}, "currency", "VALUE_TRUE value true"),
        ({"Name": {"a": 1}}, "string", "START_OBJECT value {"),
        ({"Industry": ["Energy"]}, "picklist", "START_ARRAY value ["),
    ],
)
def test_type_errors_are_json_parser_errors(
    api: httpx.Client, values: dict[str, Any], type_name: str, token: str
) -> None:
    r = api.post(f"{V}/sobjects/Account", json={"Name": "A", **values})
    entry = error(r, 400)
    assert entry["errorCode"] == "JSON_PARSER_ERROR"
    assert entry["message"].startswith(f"Cannot deserialize instance of {type_name} from {token}")


def test_lenient_coercion_like_salesforce(widgets: FakeOrg, api: httpx.Client) -> None:
    widget = create(
        api,
        "Widget__c",
        Name=12,
        Count__c="7",
        Amount__c="12.5",
        Active__c="false",
        Due__c="2024-02-29",
    )
    record = api.get(f"{V}/sobjects/Widget__c/{widget}").json()
    assert record["Name"] == "12" and record["Count__c"] == 7 and record["Amount__c"] == 12.5
    assert record["Active__c"] is False and record["Due__c"] == "2024-02-29"
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "x", "Due__c": "2024-02-30"})
    assert error(r, 400)["errorCode"] == "JSON_PARSER_ERROR"


def test_read_only_fields_are_refused_on_insert_and_update(api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/Account", json={"Name": "A", "CreatedDate": "2024-01-01T00:00:00Z"})
    entry = error(r, 400)
    assert entry["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert entry["message"].startswith("Unable to create/update fields: CreatedDate. Please check")
    assert entry["fields"] == ["CreatedDate"]
    r = api.post(f"{V}/sobjects/Account", json={"Name": "A", "Id": "001000000000001AAA"})
    assert error(r, 400)["message"] == "Record ID: cannot specify Id in an insert call"
    contact = create(api, "Contact", LastName="Ng")
    r = api.patch(f"{V}/sobjects/Contact/{contact}", json={"Name": "x", "BillingCity": 1})
    assert error(r, 400)["errorCode"] == "INVALID_FIELD"  # BillingCity is no Contact field
    r = api.patch(f"{V}/sobjects/Contact/{contact}", json={"Name": "x", "PhotoUrl": "y"})
    entry = error(r, 400)
    assert entry["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert entry["fields"] == ["Name", "PhotoUrl"]


def test_required_fields_on_insert_and_nulls_on_update(api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/Contact", json={"FirstName": "Ada"})
    assert error(r, 400) == {
        "message": "Required fields are missing: [LastName]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName"],
    }
    assert error(api.post(f"{V}/sobjects/Account", json={"Name": ""}), 400)["fields"] == ["Name"]
    contact = create(api, "Contact", LastName="Ng")
    r = api.patch(f"{V}/sobjects/Contact/{contact}", json={"LastName": None})
    assert error(r, 400)["errorCode"] == "REQUIRED_FIELD_MISSING"
    record = api.get(f"{V}/sobjects/Contact/{contact}").json()
    assert record["Name"] == "Ng"  # derived Name
    case = api.get(f"{V}/sobjects/Case/{create(api, 'Case', Subject='s')}").json()
    assert case["IsEscalated"] is False and case["Status"] == "New"  # defaults


def test_length_picklists_and_numeric_range(widgets: FakeOrg, api: httpx.Client) -> None:
    r = api.post(f"{V}/sobjects/Account", json={"Name": "x" * 256})
    entry = error(r, 400)
    assert entry["errorCode"] == "STRING_TOO_LONG" and entry["fields"] == ["Name"]
    assert entry["message"] == f"Account Name: data value too large: {'x' * 256} (max length=255)"
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Kind__c": "Z"})
    assert error(r, 400) == {
        "message": "Kind: bad value for restricted picklist field: Z",
        "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "fields": ["Kind__c"],
    }
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Tags__c": "A;Q"})
    assert "bad value for restricted picklist field: Q" in error(r, 400)["message"]
    r = api.post(f"{V}/sobjects/Account", json={"Name": "a", "BillingGeocodeAccuracy": "Nope"})
    assert error(r, 400)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Amount__c": 1000})
    assert error(r, 400)["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    widget = create(api, "Widget__c", Name="w", Tags__c="A;B")
    record = api.get(f"{V}/sobjects/Widget__c/{widget}").json()
    assert record["Kind__c"] == "A" and record["Active__c"] is True  # describe defaults


def test_references_are_checked_for_format_type_and_existence(api: httpx.Client) -> None:
    account = create(api, "Account", Name="Acme")
    opportunity = create(
        api, "Opportunity", Name="O", StageName="Prospecting", CloseDate="2024-01-01"
    )
    r = api.post(f"{V}/sobjects/Contact", json={"LastName": "a", "AccountId": "nope"})
    assert error(r, 400) == {
        "message": "Account ID: id value of incorrect type: nope",
        "errorCode": "MALFORMED_ID",
        "fields": ["AccountId"],
    }
    r = api.post(f"{V}/sobjects/Contact", json={"LastName": "a", "AccountId": opportunity})
    entry = error(r, 400)
    assert entry["errorCode"] == "FIELD_INTEGRITY_EXCEPTION" and entry["fields"] == ["AccountId"]
    gone = account[:9] + "ZZZZZZ"
    r = api.post(f"{V}/sobjects/Contact", json={"LastName": "a", "AccountId": gone})
    assert error(r, 400) == {
        "message": "invalid cross reference id",
        "errorCode": "INVALID_CROSS_REFERENCE_KEY",
        "fields": [],
    }
    contact = create(api, "Contact", LastName="a", AccountId=account[:15])
    assert api.get(f"{V}/sobjects/Contact/{contact}").json()["AccountId"] == account
    user = api.get(f"{V}/sobjects/Contact/{contact}").json()["OwnerId"]
    assert create(api, "Contact", LastName="b", OwnerId=user)


def test_relationship_by_external_id(widgets: FakeOrg, api: httpx.Client) -> None:
    doc = dict(widgets.state.schema.describe("Account") or {})
    doc["fields"] = [*doc["fields"], field("Ref__c", length=20, externalId=True)]
    widgets.state.schema.add_describe(doc)  # Account gains an external id for this test
    store(widgets.state).ensure_tables()
    account = create(api, "Account", Name="Acme", Ref__c="A-1")
    widget = create(api, "Widget__c", Name="w", account__r={"Ref__c": "a-1"})
    assert api.get(f"{V}/sobjects/Widget__c/{widget}").json()["Account__c"] == account
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Account__r": {"Ref__c": "A-2"}})
    assert error(r, 400) == {
        "message": "Foreign key external ID: A-2 not found for field Ref__c in entity Account",
        "errorCode": "INVALID_FIELD",
        "fields": [],
    }
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Account__r": {"Nope": "x"}})
    assert error(r, 400)["message"] == "No such column 'Nope' on sobject of type Account"
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Account__r": {"Name": "Acme"}})
    entry = error(r, 400)
    assert entry["errorCode"] == "INVALID_FIELD" and "not an External ID" in entry["message"]
    create(api, "Account", Name="Other", Ref__c="A-1")
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w", "Account__r": {"Ref__c": "A-1"}})
    assert "matched multiple records" in error(r, 400)["message"]


def test_unique_field_rejects_duplicates(widgets: FakeOrg, api: httpx.Client) -> None:
    first = create(api, "Widget__c", Name="w1", ExtId__c="W-1")
    r = api.post(f"{V}/sobjects/Widget__c", json={"Name": "w2", "ExtId__c": "w-1"})
    entry = error(r, 400)
    assert entry["errorCode"] == "DUPLICATE_VALUE"
    assert entry["message"].endswith(f"duplicates value on record with id: {first}")
    r = api.patch(f"{V}/sobjects/Widget__c/{first}", json={"ExtId__c": "W-1", "Name": "same"})
    assert r.status_code == 204  # its own value is no duplicate


# -- by external id -----------------------------------------------------------------------------


def test_upsert_creates_then_updates_and_reads_by_external_id(
    widgets: FakeOrg, api: httpx.Client
) -> None:
    r = api.patch(f"{V}/sobjects/Widget__c/ExtId__c/W-9", json={"Name": "first"})
    assert r.status_code == 201
    body = r.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    r = api.patch(f"{V}/sobjects/Widget__c/extid__c/w-9", json={"Name": "second"})
    assert r.status_code == 200
    assert r.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    record = api.get(f"{V}/sobjects/Widget__c/ExtId__c/W-9").json()
    assert record["Name"] == "second" and record["ExtId__c"] == "W-9"
    r = api.patch("/services/data/v45.0/sobjects/Widget__c/ExtId__c/W-9", json={"Name": "old"})
    assert r.status_code == 204
    r = api.patch("/services/data/v45.0/sobjects/Widget__c/ExtId__c/W-10", json={"Name": "n"})
    assert r.status_code == 201 and "created" not in r.json()
    r = api.patch(f"{V}/sobjects/Widget__c/ExtId__c/W-11?updateOnly=true", json={"Name": "n"})
    assert error(r, 404)["errorCode"] == "NOT_FOUND"
    assert api.delete(f"{V}/sobjects/Widget__c/ExtId__c/W-9").status_code == 204
    assert error(api.get(f"{V}/sobjects/Widget__c/ExtId__c/W-9"), 404)["errorCode"] == "NOT_FOUND"
    assert error(api.delete(f"{V}/sobjects/Widget__c/ExtId__c/W-9"), 404)["errorCode"] == (
        "NOT_FOUND"
    )


def test_upsert_with_several_matches_is_300_with_record_urls(
    widgets: FakeOrg, api: httpx.Client
) -> None:
    ids = sorted(create(api, "Widget__c", Name=f"w{n}", Code__c="C-1") for n in range(2))
    urls = [f"{V}/sobjects/Widget__c/{i}" for i in ids]
    r = api.patch(f"{V}/sobjects/Widget__c/Code__c/C-1", json={"Name": "x"})
    assert r.status_code == 300 and r.json() == urls
    assert api.get(f"{V}/sobjects/Widget__c/Code__c/C-1").status_code == 300
    assert api.delete(f"{V}/sobjects/Widget__c/Code__c/C-1").status_code == 300
    names = {api.get(f"{V}/sobjects/Widget__c/{i}").json()["Name"] for i in ids}
    assert names == {"w0", "w1"}


def test_external_id_field_must_exist_and_be_external(widgets: FakeOrg, api: httpx.Client) -> None:
    r = api.patch(f"{V}/sobjects/Widget__c/Namez/x", json={"Name": "x"})
    assert error(r, 404) == {
        "message": "Provided external ID field does not exist or is not accessible: Namez",
        "errorCode": "NOT_FOUND",
    }
    r = api.patch(f"{V}/sobjects/Widget__c/Name/x", json={"Name": "x"})
    entry = error(r, 400)
    assert entry["errorCode"] == "INVALID_FIELD" and "not an External ID" in entry["message"]
    widget = create(api, "Widget__c", Name="w")
    assert api.get(f"{V}/sobjects/Widget__c/Id/{widget}").json()["Id"] == widget
    r = api.patch(f"{V}/sobjects/Widget__c/Id/{widget}", json={"Name": "via id"})
    assert r.status_code == 200 and r.json()["created"] is False


# -- replication --------------------------------------------------------------------------------


def test_updated_and_deleted_windows(fake_org: FakeOrg, api: httpx.Client) -> None:
    t0 = (int(time.time()) // 60 + 1) * 60  # the start of a minute, just ahead of now
    now = [t0 + 5.0]
    fake_org.state.clock = lambda: now[0]
    a = create(api, "Account", Name="A")
    b = create(api, "Account", Name="B")
    now[0] = t0 + 65
    api.patch(f"{V}/sobjects/Account/{a}", json={"Name": "A2"})
    api.delete(f"{V}/sobjects/Account/{b}")
    now[0] = t0 + 130

    def iso(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))

    r = api.get(f"{V}/sobjects/Account/updated", params={"start": iso(t0), "end": iso(t0 + 59)})
    assert r.json() == {"ids": [], "latestDateCovered": iso(t0).replace("+00:00", ".000+0000")}
    r = api.get(f"{V}/sobjects/Account/updated/", params={"start": iso(t0), "end": iso(t0 + 3600)})
    assert r.json()["ids"] == [a]  # b is deleted; the window ends at the current minute
    assert r.json()["latestDateCovered"] == iso(t0 + 120).replace("+00:00", ".000+0000")
    r = api.get(f"{V}/sobjects/Account/deleted", params={"start": iso(t0), "end": iso(t0 + 3600)})
    body = r.json()
    assert [d["id"] for d in body["deletedRecords"]] == [b]
    assert body["deletedRecords"][0]["deletedDate"].startswith(iso(t0 + 65)[:19])
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    r = api.get(f"{V}/sobjects/Account/updated", params={"start": iso(t0)})
    assert error(r, 400)["errorCode"] == "MISSING_ARGUMENT"
    r = api.get(f"{V}/sobjects/Account/updated", params={"start": iso(t0 + 120), "end": iso(t0)})
    assert error(r, 400)["errorCode"] == "INVALID_REPLICATION_DATE"
    old = iso(t0 - 40 * 86400)
    r = api.get(f"{V}/sobjects/Account/deleted", params={"start": old, "end": iso(t0)})
    assert error(r, 400)["errorCode"] == "INVALID_REPLICATION_DATE"


# -- change events ------------------------------------------------------------------------------


def test_writes_publish_cdc_events_with_origin_and_fields(
    fake_org: FakeOrg, api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    headers = {"Sforce-Call-Options": "client=billing-sync; defaultNamespace=ns"}
    r = api.post(
        f"{V}/sobjects/Account", json={"Name": "Acme", "BillingCity": "Paris"}, headers=headers
    )
    account = r.json()["id"]
    api.patch(f"{V}/sobjects/Account/{account}", json={"Rating": "Hot", "Phone": None})
    api.delete(f"{V}/sobjects/Account/{account}")
    created, updated, deleted = events
    header = created["ChangeEventHeader"]
    assert header["entityName"] == "Account" and header["recordIds"] == [account]
    assert header["changeType"] == "CREATE"
    assert header["changeOrigin"] == "com/salesforce/api/rest/62.0;client=billing-sync"
    assert header["commitUser"] == fake_org.state.config.user_id
    assert header["sequenceNumber"] == 1 and len(header["transactionKey"]) == 36
    assert isinstance(header["commitTimestamp"], int) and header["commitTimestamp"] > 10**12
    assert created["Name"] == "Acme" and created["BillingAddress"] == {"City": "Paris"}
    assert created["CreatedDate"].endswith("Z") and "Id" not in created
    header = updated["ChangeEventHeader"]
    assert (
        header["changeType"] == "UPDATE"
        and header["changeOrigin"] == "com/salesforce/api/rest/62.0"
    )
    assert header["changedFields"] == ["Rating", "Phone", "LastModifiedDate"]
    assert header["nulledFields"] == ["Phone"] and header["diffFields"] == []
    # CometD bodies carry a field set to null, with a null value (cdc.md, body fields)
    assert set(updated) == {"ChangeEventHeader", "Rating", "Phone", "LastModifiedDate"}
    assert updated["Phone"] is None
    assert header["commitNumber"] > created["ChangeEventHeader"]["commitNumber"]
    assert deleted["ChangeEventHeader"]["changeType"] == "DELETE"
    assert set(deleted) == {"ChangeEventHeader"}


def test_compound_components_in_update_events(
    api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    account = create(api, "Account", Name="Acme")
    api.patch(
        f"{V}/sobjects/Account/{account}", json={"BillingCity": "Lyon", "BillingStreet": None}
    )
    update = events[-1]
    assert update["BillingAddress"] == {"City": "Lyon", "Street": None}
    header = update["ChangeEventHeader"]
    assert header["changedFields"] == [
        "BillingAddress.City",
        "BillingAddress.Street",
        "LastModifiedDate",
    ]
    assert header["nulledFields"] == ["BillingAddress.Street"]


def test_nothing_is_built_without_listeners(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> dict[str, Any]:
        raise AssertionError("built a change event nobody listens to")

    monkeypatch.setattr(changes, "nest_fields", boom)
    account = create(api, "Account", Name="Acme")
    assert api.patch(f"{V}/sobjects/Account/{account}", json={"Name": "B"}).status_code == 204


def test_undelete_restores_and_publishes(
    fake_org: FakeOrg, api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    account = create(api, "Account", Name="Acme")
    api.delete(f"{V}/sobjects/Account/{account}")
    outcome = records.undelete(fake_org.state, "Account", account)
    assert outcome.success and outcome.id == account
    assert api.get(f"{V}/sobjects/Account/{account}").json()["Name"] == "Acme"
    assert events[-1]["ChangeEventHeader"]["changeType"] == "UNDELETE"
    assert events[-1]["Name"] == "Acme"
    again = records.undelete(fake_org.state, "Account", account)
    assert [e.code for e in again.errors] == ["UNDELETE_FAILED"]
    unknown = records.undelete(fake_org.state, "Account", account[:9] + "ZZZZZZ")
    assert [e.code for e in unknown.errors] == ["INVALID_CROSS_REFERENCE_KEY"]


# -- pure pieces --------------------------------------------------------------------------------


def test_compound_keys_and_field_index() -> None:
    assert compound_key("BillingAddress", "BillingPostalCode") == "PostalCode"
    assert compound_key("Loc__c", "Loc__Latitude__s") == "Latitude"
    assert compound_key("Addr__c", "Addr__City__s") == "City"
    index = FieldIndex("Widget__c", widget_describe()["fields"])
    assert index.field("extid__C") is not None and index.relationship("account__R") is not None
    assert index.lookup_fields() == ["Id", "ExtId__c", "Code__c"]
    with pytest.raises(PayloadError):
        coerce(index.fields["Count__c"], [1])
    assert coerce(index.fields["Active__c"], None) is False
    assert changes.call_options_client("defaultNamespace=x, client=abc") == "abc"
    assert changes.call_options_client("defaultNamespace=x") is None
