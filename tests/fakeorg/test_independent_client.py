# simple-salesforce's own annotations are wrong for this use: `sf.<Name>` (its __getattr__) is
# typed as a union with its bulk handlers, which are not callable like SFType, and exception
# `.content` as bytes while it holds the parsed JSON. Those checks are off for this file only.
# mypy: disable-error-code="operator, index, attr-defined, comparison-overlap"
"""An independent client, simple-salesforce, unmodified, against the fake org over TLS.

The fake org must not merely echo our own client's habits (STYLE 3.15b): a library written
by other people, with its own URLs (trailing slashes, `query/<locator>` by id, apexrest
without a version), its own status checks (`!= 200`, `>= 300`) and its own error mapping,
has to work against it unchanged. The only setup is what any user of it does: an access
token from the token endpoint and a `requests.Session` that trusts the org's CA.

`trust_env = False` on that session is deliberate: `requests` lets `REQUESTS_CA_BUNDLE` /
`CURL_CA_BUNDLE` from the environment override `Session.verify`, which would reject the
fake org's private CA on machines that set them.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.rest.apex import register_apex
from salesforce_typed.testing.server import FakeOrg

VERSION = "59.0"
DATA = f"/services/data/v{VERSION}"


class ShiftableClock:
    """Stands in for `state.clock`: real time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _field(name: str, ftype: str = "string", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "label": name.removesuffix("__c"),
        "type": ftype,
        "length": 80 if ftype == "string" else (18 if ftype == "id" else 0),
        "createable": True,
        "updateable": True,
        "nillable": True,
        "externalId": False,
        "idLookup": False,
        "unique": False,
    }
    doc.update(over)
    return doc


def project_describe() -> dict[str, Any]:
    """A custom object keyed by an external id, as an integration would upsert into."""
    system = {"createable": False, "updateable": False, "nillable": False}
    return {
        "name": "Project__c",
        "label": "Project",
        "labelPlural": "Projects",
        "custom": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "searchable": True,
        "urls": {},
        "childRelationships": [],
        "fields": [
            _field("Id", "id", idLookup=True, defaultedOnCreate=True, **system),
            _field("IsDeleted", "boolean", defaultedOnCreate=True, **system),
            _field("Name", nillable=False),
            _field("Code__c", length=20, externalId=True, idLookup=True),
            _field("Budget__c", "currency", precision=12, scale=2),
            _field("CreatedDate", "datetime", defaultedOnCreate=True, **system),
            _field("LastModifiedDate", "datetime", defaultedOnCreate=True, **system),
            _field("SystemModstamp", "datetime", defaultedOnCreate=True, **system),
        ],
    }


@pytest.fixture
def org(fake_org_tls: FakeOrg) -> FakeOrg:
    fake_org_tls.state.schema.add_describe(project_describe())
    store(fake_org_tls.state).ensure_tables()
    return fake_org_tls


@pytest.fixture
def session(org: FakeOrg) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False
        http.verify = org.credentials()["ca_file"]
        yield http
    # urllib3 2.8's PoolManager.clear() drops its pools without closing them, so pooled
    # sockets close only when collected, and exceptions caught by pytest.raises keep the
    # session in reference cycles. An open TLS socket makes the org's shutdown wait (10 s)
    # for a close_notify that never comes: collect them now.
    gc.collect()


