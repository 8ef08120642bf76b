"""Bulk API 2.0 parallel query results: our clients (both faces) against the fake org over real
sockets, in both `resultPages` shapes, with the fallback to locator paging, a page failing
once, the overlap the server sees, and the ingest result paths in any case.

Pages are small (`default_max_records`), so 23 rows make 6 pages over 2 listings (five URLs
per listing). Retries sleep on a FakeClock: nothing here waits for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from faces import Face
from fidelity.conftest import password_token

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.bulk import Bulk2, BulkProgress
from salesforce_typed.bulk2 import wire as v2
from salesforce_typed.core.base_client import DEFAULT_API_VERSION
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.testing.bulk2 import jobs as bulk_v2_jobs
from salesforce_typed.testing.server import FakeOrg

ROWS = 23
PAGE = 4
PAGES = 6  # ceil(23 / 4)
NAMES = [f"Acct {i:02d}" for i in range(ROWS)]
SOQL = "SELECT Id, Name FROM Account ORDER BY Name"
ADMIN = "/_admin/bulk-v2/result-pages"


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


@pytest.fixture
def org(fake_org: FakeOrg, face: Face) -> FakeOrg:
    with face.salesforce(auth=_grant(fake_org), clock=FakeClock()) as sf:
        for name in NAMES:
            sf.create(std.Account(Name=name))
    bulk_v2_jobs.settings(fake_org.state).default_max_records = PAGE
    return fake_org


def _admin(org: FakeOrg, **body: Any) -> dict[str, Any]:
    with httpx.Client(base_url=org.instance_url, timeout=30) as client:
        response = client.post(ADMIN, json=body) if body else client.get(ADMIN)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def sf(org: FakeOrg, face: Face) -> Iterator[Salesforce]:
    with face.salesforce(auth=_grant(org), clock=FakeClock()) as client:
        yield client


@pytest.fixture
def bulk(sf: Salesforce, face: Face) -> Bulk2:
    return face.bulk2(sf)


def _names(records: list[std.Account]) -> list[str]:
    return [str(r.Name) for r in records]


# -- both shapes: order and completeness ----------------------------------------------------


@pytest.mark.parametrize("shape", ["documented", "observed"])
def test_parallel_reads_every_row_once_in_order(org: FakeOrg, bulk: Bulk2, shape: str) -> None:
    _admin(org, shape=shape)
    progress: list[BulkProgress] = []
    query = bulk.query(std.Account, SOQL, parallel=3, progress=progress.append)
    records = list(query)
    assert _names(records) == NAMES  # every row exactly once, in result order
    assert len({r.Id for r in records}) == ROWS
    seen = _admin(org)
    assert seen["listings"] == 2  # five URLs, then the last one
    assert seen["downloads"] == PAGES
    assert query.records_read == ROWS and query.done and query.locator is None
    assert [p.rows_downloaded for p in progress if p.phase == "download"][-1] == ROWS


def test_parallel_one_slot_still_lists_pages(org: FakeOrg, bulk: Bulk2) -> None:
    assert _names(list(bulk.query(std.Account, SOQL, parallel=1))) == NAMES
    assert _admin(org)["listings"] == 2


def test_downloads_overlap_on_the_server(org: FakeOrg, bulk: Bulk2) -> None:
    # The server holds each download until three are in flight together (once); a client
    # that downloads one page at a time would be served late and leave max_in_flight at 1.
    _admin(org, hold=3, hold_timeout=10)
    assert _names(list(bulk.query(std.Account, SOQL, parallel=3))) == NAMES
    seen = _admin(org)
    assert seen["max_in_flight"] == 3  # never more than `parallel` in flight
    assert seen["downloads"] == PAGES


def test_in_flight_never_exceeds_parallel(org: FakeOrg, bulk: Bulk2) -> None:
    _admin(org, hold=5, hold_timeout=0.5)  # the barrier can never open with 2 slots
    assert _names(list(bulk.query(std.Account, SOQL, parallel=2))) == NAMES
    assert _admin(org)["max_in_flight"] == 2


# -- a page that fails once ------------------------------------------------------------------


def test_page_answering_503_once_is_retried_without_duplicates(org: FakeOrg, bulk: Bulk2) -> None:
    _admin(org, fail_rows=[2 * PAGE])  # the third page: 503 SERVER_UNAVAILABLE, then fine
    records = list(bulk.query(std.Account, SOQL, parallel=3))
    assert _names(records) == NAMES
    seen = _admin(org)
    assert seen["fail_rows"] == []  # the fault fired
    assert seen["downloads"] == PAGES + 1


# -- fallback to locator paging --------------------------------------------------------------


def test_old_api_version_reads_by_locator(org: FakeOrg, face: Face) -> None:
    with face.salesforce(auth=_grant(org), clock=FakeClock(), api_version="57.0") as sf:
        records = list(face.bulk2(sf).query(std.Account, SOQL, parallel=3))
    assert _names(records) == NAMES
    seen = _admin(org)
    assert seen["listings"] == 0  # not even asked: the resource starts at 58.0
    assert seen["downloads"] == PAGES


def test_org_without_result_pages_falls_back_on_404(org: FakeOrg, bulk: Bulk2) -> None:
    _admin(org, served=False)
    query = bulk.query(std.Account, SOQL, parallel=3)
    assert _names(list(query)) == NAMES
    seen = _admin(org)
    assert seen["listings"] == 0 and seen["downloads"] == PAGES
    assert query.done and query.locator is None


def test_without_parallel_nothing_changes(org: FakeOrg, bulk: Bulk2) -> None:
    assert _names(list(bulk.query(std.Account, SOQL))) == NAMES
    assert _admin(org)["listings"] == 0


def test_stopping_early_leaves_the_client_usable(org: FakeOrg, bulk: Bulk2) -> None:
    first = []
    for record in bulk.query(std.Account, SOQL, parallel=3):
        first.append(record)
        if len(first) == 5:
            break
    assert _names(first) == NAMES[:5]
    assert _names(list(bulk.query(std.Account, SOQL, parallel=2))) == NAMES


def test_parallel_must_be_positive(bulk: Bulk2) -> None:
    with pytest.raises(UsageError):
        bulk.query(std.Account, SOQL, parallel=0)


# -- the fake org's resource on the wire -----------------------------------------------------


@pytest.fixture
def api(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_org.instance_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {password_token(fake_org, client)}"
        yield client


def _ingest(bulk: Bulk2) -> str:
    """A finished insert job with one success and one failure (no LastName)."""
    rows = [std.Contact(FirstName="A", LastName="Good"), std.Contact(FirstName="No last name")]
    with bulk.ingest(std.Contact, rows) as result:
        assert result.counts.failed == 1
        return result.job_ids[0]


SPELLINGS = {
    "successfulResults": ("successfulresults", "SUCCESSFULRESULTS", "SuccessfulResults/"),
    "failedResults": ("failedresults", "FailedResults", "FAILEDRESULTS/"),
    "unprocessedrecords": ("unprocessedRecords", "UnprocessedRecords", "unprocessedRecords/"),
}


def test_ingest_result_paths_in_any_case(bulk: Bulk2, api: httpx.Client) -> None:
    base = f"/services/data/v{DEFAULT_API_VERSION}/jobs/ingest/{_ingest(bulk)}"
    for canonical, spellings in SPELLINGS.items():
        want = api.get(f"{base}/{canonical}")
        assert want.status_code == 200
        for spelled in spellings:
            got = api.get(f"{base}/{spelled}")
            assert got.status_code == 200, spelled
            assert got.content == want.content, spelled
    assert api.get(f"{base}/successfulResults").content.startswith(b'"sf__Id"')


def test_unknown_result_path_is_salesforce_not_found(bulk: Bulk2, api: httpx.Client) -> None:
    job = _ingest(bulk)
    response = api.get(f"/services/data/v{DEFAULT_API_VERSION}/jobs/ingest/{job}/someResults")
    assert response.status_code == 404
    assert response.json() == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]


def test_admin_refuses_bad_settings(fake_org: FakeOrg) -> None:
    with httpx.Client(base_url=fake_org.instance_url) as client:
        for body in ({"shape": "other"}, {"hold": -1}, {"fail_rows": ["x"]}, {"nope": 1}):
            response = client.post(ADMIN, json=body)
            assert response.status_code == 400, body
            assert response.json()[0]["errorCode"] == "INVALID_FIELD"


# -- the pure parser, both shapes and the variants clients report ----------------------------


def test_parse_documented_listing() -> None:
    body = {
        "resultPages": [
            {"resultUrl": "/services/data/v62.0/jobs/query/750x/results?locator=MA"},
            {"resultUrl": "/services/data/v62.0/jobs/query/750x/results?locator=NA"},
        ],
        "nextRecordsUrl": "/services/data/v62.0/jobs/query/750x/resultPages?locator=OA",
        "done": False,
    }
    listing = v2.parse_result_pages(body)
    assert listing is not None
    assert listing.page_urls[1].endswith("locator=NA")
    assert listing.next_url is not None and listing.next_url.endswith("locator=OA")


def test_parse_observed_listing_and_variants() -> None:
    observed = {
        "resultPages": [{"resultLink": "/jobs/query/750x/results?locator=MA"}],
        "nextRecordsUrl": "/jobs/query/750x/resultpages?locator=NA",
        "done": False,
    }
    listing = v2.parse_result_pages(observed)
    assert listing == v2.ResultListing(
        page_urls=("/jobs/query/750x/results?locator=MA",),
        next_url="/jobs/query/750x/resultpages?locator=NA",
    )
    chunks = {"resultChunks": [{"resultLink": "/jobs/query/750x/results?locator=MA"}]}
    assert v2.parse_result_pages(chunks) == v2.ResultListing(
        page_urls=("/jobs/query/750x/results?locator=MA",), next_url=None
    )
    table = {"resultPages": [], "nextRecordUrl": "/x", "done": True}  # the docs' table spelling
    assert v2.parse_result_pages(table) == v2.ResultListing(page_urls=(), next_url=None)
    for unknown in ([], {"records": []}, {"resultPages": [{"url": 1}]}, None):
        assert v2.parse_result_pages(unknown) is None


def test_listed_urls_keep_path_and_query_only() -> None:
    spec = v2.build_result_page(
        "https://elsewhere.example.com/services/data/v62.0/jobs/query/750x/results?locator=MA&maxRecords=4"
    )
    assert spec.path == "/services/data/v62.0/jobs/query/750x/results"
    assert spec.params == (("locator", "MA"), ("maxRecords", "4"))
    relative = v2.build_result_listing("jobs/query/750x/resultpages?locator=NA")
    assert relative.path == "/jobs/query/750x/resultpages"
    assert dict(relative.headers)["Accept"] == "application/json"
