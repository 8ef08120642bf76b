"""Bulk API 2.0 parallel results and ingest result paths, compared with what Salesforce
publishes (docs/fidelity/bulk2.md lists the sources and what each one says).

The two `resultPages` bodies below are the published examples, verbatim in structure: the
Developer Guide's ("documented", what the fake org serves by default) and the one in
Salesforce's Postman collection ("observed", served under the `shape` switch). Our answers are
reduced to a template (API version, job id and locators replaced) and compared key by key.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

ADMIN = "/_admin/bulk-v2/result-pages"
V = "v62.0"
JOB_ID = "750R0000000zxr8IAA"

# Bulk API 2.0 and Bulk API Developer Guide, "Get Parallel Results for a Query Job".
DOCUMENTED: dict[str, Any] = {
    "resultPages": [
        {"resultUrl": f"/services/data/vXX.X/jobs/query/{JOB_ID}/results?locator={loc}"}
        for loc in ("aBcDeFg4N", "HiJkLmN4N", "oPQrStU4N", "vWxYzz4N", "NiKmABC4N")
    ],
    "nextRecordsUrl": f"/services/data/vXX.X/jobs/query/{JOB_ID}/resultpages?locator=YcApWm4N",
    "done": False,
}
# Salesforce's Postman collection, "Get Parallel Results for a Query Job", example response.
OBSERVED: dict[str, Any] = {
    "resultPages": [
        {"resultLink": f"/jobs/query/{JOB_ID}/results?locator={loc}"}
        for loc in ("aBcDeFg4N", "HiJkLmN4N", "oPQrStU4N", "vWxYzz4N", "NiKmABC4N")
    ],
    "nextRecordsUrl": f"/jobs/query/{JOB_ID}/resultpages?locator=YcApWm4N",
    "done": False,
}
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def _template(value: Any, job_id: str) -> Any:
    """A body with what varies per org and job replaced: version, job id, locator values."""
    if isinstance(value, dict):
        return {k: _template(v, job_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v, job_id) for v in value]
    if isinstance(value, str):
        text = re.sub(r"/v\d+\.\d/", "/vXX.X/", value).replace(job_id, "{job}")
        return re.sub(r"locator=[^&]+", "locator={locator}", text)
    return value


def _complete_query(api: httpx.Client, rows: int) -> str:
    for i in range(rows):
        created = api.post(f"/services/data/{V}/sobjects/Account", json={"Name": f"S{i:02d}"})
        assert created.status_code == 201, created.text
    job = api.post(
        f"/services/data/{V}/jobs/query",
        json={"operation": "query", "query": "SELECT Name FROM Account ORDER BY Name"},
    ).json()["id"]
    for _ in range(1000):  # the org runs the job as a task between requests: poll, no sleep
        state = api.get(f"/services/data/{V}/jobs/query/{job}").json()["state"]
        if state == "JobComplete":
            return str(job)
    raise AssertionError("the query job did not complete")


@pytest.fixture
def paged(api: httpx.Client) -> str:
    """A completed query of 23 rows, pages of 4: six pages, two listings."""
    assert api.post("/_admin/bulk-v2", json={"default_max_records": 4}).status_code == 200
    return _complete_query(api, 23)


@pytest.mark.parametrize(
    ("shape", "published"), [("documented", DOCUMENTED), ("observed", OBSERVED)]
)
def test_listing_has_the_published_shape(
    api: httpx.Client, paged: str, shape: str, published: dict[str, Any]
) -> None:
    assert api.post(ADMIN, json={"shape": shape}).status_code == 200
    first = api.get(f"/services/data/{V}/jobs/query/{paged}/resultPages")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    assert _template(first.json(), paged) == _template(published, JOB_ID)


def test_last_listing_is_done(api: httpx.Client, paged: str) -> None:
    first = api.get(f"/services/data/{V}/jobs/query/{paged}/resultPages").json()
    last = api.get(first["nextRecordsUrl"]).json()
    assert last["done"] is True and last["nextRecordsUrl"] is None
    assert [set(p) for p in last["resultPages"]] == [{"resultUrl"}]  # 23 rows = 5 pages + 1


def test_listed_pages_are_results_pages(api: httpx.Client, paged: str) -> None:
    """Each listed URL answers as `/results` does: CSV, Sforce-NumberOfRecords, and a
    Sforce-Locator that is the next listed page's locator (`null` on the last)."""
    first = api.get(f"/services/data/{V}/jobs/query/{paged}/resultPages").json()
    urls = [p["resultUrl"] for p in first["resultPages"]]
    urls += [p["resultUrl"] for p in api.get(first["nextRecordsUrl"]).json()["resultPages"]]
    locators = [u.split("locator=")[1] for u in urls]
    names: list[str] = []
    for i, url in enumerate(urls):
        page = api.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/csv")
        lines = page.text.splitlines()
        assert lines[0] == '"Name"'
        assert int(page.headers["sforce-numberofrecords"]) == len(lines) - 1
        assert page.headers["sforce-locator"] == (locators[i + 1] if i + 1 < len(urls) else "null")
        names += [line.strip('"') for line in lines[1:]]
    assert names == [f"S{i:02d}" for i in range(23)]


def test_resource_starts_at_58(api: httpx.Client, paged: str) -> None:
    old = api.get(f"/services/data/v57.0/jobs/query/{paged}/resultPages")
    assert old.status_code == 404 and old.json() == NOT_FOUND


def test_listing_needs_the_jobs_api_version(api: httpx.Client, paged: str) -> None:
    # "To get query results, use the same API version that you used to create the query.
    # Otherwise, the call returns a 409 error."
    assert api.get(f"/services/data/v60.0/jobs/query/{paged}/resultPages").status_code == 409


def test_ingest_result_paths_are_case_insensitive(api: httpx.Client) -> None:
    base = f"/services/data/{V}/jobs/ingest"
    job = api.post(base, json={"object": "Account", "operation": "insert"}).json()["id"]
    upload = api.put(
        f"{base}/{job}/batches", content=b"Name\nA\n", headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201
    assert api.patch(f"{base}/{job}", json={"state": "UploadComplete"}).status_code == 200
    for _ in range(1000):  # poll, no sleep
        if api.get(f"{base}/{job}").json()["state"] == "JobComplete":
            break
    # The documented spellings, then those clients send.
    for documented, variant in (
        ("successfulResults", "successfulresults"),
        ("failedResults", "FAILEDRESULTS"),
        ("unprocessedrecords", "unprocessedRecords"),
    ):
        want = api.get(f"{base}/{job}/{documented}")
        got = api.get(f"{base}/{job}/{variant}")
        assert want.status_code == got.status_code == 200
        assert want.headers["content-type"].startswith("text/csv")
        assert got.content == want.content
