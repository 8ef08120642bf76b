"""Bulk API 2.0 end to end: our clients against the fake org over real sockets. Each client
test runs on both faces, sync and async (the `face` fixture, tests/faces.py).

Polling sleeps on a FakeClock, so no test waits for real; the fake org processes with no
delay, and tests that need a job to stay put pause its processing instead of timing it.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from faces import Face, unwrap

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.bulk import (
    AsyncBulk2Query,
    AsyncIngestResult,
    Bulk2,
    Bulk2Query,
    BulkProgress,
    BulkTimeoutError,
    CsvFormatError,
    CsvHeaderError,
    IngestResult,
    InvalidJobStateError,
    PollPolicy,
)
from salesforce_typed.bulk2 import wire as v2
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import (
    APIStatusError,
    NotFoundError,
    QueryBindError,
    QueryError,
    QueryModelMismatchError,
)
from salesforce_typed.core.models import Record
from salesforce_typed.core.pagination import Page
from salesforce_typed.testing.bulk2 import jobs as bulk_v2_jobs
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed.testing.soql import id18

ROOT = Path(__file__).resolve().parents[2]


def _field(name: str, ftype: str = "string", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "label": name.removesuffix("__c"),
        "type": ftype,
        "length": 80 if ftype == "string" else (18 if ftype in ("id", "reference") else 0),
        "createable": True,
        "updateable": True,
        "nillable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "referenceTo": [],
        "relationshipName": None,
    }
    doc.update(over)
    return doc


def _widget() -> dict[str, Any]:
    """A custom object with a required Name and an external id (what upsert needs)."""
    system = {"createable": False, "updateable": False, "nillable": False}
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
            _field("Id", "id", idLookup=True, defaultedOnCreate=True, **system),
            _field("IsDeleted", "boolean", defaultedOnCreate=True, **system),
            _field("Name", nillable=False),
            _field("ExtId__c", length=20, externalId=True, idLookup=True, unique=True),
            _field("Count__c", "int"),
            _field("CreatedDate", "datetime", defaultedOnCreate=True, **system),
            _field("LastModifiedDate", "datetime", defaultedOnCreate=True, **system),
            _field("SystemModstamp", "datetime", defaultedOnCreate=True, **system),
        ],
    }


@pytest.fixture
def org(fake_org: FakeOrg) -> FakeOrg:
    fake_org.state.schema.add_describe(_widget())
    store(fake_org.state).ensure_tables()
    return fake_org


def _grant(org: FakeOrg, *, fresh: bool = False) -> RefreshTokenGrant:
    """The org's refresh token, or a new authorization (tokens rotate: one per client)."""
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token() if fresh else c["refresh_token"],
        token_url=c["token_url"],
    )


@pytest.fixture
def sf(org: FakeOrg, face: Face) -> Iterator[Salesforce]:
    with face.salesforce(auth=_grant(org), clock=FakeClock()) as client:
        yield client


@pytest.fixture
def bulk(sf: Salesforce, face: Face) -> Bulk2:
    return face.bulk2(sf)


def _contacts() -> list[std.Contact]:
    """12 contacts; rows 3 and 7 miss LastName, row 9's is too long."""
    out = [std.Contact(FirstName=f"F{i}", LastName=f"Last {i}", Email=None) for i in range(12)]
    out[3] = std.Contact(FirstName="F3", Email=None)
    out[7] = std.Contact(FirstName="F7", Email=None)
    out[9] = std.Contact(FirstName="F9", LastName="x" * 90, Email=None)
    return out


# -- ingest ----------------------------------------------------------------------------------


