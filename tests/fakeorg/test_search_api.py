"""`/search` (SOSL) and `/parameterizedSearch` over real sockets, data inserted into the store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

SEARCH = "/services/data/v62.0/search"
PARAM = "/services/data/v62.0/parameterizedSearch"


@pytest.fixture
def seeded(fake_org: FakeOrg) -> dict[str, str]:
    """Two Acme accounts (one deleted), an unrelated one, and an Acme contact."""
    records = store(fake_org.state)
    acme, acme_labs, other, gone = records.insert_many(
        "Account",
        [
            {"Name": "Acme Corp", "Phone": "555-0100"},
            {"Name": "Acme Labs", "Description": "rockets {and} more"},
            {"Name": "Globex", "Description": "not acme related"},
            {"Name": "Acme Gone"},
        ],
    )
    records.set_deleted("Account", gone, True)
    [contact] = records.insert_many(
        "Contact", [{"LastName": "Coyote", "Email": "wile@acme.example", "AccountId": acme}]
    )
    return {"acme": acme, "labs": acme_labs, "other": other, "gone": gone, "contact": contact}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.text
    [entry] = response.json()
    assert set(entry) == {"message", "errorCode"}
    return dict(entry)


def ids(body: dict[str, Any]) -> list[str]:
    """Record ids from `attributes.url`: only selected fields appear as keys."""
    return [r["attributes"]["url"].rsplit("/", 1)[1] for r in body["searchRecords"]]


# SOSL ----------------------------------------------------------------------------------------


def test_sosl_returns_objects_in_returning_order(api: httpx.Client, seeded: dict[str, str]) -> None:
    sosl = "FIND {Acme} RETURNING Contact(LastName), Account(Id, Name ORDER BY Name)"
    r = api.get(SEARCH, params={"q": sosl})
    body = ok(r)
    assert list(body) == ["searchRecords"]
    assert ids(body) == [seeded["contact"], seeded["acme"], seeded["labs"], seeded["other"]]
    assert body["searchRecords"][0]["attributes"]["type"] == "Contact"
    assert body["searchRecords"][1]["Name"] == "Acme Corp"
    assert seeded["gone"] not in ids(body)  # the recycle bin is not searched
    assert r.headers["sforce-limit-info"].startswith("api-usage=")


def test_sosl_scope_and_overall_limit(api: httpx.Client, seeded: dict[str, str]) -> None:
    sosl = "FIND {Acme} IN NAME FIELDS RETURNING Account(Name ORDER BY Name)"
    assert ids(ok(api.get(SEARCH, params={"q": sosl}))) == [seeded["acme"], seeded["labs"]]
    limited = ok(api.get(SEARCH, params={"q": sosl + " LIMIT 1"}))
    assert ids(limited) == [seeded["acme"]]


def test_sosl_before_v36_is_a_bare_array(api: httpx.Client, seeded: dict[str, str]) -> None:
    sosl = "FIND {Globex} RETURNING Account(Name)"
    body = ok(api.get("/services/data/v35.0/search", params={"q": sosl}))
    assert isinstance(body, list) and ids({"searchRecords": body}) == [seeded["other"]]
    assert body[0]["attributes"]["url"].startswith("/services/data/v35.0/sobjects/Account/")


@pytest.mark.parametrize(
    ("sosl", "code", "text"),
    [
        (
            "FIND Acme",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        (None, "MALFORMED_SEARCH", "No search term found."),
        ("FIND {Acme} RETURNING Account(Nmae)", "INVALID_FIELD", "No such column 'Nmae'"),
        ("FIND {Acme} RETURNING Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported"),
        ("FIND {Acme} IN EVERY FIELDS", "MALFORMED_SEARCH", "ERROR at Row:1"),
    ],
)
def test_sosl_errors(api: httpx.Client, sosl: str | None, code: str, text: str) -> None:
    params = {} if sosl is None else {"q": sosl}
    entry = error(api.get(SEARCH, params=params))
    assert entry["errorCode"] == code and text in entry["message"]


# Parameterized search ----------------------------------------------------------------------------


def test_parameterized_get_with_fields_and_limit(api: httpx.Client, seeded: dict[str, str]) -> None:
    params = {"q": "Acme", "sobject": "Account", "Account.fields": "Id,Name", "Account.limit": "1"}
    body = ok(api.get(PARAM, params=params))
    [record] = body["searchRecords"]
    assert set(record) == {"attributes", "Id", "Name"} and record["Id"] in seeded.values()


def test_parameterized_get_several_objects_where_and_scope(
    api: httpx.Client, seeded: dict[str, str]
) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("q", "Acme"),
        ("sobject", "Account"),
        ("sobject", "Contact"),
        ("fields", "Id"),
        ("Account.where", "Name LIKE 'Acme%'"),
        ("Contact.fields", "LastName,Email"),
        ("in", "email"),
    ]
    body = ok(api.get(PARAM, params=params))
    assert ids(body) == [seeded["contact"]]  # no Account has an e-mail field holding Acme
    assert body["searchRecords"][0]["Email"] == "wile@acme.example"
    params[-1] = ("in", "ALL")
    body = ok(api.get(PARAM, params=params))
    assert sorted(ids(body)[:2]) == sorted([seeded["acme"], seeded["labs"]])
    assert ids(body)[2:] == [seeded["contact"]]


def test_parameterized_get_without_sobject_searches_everything(
    api: httpx.Client, seeded: dict[str, str]
) -> None:
    body = ok(api.get(PARAM, params={"q": "Coyote"}))
    assert ids(body) == [seeded["contact"]]
    assert set(body["searchRecords"][0]) == {"attributes", "Id"}


def test_parameterized_term_cannot_escape_its_braces(
    api: httpx.Client, seeded: dict[str, str]
) -> None:
    params = {"q": "{and}", "sobject": "Account", "Account.fields": "Name"}
    assert ids(ok(api.get(PARAM, params=params))) == [seeded["labs"]]
    params["q"] = "Coyote} RETURNING Contact"
    assert ok(api.get(PARAM, params=params)) == {"searchRecords": []}


def test_parameterized_post(api: httpx.Client, seeded: dict[str, str]) -> None:
    body = {
        "q": "Acme",
        "fields": ["Id", "Name"],
        "sobjects": [
            {"name": "Account", "orderBy": "Name DESC", "limit": 2},
            {"name": "Contact", "fields": ["LastName"]},
        ],
        "overallLimit": 3,
    }
    found = ok(api.post(PARAM, json=body))["searchRecords"]
    assert [r.get("Name") or r.get("LastName") for r in found] == [
        "Globex",
        "Acme Labs",
        "Coyote",
    ]
    body["overallLimit"] = 1
    assert len(ok(api.post(PARAM, json=body))["searchRecords"]) == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "Acme", "sobject": "Account", "Account.limit": "ten"}, "MALFORMED_SEARCH"),
        ({"q": "Acme", "sobject": "Account; DROP"}, "MALFORMED_SEARCH"),
        ({"q": "Acme", "sobject": "Account", "Account.fields": "Id,Nmae"}, "INVALID_FIELD"),
        ({"q": "Acme", "sobject": "Acount"}, "INVALID_TYPE"),
        ({"q": "Acme", "in": "EVERYTHING"}, "MALFORMED_SEARCH"),
        ({"q": ""}, "MALFORMED_SEARCH"),
        ({}, "MALFORMED_SEARCH"),
    ],
)
def test_parameterized_get_errors(api: httpx.Client, params: dict[str, str], code: str) -> None:
    assert error(api.get(PARAM, params=params))["errorCode"] == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"q": "Acme", "sobjects": {"name": "Account"}}, "MALFORMED_SEARCH"),
        ({"q": "Acme", "sobjects": [{"name": "Account", "limit": -1}]}, "MALFORMED_SEARCH"),
        ({"q": "Acme", "sobjects": [{"name": "Account", "where": 3}]}, "MALFORMED_SEARCH"),
        ({"q": 7}, "MALFORMED_SEARCH"),
        (["Acme"], "JSON_PARSER_ERROR"),
    ],
)
def test_parameterized_post_errors(api: httpx.Client, body: Any, code: str) -> None:
    assert error(api.post(PARAM, json=body))["errorCode"] == code


def test_parameterized_search_starts_at_v36(api: httpx.Client) -> None:
    r = api.get("/services/data/v35.0/parameterizedSearch", params={"q": "Acme"})
    assert error(r, 404)["errorCode"] == "NOT_FOUND"
