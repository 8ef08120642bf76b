"""sObject Collections, composite and composite batch against the fake org over real sockets:
result shapes in input order, allOrNone rollbacks that really roll back, references."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def widget_describe() -> dict[str, Any]:
    """A minimal custom object: Name plus an external id (what upsert needs)."""

    def field(name: str, ftype: str, **flags: Any) -> dict[str, Any]:
        writable = name not in ("Id", "IsDeleted", "CreatedDate", "SystemModstamp")
        base = {"name": name, "label": name, "type": ftype, "length": 80, "nillable": True}
        return {**base, "createable": writable, "updateable": writable, **flags}

    return {
        "name": "Widget__c",
        "keyPrefix": "a0W",
        "fields": [
            field("Id", "id", idLookup=True, nillable=False, defaultedOnCreate=True),
            field("IsDeleted", "boolean", nillable=False, defaultedOnCreate=True),
            field("Name", "string", nillable=False),
            field("ExtId__c", "string", externalId=True, idLookup=True),
            field("CreatedDate", "datetime", nillable=False, defaultedOnCreate=True),
            field("SystemModstamp", "datetime", nillable=False, defaultedOnCreate=True),
        ],
    }


def create(api: httpx.Client, sobject: str, **values: Any) -> str:
    r = api.post(f"{V}/sobjects/{sobject}", json=values)
    assert r.status_code == 201, r.text
    record_id: str = r.json()["id"]
    return record_id


def error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    first: dict[str, Any] = r.json()[0]
    return first


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


def account(name: str, **values: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **values}


def count(org: FakeOrg, sobject: str) -> int:
    st = store(org.state)
    with st.lock:
        row = st.conn.execute(f'SELECT COUNT(*) FROM "{sobject}" WHERE "IsDeleted" = 0').fetchone()
    return int(row[0])


# -- collections: create ------------------------------------------------------------------------


def test_create_200_records_in_order_in_one_transaction(
    fake_org: FakeOrg, api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    records = [account(f"A{n:03d}") for n in range(200)]
    r = api.post(f"{V}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert r.status_code == 200
    results = r.json()
    assert len(results) == 200 and all(x["success"] and x["errors"] == [] for x in results)
    assert len({x["id"] for x in results}) == 200 and set(results[0]) == {"id", "success", "errors"}
    name = api.get(f"{V}/sobjects/Account/{results[17]['id']}").json()["Name"]
    assert name == "A017"
    keys = {e["ChangeEventHeader"]["transactionKey"] for e in events}
    assert len(keys) == 1 and [e["ChangeEventHeader"]["sequenceNumber"] for e in events] == list(
        range(1, 201)
    )


def test_create_limits_and_envelope_errors(api: httpx.Client) -> None:
    too_many = {"records": [account("x")] * 201}
    assert error(api.post(f"{V}/composite/sobjects", json=too_many), 400) == {
        "message": "record limit reached. cannot submit more than 200 records into this call",
        "errorCode": "EXCEEDED_ID_LIMIT",
    }
    r = api.post(f"{V}/composite/sobjects", json={"records": [{"Name": "no type"}]})
    assert error(r, 400) == {
        "message": "Must send a concrete entity type.",
        "errorCode": "INVALID_TYPE",
    }
    r = api.post(f"{V}/composite/sobjects", json={"records": [{"attributes": {"type": "Nope"}}]})
    assert error(r, 404)["errorCode"] == "NOT_FOUND"
    mixed = [
        {"attributes": {"type": t}, "Name": "x", "LastName": "y"}
        for t in ["Account", "Contact"] * 6
    ]
    r = api.post(f"{V}/composite/sobjects", json={"records": mixed})
    assert "more than 10 chunks" in error(r, 400)["message"]
    r = api.post(f"{V}/composite/sobjects", json={"records": [account("x", Bogus=1)]})
    assert error(r, 400)["errorCode"] == "INVALID_FIELD"  # deserialization fails the call


def test_create_partial_success_and_mixed_types(fake_org: FakeOrg, api: httpx.Client) -> None:
    records = [
        account("ok"),
        {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
        {"attributes": {"type": "Contact"}, "LastName": "Ng"},
        account("also ok"),
    ]
    results = api.post(f"{V}/composite/sobjects", json={"records": records}).json()
    assert [x["success"] for x in results] == [True, False, True, True]
    assert results[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    assert results[2]["id"].startswith("003") and results[3]["id"].startswith("001")
    assert count(fake_org, "Account") == 2 and count(fake_org, "Contact") == 1


def test_all_or_none_create_rolls_everything_back(
    fake_org: FakeOrg, api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    records = [account("a"), {"attributes": {"type": "Contact"}, "LastName": "b"}, account("")]
    r = api.post(f"{V}/composite/sobjects", json={"allOrNone": True, "records": records})
    results = r.json()
    assert r.status_code == 200 and [x["success"] for x in results] == [False, False, False]
    assert [x["errors"][0]["statusCode"] for x in results] == [
        ROLLED_BACK,
        ROLLED_BACK,
        "REQUIRED_FIELD_MISSING",
    ]
    assert results[0]["errors"][0]["message"].startswith("Record rolled back because")
    assert all(x["id"] is None for x in results)
    assert count(fake_org, "Account") == 0 and count(fake_org, "Contact") == 0
    assert events == []


# -- collections: update, upsert, delete, retrieve -------------------------------------------


def test_update_results_and_all_or_none(fake_org: FakeOrg, api: httpx.Client) -> None:
    a = create(api, "Account", Name="A")
    b = create(api, "Account", Name="B")
    gone = create(api, "Account", Name="Gone")
    api.delete(f"{V}/sobjects/Account/{gone}")
    records = [
        account("A2", Id=a),
        account("B2", id=b[:15]),
        account("no id"),
        account("deleted", Id=gone),
        account("bad", Id="xyz"),
    ]
    results = api.patch(f"{V}/composite/sobjects", json={"records": records}).json()
    assert [x["success"] for x in results] == [True, True, False, False, False]
    assert results[1]["id"] == b
    assert [x["errors"][0]["statusCode"] for x in results[2:]] == [
        "MISSING_ARGUMENT",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
    ]
    records = [account("A3", Id=a), account("", Id=b)]
    results = api.patch(
        f"{V}/composite/sobjects", json={"allOrNone": True, "records": records}
    ).json()
    assert [x["errors"][0]["statusCode"] for x in results] == [
        ROLLED_BACK,
        "REQUIRED_FIELD_MISSING",
    ]
    assert api.get(f"{V}/sobjects/Account/{a}").json()["Name"] == "A2"


def test_upsert_collection_reports_created(widgets: FakeOrg, api: httpx.Client) -> None:
    existing = create(api, "Widget__c", Name="old", ExtId__c="W-1")
    records = [
        {"attributes": {"type": "Widget__c"}, "Name": "updated", "ExtId__c": "w-1"},
        {"attributes": {"type": "Widget__c"}, "Name": "new", "ExtId__c": "W-2"},
        {"attributes": {"type": "Widget__c"}, "Name": "no key"},
    ]
    url = f"{V}/composite/sobjects/Widget__c/ExtId__c"
    results = api.patch(url, json={"allOrNone": False, "records": records}).json()
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["created"] is True and results[1]["success"] is True
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert api.get(f"{V}/sobjects/Widget__c/{existing}").json()["Name"] == "updated"
    dupes = [{"Name": n, "ExtId__c": "W-3"} for n in ("x", "y")]
    results = api.patch(url, json={"records": dupes}).json()
    assert [x["errors"][0]["statusCode"] for x in results] == ["DUPLICATE_EXTERNAL_ID"] * 2
    r = api.patch(f"{V}/composite/sobjects/Widget__c/Name", json={"records": dupes})
    assert error(r, 400)["errorCode"] == "INVALID_FIELD"


def test_upsert_on_id_with_null_ids_creates(api: httpx.Client) -> None:
    """As recorded from a real org: PATCH /composite/sobjects/Account/Id with "Id": null."""
    records = [account("Sitwell-Bluth", AccountNumber="420", Id=None)]
    results = api.patch(f"{V}/composite/sobjects/Account/Id", json={"records": records}).json()
    assert results[0]["created"] is True and results[0]["id"].startswith("001")
    again = [account("Renamed", Id=results[0]["id"])]
    results = api.patch(f"{V}/composite/sobjects/Account/Id", json={"records": again}).json()
    assert results[0]["created"] is False


def test_delete_collection(fake_org: FakeOrg, api: httpx.Client) -> None:
    a = create(api, "Account", Name="A")
    c = create(api, "Contact", LastName="C")
    r = api.delete(f"{V}/composite/sobjects", params={"ids": f"{a},nope", "allOrNone": "true"})
    results = r.json()
    assert [x["errors"][0]["statusCode"] for x in results] == [ROLLED_BACK, "MALFORMED_ID"]
    assert count(fake_org, "Account") == 1
    r = api.delete(f"{V}/composite/sobjects", params={"ids": f"{a},{c[:15]},{a}"})
    results = r.json()
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1]["id"] == c and results[2]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert count(fake_org, "Account") == 0 and count(fake_org, "Contact") == 0
    assert error(api.delete(f"{V}/composite/sobjects"), 400)["errorCode"] == "MISSING_ARGUMENT"
    ids = ",".join([a] * 201)
    r = api.delete(f"{V}/composite/sobjects", params={"ids": ids})
    assert error(r, 400)["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_retrieve_get_and_post(api: httpx.Client) -> None:
    a = create(api, "Account", Name="A", Industry="Energy")
    missing = a[:9] + "ZZZZZZ"
    r = api.get(
        f"{V}/composite/sobjects/Account",
        params={"ids": f"{a},{missing}", "fields": "Name,industry"},
    )
    assert r.json() == [
        {
            "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{a}"},
            "Name": "A",
            "Industry": "Energy",
            "Id": a,
        },
        None,
    ]
    r = api.post(f"{V}/composite/sobjects/Account", json={"ids": [a], "fields": ["Name"]})
    assert r.json()[0]["Name"] == "A"
    r = api.get(f"{V}/composite/sobjects/Account", params={"ids": "bad", "fields": "Name"})
    assert error(r, 400)["errorCode"] == "MALFORMED_ID"


# -- composite ----------------------------------------------------------------------------------


def test_composite_references_and_response_shape(api: httpx.Client) -> None:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Acme"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "con",
                "body": {"LastName": "Ng", "AccountId": "@{acct.id}", "Title": "of @{acct.id}"},
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Contact/@{{con.id}}?fields=AccountId,Title",
                "referenceId": "read",
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Account/@{{acct.id}}",
                "referenceId": "upd",
                "body": {"Rating": "Hot"},
            },
        ],
        "collateSubrequests": False,
    }
    r = api.post(f"{V}/composite", json=body)
    assert r.status_code == 200
    items = r.json()["compositeResponse"]
    assert [i["httpStatusCode"] for i in items] == [201, 201, 200, 204]
    assert [i["referenceId"] for i in items] == ["acct", "con", "read", "upd"]
    acct = items[0]["body"]["id"]
    assert items[0]["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{acct}"}
    assert items[2]["body"]["AccountId"] == acct and items[2]["body"]["Title"] == f"of {acct}"
    assert items[3]["body"] is None and items[3]["httpHeaders"] == {}
    assert api.get(f"{V}/sobjects/Account/{acct}").json()["Rating"] == "Hot"


def test_composite_query_reference_by_index(api: httpx.Client) -> None:
    create(api, "Account", Name="Only")
    body = {
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"{V}/query?q=SELECT Id, Name FROM Account",
                "referenceId": "q",
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Account/@{{q.records[0].Id}}",
                "referenceId": "a",
            },
        ]
    }
    items = api.post(f"{V}/composite", json=body).json()["compositeResponse"]
    assert items[0]["body"]["totalSize"] == 1
    assert [i["httpStatusCode"] for i in items] == [200, 200] and items[1]["body"]["Name"] == "Only"


def test_composite_error_item_matches_recorded_shape(api: httpx.Client) -> None:
    body = {
        "compositeRequest": [{"referenceId": "r0", "method": "GET", "url": f"{V}/sobjects/Foo"}]
    }
    assert api.post(f"{V}/composite", json=body).json() == {
        "compositeResponse": [
            {
                "body": [
                    {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
                ],
                "httpHeaders": {},
                "httpStatusCode": 404,
                "referenceId": "r0",
            }
        ]
    }


def test_composite_all_or_none_rolls_back_and_halts_the_rest(
    fake_org: FakeOrg, api: httpx.Client, events: list[dict[str, Any]]
) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "a",
                "body": {"Name": "A"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "c",
                "body": {"FirstName": "x"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "b",
                "body": {"Name": "B"},
            },
        ],
    }
    items = api.post(f"{V}/composite", json=body).json()["compositeResponse"]
    assert [i["httpStatusCode"] for i in items] == [400, 400, 400]
    assert items[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    halted = {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
    assert items[0]["body"] == [halted] and items[2]["body"] == [halted]
    assert [i["referenceId"] for i in items] == ["a", "c", "b"]
    assert count(fake_org, "Account") == 0 and events == []


def test_composite_without_all_or_none_halts_only_dependents(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "bad",
                "body": {"Name": ""},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "dep",
                "body": {"LastName": "x", "AccountId": "@{bad.id}"},
            },
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Account/@{{dep.id}}",
                "referenceId": "dep2",
                "body": {},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "ok"},
            },
            {"method": "GET", "url": f"{V}/sobjects/Account/@{{ok.nope}}", "referenceId": "path"},
        ]
    }
    items = api.post(f"{V}/composite", json=body).json()["compositeResponse"]
    assert [i["httpStatusCode"] for i in items] == [400, 400, 400, 201, 400]
    assert items[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "refers to a failed request" in items[1]["body"][0]["message"]
    assert items[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert items[4]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert count(fake_org, "Account") == 1 and count(fake_org, "Contact") == 0


def test_composite_all_or_none_overrides_embedded_collections(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    records = [account("fine"), account("")]
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "a",
                "body": {"Name": "A"},
            },
            {
                "method": "POST",
                "url": f"{V}/composite/sobjects",
                "referenceId": "coll",
                "body": {"allOrNone": False, "records": records},
            },
        ],
    }
    items = api.post(f"{V}/composite", json=body).json()["compositeResponse"]
    assert items[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert items[1]["httpStatusCode"] == 200
    assert [x["errors"][0]["statusCode"] for x in items[1]["body"]] == [
        ROLLED_BACK,
        "REQUIRED_FIELD_MISSING",
    ]
    assert count(fake_org, "Account") == 0
    body["allOrNone"] = False
    items = api.post(f"{V}/composite", json=body).json()["compositeResponse"]
    assert [x["success"] for x in items[1]["body"]] == [True, False]
    assert count(fake_org, "Account") == 2


def test_composite_envelope_errors(api: httpx.Client) -> None:
    item = {"method": "GET", "url": f"{V}/limits", "referenceId": "r"}
    many = [{**item, "referenceId": f"r{n}"} for n in range(26)]
    assert error(api.post(f"{V}/composite", json={"compositeRequest": many}), 400)
    dupes = [item, item]
    assert (
        "Duplicate"
        in error(api.post(f"{V}/composite", json={"compositeRequest": dupes}), 400)["message"]
    )
    header = [{**item, "httpHeaders": {"Authorization": "Bearer x"}}]
    assert error(api.post(f"{V}/composite", json={"compositeRequest": header}), 400)
    outside = [{**item, "url": "/services/apexrest/x"}]
    assert error(api.post(f"{V}/composite", json={"compositeRequest": outside}), 400)
    queries = [
        {"method": "GET", "url": f"{V}/query?q=SELECT Id FROM Account", "referenceId": f"q{n}"}
        for n in range(6)
    ]
    assert error(api.post(f"{V}/composite", json={"compositeRequest": queries}), 400)
    assert error(api.post(f"{V}/composite", json={"compositeRequest": []}), 400)


def test_composite_is_one_api_call_and_batch_one_per_subrequest(
    fake_org: FakeOrg, api: httpx.Client
) -> None:
    item = {"method": "GET", "url": f"{V}/limits", "referenceId": "r"}
    before = fake_org.state.api_usage
    api.post(
        f"{V}/composite",
        json={"compositeRequest": [{**item, "referenceId": f"r{n}"} for n in range(5)]},
    )
    assert fake_org.state.api_usage == before + 1
    batch = {"batchRequests": [{"method": "GET", "url": "v62.0/limits"}] * 5}
    before = fake_org.state.api_usage
    r = api.post(f"{V}/composite/batch", json=batch)
    assert r.json()["hasErrors"] is False and fake_org.state.api_usage == before + 5


# -- composite batch ----------------------------------------------------------------------------


def test_batch_results_and_halt_on_error(api: httpx.Client) -> None:
    a = create(api, "Account", Name="A")
    batch = {
        "batchRequests": [
            {"method": "PATCH", "url": f"v62.0/sobjects/Account/{a}", "richInput": {"Name": "B"}},
            {"method": "GET", "url": f"v62.0/sobjects/Account/{a}?fields=Name"},
            {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": ""}},
            {"method": "GET", "url": f"/services/data/v62.0/sobjects/Account/{a}"},
        ]
    }
    body = api.post(f"{V}/composite/batch", json=batch).json()
    assert body["hasErrors"] is True
    assert [x["statusCode"] for x in body["results"]] == [204, 200, 400, 200]
    assert body["results"][0]["result"] is None and body["results"][1]["result"]["Name"] == "B"
    assert body["results"][2]["result"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    body = api.post(f"{V}/composite/batch", json={**batch, "haltOnError": True}).json()
    assert [x["statusCode"] for x in body["results"]] == [204, 200, 400, 412]
    assert body["results"][3]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    too_many = {"batchRequests": batch["batchRequests"] * 7}
    assert error(api.post(f"{V}/composite/batch", json=too_many), 400)