def test_insert_with_failures_reconciles_and_matches_inputs(
    sf: Salesforce, bulk: Bulk2, org: FakeOrg
) -> None:
    events: list[dict[str, Any]] = []
    org.state.change_listeners.append(events.append)
    seen: list[BulkProgress] = []
    # a tiny upload limit: the 12 rows go out as several jobs, matched back across all of them
    with bulk.ingest(std.Contact, _contacts(), max_upload_bytes=200, progress=seen.append) as res:
        assert len(res.job_ids) > 2 and res.complete
        counts = res.counts
        assert (counts.uploaded, counts.successful, counts.failed, counts.unprocessed) == (
            12,
            9,
            3,
            0,
        )
        assert counts.reconciles and counts.processed == 12
        failed = {row.input_index or 0: row for row in res.failed()}
        assert sorted(failed) == [3, 7, 9]
        missing = failed[3].error
        assert (missing.code, missing.message, missing.fields) == (
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            ("LastName",),
        )
        assert (
            str(missing)
            == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
        )
        assert failed[9].error.code == "STRING_TOO_LONG" and failed[7].values["FirstName"] == "F7"
        assert failed[3].values == {"FirstName": "F3", "LastName": "", "Email": "#N/A"}
        ok = list(res.successful())
        assert [r.input_index for r in ok] == [0, 1, 2, 4, 5, 6, 8, 10, 11]
        assert all(r.created and r.id.startswith("003") for r in ok)
        stored = sf.get(std.Contact, ok[0].id)
        assert stored.LastName == "Last 0" and stored.FirstName == "F0"
    assert {e.phase for e in seen} == {"upload", "poll"}
    creates = [e for e in events if e["ChangeEventHeader"]["changeType"] == "CREATE"]
    assert len(creates) == 9  # Bulk writes publish CDC like REST writes do
    assert creates[0]["ChangeEventHeader"]["changeOrigin"].startswith("com/salesforce/api/bulk/")


def test_update_upsert_delete_and_hard_delete(sf: Salesforce, bulk: Bulk2) -> None:
    rows = [{"Name": f"W{i}", "ExtId__c": f"E-{i}", "Count__c": i} for i in range(6)]
    with bulk.ingest("Widget__c", rows) as made:
        ids = {r.values["ExtId__c"]: r.id for r in made.successful()}
    assert len(ids) == 6

    nobody = id18("a0W000000000000")
    updates = [{"Id": ids["E-0"], "Count__c": 100}, {"Id": nobody, "Count__c": 1}]
    updates.append({"Id": ids["E-1"], "Count__c": "not a number"})
    with bulk.ingest("Widget__c", updates, operation="update") as upd:
        assert (upd.counts.successful, upd.counts.failed) == (1, 2)
        failed = [r for r in upd.failed()]
        assert [r.input_index for r in failed] == [1, 2]
        assert failed[0].id == nobody  # sf__Id of a failed update (v53+)
        assert failed[0].error.code == "INVALID_CROSS_REFERENCE_KEY"
        assert failed[1].error.code == "INVALID_FIELD" and "col 2" in failed[1].error.message
    assert sf.get("Widget__c", ids["E-0"])["Count__c"] == 100

    upserts = [{"ExtId__c": "e-2", "Name": "renamed"}, {"ExtId__c": "E-9", "Name": "new"}]
    with bulk.ingest("Widget__c", upserts, operation="upsert", external_id_field="ExtId__c") as ups:
        created = {r.values["ExtId__c"]: r.created for r in ups.successful()}
    assert created == {"e-2": False, "E-9": True}  # external ids match case-insensitively

    with bulk.ingest("Widget__c", [{"Id": ids["E-3"]}], operation="delete") as once:
        assert once.counts.successful == 1
    gone = [{"Id": ids["E-5"]}, {"Id": ids["E-3"]}]
    with bulk.ingest("Widget__c", gone, operation="delete") as deleted:
        assert deleted.counts.successful == 1
        (again,) = [r for r in deleted.failed()]
        assert again.error.code == "ENTITY_IS_DELETED" and again.input_index == 1
    with bulk.ingest("Widget__c", [{"Id": ids["E-4"]}], operation="hardDelete") as hard:
        assert hard.counts.successful == 1
    every_row = list(bulk.query("SELECT Id FROM Widget__c", include_deleted=True))
    assert all(type(r) is Record for r in every_row)  # no package model: Record
    every = {r["Id"] for r in every_row}
    assert ids["E-3"] in every and ids["E-4"] not in every  # recycle bin vs gone for good