def refresh_grant_token(org: FakeOrg, http: requests.Session) -> str:
    c = org.credentials()
    response = http.post(
        c["token_url"],
        data={
            "grant_type": "refresh_token",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "refresh_token": c["refresh_token"],
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def connect(org: FakeOrg, http: requests.Session, token: str) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url, session_id=token, version=VERSION, session=http
    )


@pytest.fixture
def sf(org: FakeOrg, session: requests.Session) -> Salesforce:
    return connect(org, session, refresh_grant_token(org, session))


@pytest.fixture
def seen_urls(session: requests.Session) -> list[str]:
    """Every URL the client requested, in order (a response hook on its session)."""
    urls: list[str] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        urls.append(response.url)

    session.hooks["response"].append(hook)
    return urls


# -- authentication ---------------------------------------------------------------------------


def test_password_grant_token_is_accepted(org: FakeOrg, session: requests.Session) -> None:
    c = org.credentials()
    response = session.post(
        c["token_url"],
        data={
            "grant_type": "password",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"] + c["security_token"],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == org.instance_url and "refresh_token" not in body
    sf = connect(org, session, body["access_token"])
    assert sf.limits()["DailyApiRequests"]["Max"] == org.state.config.daily_api_limit


def test_expired_session_maps_to_salesforce_expired_session(org: FakeOrg, sf: Salesforce) -> None:
    sf.limits()
    org.state.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.limits()
    assert err.value.status == 401
    assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


# -- records ----------------------------------------------------------------------------------


def test_account_create_get_update_delete(sf: Salesforce) -> None:
    made = sf.Account.create({"Name": "Acme", "Industry": "Banking", "AnnualRevenue": 1.5e6})
    assert made["success"] is True and made["errors"] == []
    account_id = made["id"]
    assert account_id.startswith("001") and len(account_id) == 18

    row = sf.Account.get(account_id)
    assert row["attributes"] == {"type": "Account", "url": f"{DATA}/sobjects/Account/{account_id}"}
    assert (row["Id"], row["Name"], row["Industry"]) == (account_id, "Acme", "Banking")
    assert row["AnnualRevenue"] == 1.5e6 and row["BillingCity"] is None  # nulls are sent
    assert row["CreatedDate"].endswith("+0000")

    assert sf.Account.update(account_id, {"Name": "Acme Ltd", "Industry": None}) == 204
    again = sf.Account.get(account_id)
    assert again["Name"] == "Acme Ltd" and again["Industry"] is None

    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Account.get(account_id)
    assert err.value.status == 404 and err.value.content[0]["errorCode"] == "NOT_FOUND"


def test_upsert_by_external_id_on_a_custom_object(sf: Salesforce) -> None:
    assert sf.Project__c.upsert("Code__c/P-1", {"Name": "Apollo", "Budget__c": 10.5}) == 201
    assert sf.Project__c.upsert("Code__c/P-1", {"Name": "Apollo II"}) == 200
    row = sf.Project__c.get_by_custom_id("Code__c", "P-1")
    assert row["Name"] == "Apollo II" and row["Budget__c"] == 10.5
    assert row["attributes"]["type"] == "Project__c"
    assert sf.query("SELECT Id FROM Project__c")["totalSize"] == 1

    # Two rows under one key: 300 with the candidates' URLs.
    sf.Project__c.create({"Name": "Twin A", "Code__c": "P-2"})
    sf.Project__c.create({"Name": "Twin B", "Code__c": "P-2"})
    with pytest.raises(SalesforceMoreThanOneRecord) as err:
        sf.Project__c.upsert("Code__c/P-2", {"Name": "Which?"})
    assert err.value.status == 300
    assert all(url.startswith(f"{DATA}/sobjects/Project__c/") for url in err.value.content)
    assert len(err.value.content) == 2


def test_upsert_by_id_updates_in_place(sf: Salesforce) -> None:
    made = sf.Account.create({"Name": "By Id"})
    assert sf.Account.upsert(f"Id/{made['id']}", {"Name": "By Id, again"}) == 200
    assert sf.Account.get(made["id"])["Name"] == "By Id, again"


def test_updated_and_deleted_windows(org: FakeOrg, sf: Salesforce) -> None:
    clock = ShiftableClock()
    org.state.clock = clock
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    kept = sf.Account.create({"Name": "Kept"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    clock.offset = 180.0  # windows end on whole minutes in the past: step past this one
    end = start + dt.timedelta(minutes=3)
    updated = sf.Account.updated(start, end)
    assert updated["ids"] == [kept]
    deleted = sf.Account.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)


# -- SOQL -------------------------------------------------------------------------------------


def test_query_and_query_all_include_deleted(sf: Salesforce) -> None:
    live = sf.Account.create({"Name": "Q Live"})["id"]
    dead = sf.Account.create({"Name": "Q Dead"})["id"]
    sf.Account.delete(dead)
    soql = "SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE 'Q %' ORDER BY Name"
    result = sf.query(soql)
    assert result["totalSize"] == 1 and result["done"] is True
    assert [r["Id"] for r in result["records"]] == [live]
    everything = sf.query_all(soql, include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [
        (dead, True),
        (live, False),
    ]


def test_query_all_iter_follows_next_records_url(
    org: FakeOrg, sf: Salesforce, seen_urls: list[str]
) -> None:
    names = [f"Paged {i:05d}" for i in range(4500)]
    store(org.state).insert_many("Account", ({"Name": n} for n in names))
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Paged%' ORDER BY Name"
    seen_urls.clear()
    rows = list(sf.query_all_iter(soql))
    assert [r["Name"] for r in rows] == names
    assert len({r["Id"] for r in rows}) == 4500
    # one query and two nextRecordsUrl pages (2000 + 2000 + 500), each followed verbatim
    assert len(seen_urls) == 3
    assert "/query/?q=" in seen_urls[0]
    locators = [url.split(f"{DATA}/query/", 1)[1] for url in seen_urls[1:]]
    assert locators[0].endswith("-2000") and locators[1].endswith("-4000")

    assert sf.query_all(soql)["totalSize"] == 4500


def test_query_more_by_locator_id(sf: Salesforce, org: FakeOrg) -> None:
    store(org.state).insert_many("Account", ({"Name": f"More {i}"} for i in range(2300)))
    first = sf.query("SELECT Id FROM Account")
    assert first["done"] is False and len(first["records"]) == 2000
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    rest = sf.query_more(locator)  # the id form: base_url + "query/" + locator
    assert rest["done"] is True and len(rest["records"]) == 300
    assert rest["totalSize"] == 2300


# -- SOSL, describe, limits, anything -----------------------------------------------------------


def test_search_and_quick_search(sf: Salesforce) -> None:
    wanted = sf.Account.create({"Name": "Zebra Logistics"})["id"]
    sf.Account.create({"Name": "Unrelated"})
    found = sf.search("FIND {Zebra} IN NAME FIELDS RETURNING Account(Id, Name)")
    assert [(r["Id"], r["Name"]) for r in found["searchRecords"]] == [(wanted, "Zebra Logistics")]
    assert found["searchRecords"][0]["attributes"]["type"] == "Account"
    quick = sf.quick_search("Zebra")  # FIND {Zebra}: ids only
    assert [r["Id"] for r in quick["searchRecords"]] == [wanted]


def test_describe_global_and_sobject(sf: Salesforce) -> None:
    everything = sf.describe()
    assert everything["encoding"] == "UTF-8" and everything["maxBatchSize"] == 200
    by_name = {s["name"]: s for s in everything["sobjects"]}
    assert {"Account", "Contact", "Project__c"} <= set(by_name)
    assert by_name["Account"]["urls"]["describe"] == f"{DATA}/sobjects/Account/describe"
    assert by_name["Project__c"]["custom"] is True

    account = sf.Account.describe()
    fields = {f["name"]: f for f in account["fields"]}
    assert account["name"] == "Account" and account["keyPrefix"] == "001"
    assert fields["Name"]["type"] == "string" and fields["Name"]["length"] == 255
    assert fields["Id"]["createable"] is False
    project = {f["name"]: f for f in sf.Project__c.describe()["fields"]}
    assert project["Code__c"]["externalId"] is True
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"


def test_limits_and_api_usage_header(sf: Salesforce) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Remaining"] < limits["DailyApiRequests"]["Max"]
    before = sf.api_usage["api-usage"].used  # parsed from Sforce-Limit-Info
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == before + 1


def test_restful_paths_and_params(sf: Salesforce) -> None:
    resources = sf.restful("")
    assert resources["sobjects"] == f"{DATA}/sobjects" and resources["query"] == f"{DATA}/query"
    made = sf.Account.create({"Name": "Restful", "Website": "https://r.example"})
    row = sf.restful(f"sobjects/Account/{made['id']}", params={"fields": "Name"})
    assert row["Name"] == "Restful" and "Website" not in row
    page = sf.restful("query", params={"q": "SELECT Name FROM Account"})
    assert page["records"][0]["Name"] == "Restful"


def test_refused_request_when_the_daily_limit_is_spent(org: FakeOrg, sf: Salesforce) -> None:
    sf.limits()
    org.state.config.daily_api_limit = org.state.api_usage
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.limits()
    assert err.value.status == 403
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


# -- Apex REST --------------------------------------------------------------------------------


def test_apexecute_against_a_registered_handler(org: FakeOrg, sf: Salesforce) -> None:
    calls: list[tuple[str, str, dict[str, str], Any]] = []

    def orders(method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
        calls.append((method, path, params, body))
        return 200, {"order": path.rsplit("/", 1)[1], "method": method, "body": body}

    def broken(method: str, path: str, params: dict[str, str], body: Any) -> tuple[int, Any]:
        raise ValueError("no such order")

    register_apex(org.state, "*", "/orders/*", orders)
    register_apex(org.state, "GET", "/broken", broken)

    assert sf.apexecute("orders/42") == {"order": "42", "method": "GET", "body": None}
    posted = sf.apexecute("orders/7", method="POST", data={"qty": 3})
    assert posted == {"order": "7", "method": "POST", "body": {"qty": 3}}
    sf.apexecute("orders/9?expand=lines", method="PATCH", data={"qty": 1})
    assert calls[-1] == ("PATCH", "/orders/9", {"expand": "lines"}, {"qty": 1})

    with pytest.raises(SalesforceResourceNotFound):
        sf.apexecute("nowhere")
    with pytest.raises(SalesforceGeneralError) as err:
        sf.apexecute("broken")
    assert err.value.status == 500 and err.value.content[0]["errorCode"] == "APEX_ERROR"
    assert "ValueError: no such order" in err.value.content[0]["message"]


# -- composite --------------------------------------------------------------------------------


def test_composite_with_references(sf: Salesforce) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "acct",
                "body": {"Name": "Composite Co"},
            },
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Contact",
                "referenceId": "con",
                "body": {"LastName": "Ng", "AccountId": "@{acct.id}"},
            },
            {
                "method": "GET",
                "url": f"{DATA}/sobjects/Contact/@{{con.id}}?fields=AccountId",
                "referenceId": "read",
            },
        ],
    }
    out = sf.restful("composite", method="POST", json=body)
    items = {item["referenceId"]: item for item in out["compositeResponse"]}
    assert [items[r]["httpStatusCode"] for r in ("acct", "con", "read")] == [201, 201, 200]
    account_id = items["acct"]["body"]["id"]
    assert items["acct"]["httpHeaders"]["Location"] == f"{DATA}/sobjects/Account/{account_id}"
    assert items["read"]["body"]["AccountId"] == account_id
    assert sf.Contact.get(items["con"]["body"]["id"])["AccountId"] == account_id


def test_composite_all_or_none_rolls_back(sf: Salesforce) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "Rolled Back"},
            },
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Contact",
                "referenceId": "bad",
                "body": {"FirstName": "No last name"},
            },
        ],
    }
    out = sf.restful("composite", method="POST", json=body)  # top level is still 200
    items = {item["referenceId"]: item for item in out["compositeResponse"]}
    assert items["bad"]["httpStatusCode"] == 400
    assert items["bad"]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert items["ok"]["httpStatusCode"] == 400
    assert items["ok"]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT Id FROM Account WHERE Name = 'Rolled Back'")["totalSize"] == 0


