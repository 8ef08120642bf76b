"""`/query`, `/queryAll` and locator paging over real sockets, data inserted into the store."""

from __future__ import annotations

import math
import re
import time
from typing import Any

import httpx
import pytest

from salesforce_typed.testing.org.query_locators import CURSOR_IDLE_SECONDS, MAX_OPEN_CURSORS
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

QUERY = "/services/data/v62.0/query"
QUERY_ALL = "/services/data/v62.0/queryAll"
LOCATOR_URL = re.compile(r"^/services/data/v62\.0/(query|queryAll)/01g\w{15}-(\d+)$")


class SettableClock:
    """Stands in for `state.clock`: starts at real time, moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def q(api: httpx.Client, soql: str, *, path: str = QUERY, **headers: str) -> httpx.Response:
    return api.get(path, params={"q": soql}, headers=headers)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def accounts(org: FakeOrg, names: list[str], **values: Any) -> list[str]:
    return store(org.state).insert_many("Account", [{"Name": n, **values} for n in names])


def follow(api: httpx.Client, first: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    """Every page of a chain, asserting the paging invariants on the way."""
    pages = [first]
    while not pages[-1]["done"]:
        url = pages[-1]["nextRecordsUrl"]
        assert LOCATOR_URL.match(url), url
        pages.append(ok(api.get(url, headers=headers)))
    assert "nextRecordsUrl" not in pages[-1]
    assert {p["totalSize"] for p in pages} == {first["totalSize"]}
    return pages


# Shapes ------------------------------------------------------------------------------------


def test_where_order_limit_and_record_shape(fake_org: FakeOrg, api: httpx.Client) -> None:
    accounts(fake_org, ["Gamma", "Alpha", "Beta"], Industry="Energy")
    accounts(fake_org, ["Delta"], Industry="Banking")
    r = q(
        api,
        "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Energy' ORDER BY Name DESC LIMIT 2",
    )
    body = ok(r)
    assert body["totalSize"] == 2 and body["done"] is True and "nextRecordsUrl" not in body
    assert [rec["Name"] for rec in body["records"]] == ["Gamma", "Beta"]
    first = body["records"][0]
    assert list(first) == ["attributes", "Id", "Name", "Industry"]
    assert first["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{first['Id']}",
    }
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["sforce-limit-info"].startswith("api-usage=")


def test_parent_path_and_child_subquery(fake_org: FakeOrg, api: httpx.Client) -> None:
    acme, empty = accounts(fake_org, ["Acme", "Empty"])
    store(fake_org.state).insert_many(
        "Contact",
        [
            {"LastName": "Smith", "AccountId": acme},
            {"LastName": "Jones", "AccountId": acme},
            {"LastName": "Orphan"},
        ],
    )
    rows = ok(q(api, "SELECT LastName, Account.Name FROM Contact ORDER BY LastName"))["records"]
    by_name = {row["LastName"]: row for row in rows}
    assert by_name["Smith"]["Account"]["Name"] == "Acme"
    assert by_name["Smith"]["Account"]["attributes"]["type"] == "Account"
    assert by_name["Orphan"]["Account"] is None

    soql = (
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name"
    )
    acme_row, empty_row = ok(q(api, soql))["records"]
    assert acme_row["Contacts"]["totalSize"] == 2 and acme_row["Contacts"]["done"] is True
    assert [c["LastName"] for c in acme_row["Contacts"]["records"]] == ["Jones", "Smith"]
    assert empty_row["Name"] == "Empty" and empty_row["Contacts"] is None
    assert empty != acme


def test_aggregates_and_count(fake_org: FakeOrg, api: httpx.Client) -> None:
    accounts(fake_org, ["A", "B", "C"], Industry="Energy")
    accounts(fake_org, ["D"], Industry="Banking")
    body = ok(q(api, "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY Industry"))
    assert body["totalSize"] == 2 and body["done"] is True
    assert body["records"] == [
        {"attributes": {"type": "AggregateResult"}, "Industry": "Banking", "expr0": 1},
        {"attributes": {"type": "AggregateResult"}, "Industry": "Energy", "expr0": 3},
    ]
    assert ok(q(api, "SELECT COUNT() FROM Account WHERE Industry = 'Energy'")) == {
        "totalSize": 3,
        "done": True,
        "records": [],
    }


def test_query_hides_deleted_and_query_all_shows_them(fake_org: FakeOrg, api: httpx.Client) -> None:
    live, gone = accounts(fake_org, ["Live", "Gone"])
    assert store(fake_org.state).set_deleted("Account", gone, True)
    soql = "SELECT Id, Name, IsDeleted FROM Account ORDER BY Name"
    assert [r["Id"] for r in ok(q(api, soql))["records"]] == [live]
    rows = ok(q(api, soql, path=QUERY_ALL))["records"]
    assert [(r["Name"], r["IsDeleted"]) for r in rows] == [("Gone", True), ("Live", False)]


def test_older_version_paths_carry_their_version(fake_org: FakeOrg, api: httpx.Client) -> None:
    accounts(fake_org, [f"N{i:04d}" for i in range(2001)])
    body = ok(q(api, "SELECT Id FROM Account", path="/services/data/v59.0/query"))
    assert body["records"][0]["attributes"]["url"].startswith("/services/data/v59.0/sobjects/")
    assert body["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert len(ok(api.get(body["nextRecordsUrl"]))["records"]) == 1


# Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "code", "detail"),
    [
        (
            "SELECT Nmae FROM Account",
            "INVALID_FIELD",
            "\nSELECT Nmae FROM Account\n       ^\nERROR at Row:1:Column:8\n"
            "No such column 'Nmae' on entity 'Account'.",
        ),
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported."),
        ("SELECT Id FROM", "MALFORMED_QUERY", "ERROR at Row:1:Column:"),
        ("SELEC Id FROM Account", "MALFORMED_QUERY", "ERROR at Row:1:Column:1"),
    ],
)
def test_soql_errors_are_400_with_engine_codes(
    api: httpx.Client, soql: str, code: str, detail: str
) -> None:
    r = q(api, soql)
    assert r.status_code == 400
    [error] = r.json()
    assert set(error) == {"message", "errorCode"}
    assert error["errorCode"] == code and detail in error["message"]


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "  "}])
def test_missing_query_is_malformed(api: httpx.Client, params: dict[str, str]) -> None:
    for path in (QUERY, QUERY_ALL):
        r = api.get(path, params=params)
        assert r.status_code == 400 and r.json()[0]["errorCode"] == "MALFORMED_QUERY"


# Paging ------------------------------------------------------------------------------------


@pytest.fixture
def numbered(fake_org: FakeOrg) -> list[str]:
    """25,000 accounts named so that ORDER BY Name is insertion order."""
    names = [f"Row {i:05d}" for i in range(25_000)]
    accounts(fake_org, names)
    return names


@pytest.mark.parametrize(("header", "size"), [(None, 2000), ("batchSize=200", 200)])
def test_paging_returns_every_row_once_in_order(
    api: httpx.Client, numbered: list[str], header: str | None, size: int
) -> None:
    headers = {} if header is None else {"Sforce-Query-Options": header}
    first = ok(q(api, "SELECT Id, Name FROM Account ORDER BY Name", **headers))
    pages = follow(api, first, **headers)
    assert len(pages) == math.ceil(len(numbered) / size)
    assert all(len(p["records"]) == size for p in pages[:-1])
    names = [r["Name"] for p in pages for r in p["records"]]
    assert names == numbered
    offsets = [int(p["nextRecordsUrl"].rsplit("-", 1)[1]) for p in pages[:-1]]
    assert offsets == [size * (i + 1) for i in range(len(pages) - 1)]


@pytest.mark.parametrize(
    ("header", "size"),
    [("batchSize=50", 200), ("batchSize=5000", 2000), ("batchSize=700", 700), ("nonsense", 2000)],
)
def test_batch_size_is_clamped_like_salesforce(
    fake_org: FakeOrg, api: httpx.Client, header: str, size: int
) -> None:
    accounts(fake_org, [f"N{i:04d}" for i in range(2500)])
    body = ok(q(api, "SELECT Id FROM Account", **{"Sforce-Query-Options": header}))
    assert len(body["records"]) == size and body["done"] is False


def test_query_all_pages_through_deleted_rows(fake_org: FakeOrg, api: httpx.Client) -> None:
    ids = accounts(fake_org, [f"N{i:04d}" for i in range(450)])
    for record_id in ids[::3]:
        store(fake_org.state).set_deleted("Account", record_id, True)
    soql = "SELECT Id, IsDeleted FROM Account ORDER BY Name"
    opts = {"Sforce-Query-Options": "batchSize=200"}
    first = ok(q(api, soql, path=QUERY_ALL, **opts))
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/queryAll/01g")
    pages = follow(api, first)
    rows = [r for p in pages for r in p["records"]]
    assert [r["Id"] for r in rows] == ids and first["totalSize"] == 450
    assert sum(r["IsDeleted"] for r in rows) == 150
    live = follow(api, ok(q(api, soql, **opts)))
    assert sum(len(p["records"]) for p in live) == 300


def test_locator_continues_through_either_path(fake_org: FakeOrg, api: httpx.Client) -> None:
    accounts(fake_org, [f"N{i:04d}" for i in range(2100)])
    first = ok(q(api, "SELECT Id FROM Account", path=QUERY_ALL))
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    body = ok(api.get(f"{QUERY}/{locator}"))
    assert len(body["records"]) == 100 and body["done"] is True


def test_last_page_can_be_fetched_again(fake_org: FakeOrg, api: httpx.Client) -> None:
    """A client retrying after a dropped connection must get the same page, not an error."""
    accounts(fake_org, [f"N{i:04d}" for i in range(2300)])
    first = ok(q(api, "SELECT Id, Name FROM Account ORDER BY Name"))
    url = first["nextRecordsUrl"]
    again = api.get(url)
    assert again.content == api.get(url).content
    assert again.json()["done"] is True and len(again.json()["records"]) == 300
    assert api.get(url).json() == again.json()  # still there after the cursor finished


def test_skipping_ahead_and_going_back(fake_org: FakeOrg, api: httpx.Client) -> None:
    names = [f"N{i:04d}" for i in range(1000)]
    accounts(fake_org, names)
    opts = {"Sforce-Query-Options": "batchSize=200"}
    first = ok(q(api, "SELECT Name FROM Account ORDER BY Name", **opts))
    base = first["nextRecordsUrl"].rsplit("-", 1)[0]
    jumped = ok(api.get(f"{base}-600", headers=opts))
    assert [r["Name"] for r in jumped["records"]] == names[600:800]
    assert jumped["nextRecordsUrl"] == f"{base}-800"
    r = api.get(f"{base}-200")
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    "locator", ["01g5g0000000001AAA-2000", "garbage", "01g5g0000000001AAA-x", "-2000"]
)
def test_unknown_locator(api: httpx.Client, locator: str) -> None:
    r = api.get(f"{QUERY}/{locator}")
    assert r.status_code == 400
    assert r.json() == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


def test_locator_expires_after_idle_time(fake_org: FakeOrg, api: httpx.Client) -> None:
    clock = SettableClock()
    fake_org.state.clock = clock
    accounts(fake_org, [f"N{i:04d}" for i in range(700)])
    opts = {"Sforce-Query-Options": "batchSize=200"}
    first = ok(q(api, "SELECT Id FROM Account", **opts))
    clock.now += CURSOR_IDLE_SECONDS - 1  # still alive, and using it resets the idle time
    second = ok(api.get(first["nextRecordsUrl"], headers=opts))
    clock.now += CURSOR_IDLE_SECONDS - 1
    third = ok(api.get(second["nextRecordsUrl"], headers=opts))
    clock.now += CURSOR_IDLE_SECONDS + 1
    r = api.get(third["nextRecordsUrl"], headers=opts)
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_oldest_open_cursor_is_freed_past_the_limit(fake_org: FakeOrg, api: httpx.Client) -> None:
    accounts(fake_org, [f"N{i:04d}" for i in range(2001)])
    urls = [
        ok(q(api, "SELECT Id FROM Account"))["nextRecordsUrl"] for _ in range(MAX_OPEN_CURSORS + 1)
    ]
    assert len(set(urls)) == MAX_OPEN_CURSORS + 1
    r = api.get(urls[0])
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    for url in urls[1:]:
        assert ok(api.get(url))["done"] is True


def test_first_page_of_100k_rows_is_served(fake_org: FakeOrg, api: httpx.Client) -> None:
    """The lazy cursor path on a big table: no timing assert, benchmarks live in bench/."""
    accounts(fake_org, [f"Big {i:06d}" for i in range(100_000)])
    body = ok(q(api, "SELECT Id, Name FROM Account ORDER BY Name LIMIT 10"))
    assert body["totalSize"] == 10 and body["done"] is True
    assert [r["Name"] for r in body["records"]] == [f"Big {i:06d}" for i in range(10)]
    assert ok(q(api, "SELECT COUNT() FROM Account"))["totalSize"] == 100_000