def test_csv_file_in_any_dialect(sf: Salesforce, bulk: Bulk2, tmp_path: Path) -> None:
    path = tmp_path / "accounts.tsv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\r\n")
        writer.writerow(["Name", "Description"])
        writer.writerow(["Tab\tCo", 'says "hi"\r\nover two lines'])
        writer.writerow(["Plain", ""])
    with bulk.ingest(
        "Account", csv_path=path, column_delimiter="TAB", line_ending="CRLF"
    ) as result:
        assert result.counts.successful == 2 and result.jobs[0].column_delimiter == "TAB"
        first = next(iter(result.successful()))
    account = sf.get(std.Account, first.id)
    assert account.Name == "Tab\tCo" and account.Description == 'says "hi"\r\nover two lines'


def test_bad_input_is_refused_before_any_upload(
    sf: Salesforce, bulk: Bulk2, tmp_path: Path
) -> None:
    with pytest.raises(CsvHeaderError, match="Account has no field Nmae"):
        bulk.ingest("Account", [{"Nmae": "typo"}])
    broken = tmp_path / "broken.csv"
    broken.write_text('Name,Description\nA,ok\nB,"never closed\nC,x\n', encoding="utf-8")
    with pytest.raises(CsvFormatError, match="line 3: unbalanced quote"):
        bulk.ingest("Account", csv_path=broken)
    assert list(bulk.list_jobs()) == []


def test_a_file_broken_past_its_first_upload_creates_no_job(
    sf: Salesforce, bulk: Bulk2, tmp_path: Path
) -> None:
    """The file is read once: every upload is spooled before the first job exists."""
    broken = tmp_path / "late.csv"
    good = "".join(f"Account {i:04d},ok\n" for i in range(3000))  # more than one piece
    broken.write_text(f"Name,Description\n{good}Z,x,extra\n", encoding="utf-8")
    with pytest.raises(CsvFormatError, match="line 3002: 3 cells where the header has 2"):
        bulk.ingest("Account", csv_path=broken, max_upload_bytes=20_000)
    assert list(bulk.list_jobs()) == []


def test_the_org_enforces_the_upload_limit_and_the_client_splits_under_it(
    bulk: Bulk2, org: FakeOrg
) -> None:
    bulk_v2_jobs.settings(org.state).max_upload_bytes = 400  # counted after base64
    job = bulk.create_ingest_job("Account", "insert")
    with pytest.raises(APIStatusError) as err:
        bulk.upload(job.id, b"Name\n" + b"x\n" * 200)  # 405 bytes: 540 after base64
    assert err.value.status_code == 413
    rows = [{"Name": f"N{i:03d}"} for i in range(100)]
    with bulk.ingest("Account", rows, max_upload_bytes=400) as result:
        assert len(result.job_ids) > 1 and result.counts.successful == 100
        assert sorted(r.input_index or 0 for r in result.successful()) == list(range(100))


def test_failed_job_leaves_unprocessed_rows(bulk: Bulk2, org: FakeOrg) -> None:
    bulk_v2_jobs.settings(org.state).slice_rows = 4
    bulk_v2_jobs.settings(org.state).fail_after = 4
    with bulk.ingest("Account", [{"Name": f"A{i}"} for i in range(10)]) as result:
        (job,) = result.jobs
        assert job.state == "Failed" and job.error_message and "retries" in job.error_message
        c = result.counts
        assert (c.successful, c.failed, c.unprocessed, c.reconciles) == (4, 0, 6, True)
        assert [r.input_index for r in result.unprocessed()] == list(range(4, 10))


# -- query -------------------------------------------------------------------------------------


def _seed(sf: Salesforce, n: int) -> list[str]:
    return [
        r.id
        for r in sf.create_many(
            [std.Account(Name=f"Q{i:02d}", NumberOfEmployees=i) for i in range(n)]
        )
        if r.id
    ]