# -- error mapping ----------------------------------------------------------------------------


def test_fake_org_errors_map_to_simple_salesforce_exceptions(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as not_found:
        sf.Nope__c.create({"Name": "x"})
    assert not_found.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]

    with pytest.raises(SalesforceMalformedRequest) as bad_query:
        sf.query("SELECT Nme FROM Account")
    assert bad_query.value.status == 400
    assert bad_query.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:8" in bad_query.value.content[0]["message"]

    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELEKT Id FROM Account")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"

    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.Account.create({"Name": "x", "Foo__c": 1})
    assert bad_field.value.content == [
        {
            "message": "No such column 'Foo__c' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
        }
    ]

    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Contact.create({"FirstName": "Ann"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing.value.content[0]["fields"] == ["LastName"]

    with pytest.raises(SalesforceMalformedRequest) as bad_sosl:
        sf.search("FIND Acme")
    assert bad_sosl.value.content[0]["errorCode"] == "MALFORMED_SEARCH"

    with pytest.raises(SalesforceResourceNotFound) as bad_segment:
        sf.Account.get("not-an-id")  # read as an external-id field name
    assert bad_segment.value.content[0]["errorCode"] == "NOT_FOUND"

    with pytest.raises(SalesforceGeneralError) as wrong_verb:
        sf.restful("limits", method="DELETE")
    assert wrong_verb.value.status == 405
    assert wrong_verb.value.content[0]["errorCode"] == "METHOD_NOT_ALLOWED"


# -- fidelity details an independent client relies on --


def _bearer(sf: Salesforce) -> dict[str, str]:
    """Auth, and `Connection: close`: an xfail's report keeps the session (and with urllib3
    2.8, whose Session.close() leaves pooled sockets open, its TLS socket) alive past
    teardown, and the org's shutdown would wait on that socket."""
    return {"Authorization": f"Bearer {sf.session_id}", "Connection": "close"}


def test_is_sandbox_reads_the_one_organization_row(sf: Salesforce) -> None:
    assert sf.is_sandbox() is False


def test_sosl_term_must_be_in_braces(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Quoted Term"})
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.search("FIND 'Quoted' RETURNING Account(Id)")
    assert err.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_describe_honours_if_modified_since(
    org: FakeOrg, sf: Salesforce, session: requests.Session
) -> None:
    response = session.get(
        f"{org.instance_url}{DATA}/sobjects/Account/describe",
        headers={**_bearer(sf), "If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    assert response.status_code == 304


def test_large_responses_are_gzipped_on_request(
    org: FakeOrg, sf: Salesforce, session: requests.Session
) -> None:
    store(org.state).insert_many("Account", ({"Name": f"Zip {i}"} for i in range(500)))
    response = session.get(
        f"{org.instance_url}{DATA}/query",
        params={"q": "SELECT Id, Name FROM Account"},
        headers={**_bearer(sf), "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == "gzip"


def test_method_not_allowed_lists_the_resource_verbs(sf: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as err:
        sf.restful("limits", method="DELETE", headers={"Connection": "close"})
    message = err.value.content[0]["message"]
    assert "GET" in message and "PATCH" not in message and "POST" not in message