def test_query_pages_by_locator_into_models_and_a_file(
    sf: Salesforce, bulk: Bulk2, tmp_path: Path
) -> None:
    ids = _seed(sf, 7)
    sf.delete(std.Account, ids[0])
    soql = "SELECT Id, Name, NumberOfEmployees, Owner.Name FROM Account ORDER BY Name"
    query = bulk.query(std.Account, soql, page_size=3)
    pages = list(query.pages())
    assert [len(p) for p in pages] == [2, 3, 1] or [len(p) for p in pages] == [3, 3]
    assert all(isinstance(p, Page) and p.total_size is None for p in pages)
    assert [p.done for p in pages] == [False] * (len(pages) - 1) + [True]
    assert all(p.locator for p in pages[:-1]) and pages[-1].locator is None
    records = [r for page in pages for r in page]
    assert [r.Name for r in records] == [f"Q{i:02d}" for i in range(1, 7)]
    assert all(isinstance(r, std.Account) for r in records)
    assert all(r.Owner is None or isinstance(r.Owner, std.User) for r in records)
    assert records[0].NumberOfEmployees == 1 and query.done and query.locator is None
    everything = bulk.query("SELECT Id FROM Account", include_deleted=True, page_size=2)
    untyped = everything.all()
    assert all(type(r) is std.Account for r in untyped)  # the FROM object's package model
    assert {r.Id for r in untyped} == set(ids)  # queryAll: the deleted one too
    assert {r.Id for r in bulk.query_all(std.Account, "SELECT Id FROM Account")} == set(ids)

    out = tmp_path / "accounts.csv"
    written = bulk.query_to_csv(soql, out, page_size=4)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Id", "Name", "NumberOfEmployees", "Owner.Name"]
    assert [r[1] for r in rows[1:]] == [f"Q{i:02d}" for i in range(1, 7)]
    assert written.records == 6 and written.bytes == out.stat().st_size
    assert not (tmp_path / "accounts.csv.part").exists()


def test_query_iterates_and_errors_are_typed(sf: Salesforce, bulk: Bulk2) -> None:
    sf.create_many([std.Account(Name=f"B{i}") for i in range(5)])
    query = bulk.query(std.Account, "SELECT Name FROM Account", page_size=2)
    names = [str(a.Name) for a in query]
    assert sorted(names) == [f"B{i}" for i in range(5)]
    with pytest.raises(QueryError) as err:
        bulk.query("SELECT Nope FROM Account").start()
    assert err.value.error_code == "INVALID_FIELD"
    with pytest.raises(APIStatusError) as nested:  # CSV cannot hold a child subquery
        bulk.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account").start()
    assert nested.value.status_code == 400 and "Nested queries" in nested.value.message


def test_query_shape_binds_and_checks_before_any_job(sf: Salesforce, bulk: Bulk2) -> None:
    """The one shape (REST's): model, soql, params; nothing is created when it is wrong."""
    sf.create_many([std.Account(Name=n) for n in ("O'Brien", "Other", "x' OR Name != 'y")])
    soql = "SELECT Name FROM Account WHERE Name = :name"
    query = bulk.query(std.Account, soql, {"name": "O'Brien"}, page_size=2)
    assert [a.Name for a in query] == ["O'Brien"]
    assert bulk.query(std.Account, soql, {"name": "x' OR Name != 'x"}).all() == []
    assert bulk.query(std.Account, "SELECT Name FROM Account").first() is not None
    before = len(list(bulk.list_jobs("query")))
    with pytest.raises(QueryModelMismatchError):
        bulk.query(std.Account, "SELECT Id FROM Contact")
    with pytest.raises(QueryBindError):
        bulk.query(std.Account, soql)  # a placeholder without params
    with pytest.raises(QueryBindError):
        bulk.query(std.Account, soql, {"nme": "typo"})
    with pytest.raises(QueryBindError):
        bulk.query_to_csv(soql, "never.csv")
    assert len(list(bulk.list_jobs("query"))) == before


def test_gzip_pages_carry_locator_headers(sf: Salesforce, bulk: Bulk2, org: FakeOrg) -> None:
    _seed(sf, 3)
    query = bulk.query("SELECT Id FROM Account", page_size=2)
    job = query.start()
    token = sf.connection.auth.token  # type: ignore[attr-defined]
    url = f"{org.instance_url}/services/data/v62.0/jobs/query/{job.id}/results?maxRecords=2"
    headers = {"Authorization": f"Bearer {token.access_token}", "Accept-Encoding": "gzip"}
    page = httpx.get(url, headers=headers)
    assert page.headers["content-encoding"] == "gzip"
    assert (
        page.headers["sforce-numberofrecords"] == "2" and page.headers["sforce-locator"] != "null"
    )
    assert page.text.splitlines()[0] == '"Id"'
    last = httpx.get(f"{url}&locator={page.headers['sforce-locator']}", headers=headers)
    assert (
        last.headers["sforce-locator"] == "null" and last.headers["sforce-numberofrecords"] == "1"
    )
    stale = httpx.get(url.replace("v62.0", "v61.0"), headers=headers)
    assert stale.status_code == 409  # results must be read with the job's API version


# -- resume, expiry, abort, state errors ------------------------------------------------------


def test_resume_from_a_new_client(org: FakeOrg, face: Face) -> None:
    table = bulk_v2_jobs.jobs(org.state)
    with face.salesforce(auth=_grant(org), clock=FakeClock()) as first:
        bulk = face.bulk2(first)
        _seed(first, 5)
        query = bulk.query(std.Account, "SELECT Name FROM Account ORDER BY Name", page_size=2)
        first_page = next(iter(query.pages()))
        saved_job, saved_locator = query.job_id, query.locator
        job = bulk.create_ingest_job("Account", "insert")
        bulk.upload(job.id, b"Name\nR1\nR2\n")
        table.pause()  # "the process dies" while the job waits to run
        bulk.close_job(job.id)
    assert [a.Name for a in first_page] == ["Q00", "Q01"]
    assert saved_job is not None and saved_locator is not None
    table.release()
    with face.salesforce(auth=_grant(org, fresh=True), clock=FakeClock()) as second:
        bulk = face.bulk2(second)
        resumed = bulk.resume(job.id)  # an ingest job: its results
        assert isinstance(unwrap(resumed), IngestResult | AsyncIngestResult)
        result = cast(IngestResult, resumed)
        assert result.counts.successful == 2 and result.counts.uploaded is None
        assert [r.input_index for r in result.successful()] == [None, None]  # no input kept
        rest = bulk.resume_query(saved_job, std.Account, locator=saved_locator, page_size=2)
        assert [a.Name for a in rest] == ["Q02", "Q03", "Q04"]
        again = bulk.resume(saved_job)  # a query job: its rows
        assert isinstance(unwrap(again), Bulk2Query | AsyncBulk2Query)
        assert [r["Name"] for r in cast("Bulk2Query[Any]", again)] == [
            "Q00",
            "Q01",
            "Q02",
            "Q03",
            "Q04",
        ]


def test_session_expiry_between_polls_and_before_an_upload(
    sf: Salesforce, bulk: Bulk2, face: Face, org: FakeOrg
) -> None:
    table = bulk_v2_jobs.jobs(org.state)
    table.pause()
    auth = sf.connection.auth
    assert isinstance(auth, SalesforceAuth)

    def after_call(spec: Any) -> None:
        if spec.method == "POST":  # a job was just created: its upload meets a dead session
            org.state.expire_sessions()

    face.after_each(bulk.transport, "call", after_call)
    polls: list[BulkProgress] = []

    def progress(event: BulkProgress) -> None:
        if event.phase == "poll" and not polls:
            org.state.expire_sessions()  # between two polls of a waiting job
            table.release()
        if event.phase == "poll":
            polls.append(event)

    before = auth.refresh_count
    rows = [{"Name": f"S{i}"} for i in range(30)]
    with bulk.ingest("Account", rows, max_upload_bytes=60, progress=progress) as result:
        assert result.counts.successful == 30 and len(result.job_ids) > 1
    assert auth.refresh_count >= before + len(result.job_ids) + 1
    names = {a.Name for a in sf.query(std.Account, "SELECT Name FROM Account")}
    assert names == {f"S{i}" for i in range(30)}  # every replayed upload landed exactly once


def test_abort_and_upload_to_a_closed_job(
    sf: Salesforce, bulk: Bulk2, face: Face, org: FakeOrg
) -> None:
    bulk_v2_jobs.jobs(org.state).pause()
    job = bulk.create_ingest_job("Account", "insert")
    bulk.upload(job.id, b"Name\nA1\nA2\nA3\n")
    closed = bulk.close_job(job.id)
    assert closed.state == "UploadComplete"
    with pytest.raises(InvalidJobStateError) as err:
        bulk.upload(job.id, b"Name\nlate\n")
    assert err.value.status_code == 409 and err.value.error_code == "INVALIDJOBSTATE"
    aborted = bulk.abort(job.id)
    assert aborted.state == "Aborted" and aborted.kind == "ingest"
    result = bulk.resume_ingest(job.id)
    assert result.counts.unprocessed == 3 and result.counts.processed == 0
    assert [r.values["Name"] for r in result.unprocessed()] == ["A1", "A2", "A3"]
    bulk.delete(job.id)
    with pytest.raises(NotFoundError):
        bulk.job_info(job.id)
    created = bulk.transport.call(v2.build_create_query("SELECT Id FROM Account"))
    patient = face.bulk2(sf, poll=PollPolicy(initial=1, maximum=10, timeout=60))
    clock = sf.clock
    assert isinstance(clock, FakeClock)
    slept = clock.total_slept
    with pytest.raises(BulkTimeoutError) as timeout:  # paused: never completes, on fake time
        patient.wait([created["id"]], "query")
    assert timeout.value.job_ids == (created["id"],)
    assert clock.total_slept - slept == pytest.approx(60)
    bulk_v2_jobs.jobs(org.state).release()  # let the held query finish before the org stops
    assert patient.wait([created["id"]], "query", poll=PollPolicy())[0].state == "JobComplete"


def test_list_jobs_follows_next_records_url(bulk: Bulk2, org: FakeOrg) -> None:
    httpx.post(f"{org.instance_url}/_admin/bulk-v2", json={"list_page_size": 2}).raise_for_status()
    made = [bulk.create_ingest_job("Account", "insert").id for _ in range(5)]
    assert [job.id for job in bulk.list_jobs()] == made
    assert all(job.state == "Open" for job in bulk.list_jobs())


# -- the CLI -------------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run(
        [sys.executable, "-m", "salesforce_typed", "bulk", *args],
        env={**clean, **env, "COLUMNS": "120"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_load_and_extract(org: FakeOrg, tmp_path: Path) -> None:
    creds = org.credentials()

    def refresh_env() -> dict[str, str]:  # one authorization per run: tokens rotate on use
        return {
            "SF_CLIENT_ID": creds["client_id"],
            "SF_CLIENT_SECRET": creds["client_secret"],
            "SF_REFRESH_TOKEN": org.new_refresh_token(),
            "SF_TOKEN_URL": creds["token_url"],
        }

    good = tmp_path / "good.csv"
    good.write_text('Name,NumberOfEmployees\nAcme,10\n"Beta, Inc",20\n', encoding="utf-8")
    done = _cli(["load", "Account", str(good)], refresh_env(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Account insert: 2 rows, 2 successful, 0 failed, 0 unprocessed" in done.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("LastName,FirstName\nOk,A\n,B\n", encoding="utf-8")
    results = ["--results", str(tmp_path / "res")]
    done = _cli(["load", "Contact", str(bad), *results], refresh_env(), tmp_path)
    assert done.returncode == 1, done.stderr
    assert "1 successful, 1 failed" in done.stdout
    with (tmp_path / "res" / "failed.csv").open(newline="") as handle:
        failed = list(csv.reader(handle))
    assert failed[0] == ["row", "sf__Id", "sf__Error", "LastName", "FirstName"]
    assert failed[1][0] == "2" and failed[1][2].startswith("REQUIRED_FIELD_MISSING:")

    grant = {
        "grant_type": "password",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "username": creds["username"],
        "password": creds["password"] + creds["security_token"],
    }
    token = httpx.post(creds["token_url"], data=grant).json()["access_token"]
    token_env = {"SF_INSTANCE_URL": org.instance_url, "SF_ACCESS_TOKEN": token}
    out = tmp_path / "out.csv"
    soql = "SELECT Name FROM Account ORDER BY Name"
    done = _cli(["extract", soql, "--out", str(out)], token_env, tmp_path)
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        assert [r[0] for r in csv.reader(handle)] == ["Name", "Acme", "Beta, Inc"]
    assert token not in done.stdout + done.stderr

    done = _cli(["load", "Account", str(tmp_path / "missing.csv")], token_env, tmp_path)
    assert done.returncode == 2
    done = _cli(["extract", "SELECT Id FROM Account", "--out", str(out)], {}, tmp_path)
    assert done.returncode == 2 and "SF_INSTANCE_URL" in done.stderr
