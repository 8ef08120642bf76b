"""Bulk API 1.0 end to end: our clients, and simple-salesforce, against the fake org over real
loopback sockets. Each test of our client runs on both faces, sync and async (the `face`
fixture, tests/faces.py).

Batches run in the server's background; tests never wait on time. Intermediate states are
made deterministic with the org's `hold` setting (batches stay Queued until released) and
with a client clock whose first poll sleep does the interfering thing (expire sessions,
release the hold). Sizes are tiny: limits are shrunk instead of loading 10,000 rows.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from faces import Face
from simple_salesforce.api import Salesforce as SimpleSalesforce

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.auth.grants import AccessTokenAuth
from salesforce_typed.bulk1._sync.client import Bulk1
from salesforce_typed.bulk1.batches import BatchLimits
from salesforce_typed.bulk1.wire import ConcurrencyMode, ContentType
from salesforce_typed.core.clock import SystemClock
from salesforce_typed.core.errors import (
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    QueryBindError,
    QueryModelMismatchError,
    UsageError,
)
from salesforce_typed.jobs.polling import PollPolicy
from salesforce_typed.testing.bulk1.routes import bulk_v1, bulk_v1_settings
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

ROOT = Path(__file__).resolve().parents[2]
NS = "{http://www.force.com/2009/06/asyncapi/dataload}"
FAST = PollPolicy(initial=0.005, factor=2.0, maximum=0.05, timeout=None)
FORMATS: list[ContentType] = ["CSV", "JSON", "XML"]


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
    """A custom object keyed by an external id, for upserts."""
    system = {"createable": False, "updateable": False, "nillable": False}
    return {
        "name": "Project__c",
        "label": "Project",
        "labelPlural": "Projects",
        "custom": True,
        "keyPrefix": "a01",
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
            _field("Code__c", length=20, externalId=True, idLookup=True, unique=True),
            _field("Budget__c", "currency", precision=12, scale=2),
            _field("CreatedDate", "datetime", defaultedOnCreate=True, **system),
            _field("LastModifiedDate", "datetime", defaultedOnCreate=True, **system),
            _field("SystemModstamp", "datetime", defaultedOnCreate=True, **system),
        ],
    }


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


def session_token(org: FakeOrg) -> str:
    """A fresh access token for raw HTTP checks of the server (password grant: the refresh
    token the clients use is rotated on use, so tests leave it alone)."""
    c = org.credentials()
    data = {
        "grant_type": "password",
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"] + c["security_token"],
    }
    with httpx.Client(timeout=30, verify=c.get("ca_file", True)) as client:
        answer = client.post(c["token_url"], data=data)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


class InterferingClock(SystemClock):
    """Real time, except that the first poll sleep runs `action` (then sleeps briefly)."""

    def __init__(self, action: Any) -> None:
        self.action = action
        self.fired = False

    def _fire(self) -> None:
        if not self.fired:
            self.fired = True
            self.action()

    def sleep(self, seconds: float) -> None:
        self._fire()
        super().sleep(min(seconds, 0.05))

    async def asleep(self, seconds: float) -> None:
        self._fire()
        await super().asleep(min(seconds, 0.05))


@pytest.fixture
def org(fake_org: FakeOrg) -> FakeOrg:
    fake_org.state.schema.add_describe(project_describe())
    store(fake_org.state).ensure_tables()
    return fake_org


@pytest.fixture
def sf(org: FakeOrg, face: Face) -> Iterator[Salesforce]:
    with face.salesforce(auth=_grant(org)) as client:
        yield client


@pytest.fixture
def bulk(sf: Salesforce, face: Face) -> Bulk1:
    return face.bulk1(sf, poll=FAST)


def server_job(org: FakeOrg, job_id: str) -> Any:
    job = bulk_v1(org.state).job(job_id)
    assert job is not None
    return job


# -- loads: every operation, every format ------------------------------------------------------


@pytest.mark.parametrize("content_type", FORMATS)
def test_insert_update_upsert_delete(
    org: FakeOrg, sf: Salesforce, bulk: Bulk1, content_type: ContentType
) -> None:
    rows: list[Any] = [
        std.Contact(LastName=f"Doe {i}", Email=f"d{i}@example.com") for i in range(3)
    ]
    rows.append(std.Contact(FirstName="No last name"))
    rows.append({"LastName": "Bad date", "Birthdate": "not-a-date"})
    rows.append(std.Contact(LastName="Last"))
    made = bulk.insert(std.Contact, rows, content_type=content_type)
    assert [r.index for r in made.rows] == list(range(6))
    assert all(r.input is rows[r.index] for r in made.rows)
    assert [r.success for r in made.rows] == [True, True, True, False, False, True]
    assert all(r.created for r in made.succeeded)
    missing, bad_type = made.rows[3].errors[0], made.rows[4].errors[0]
    assert (missing.code, missing.message, missing.fields) == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
        ("LastName",),
    )
    assert (bad_type.code, bad_type.fields) == ("INVALID_TYPE_ON_FIELD_IN_RECORD", ("Birthdate",))
    assert bad_type.message == "Birthdate: value not of required type: not-a-date"
    assert made.job.state == "Closed" and made.job.contentType == content_type
    assert (made.job.numberRecordsProcessed, made.job.numberRecordsFailed) == (6, 2)
    assert made.reconciles
    ids = [str(r.id) for r in made.succeeded]
    assert sf.get(std.Contact, ids[0]).Email == "d0@example.com"

    changes = [
        std.Contact(Id=ids[0], Email="new@example.com"),
        std.Contact(Id=ids[1], Email=None),  # None writes null (#N/A, null, xsi:nil)
        {"Id": "not-an-id", "LastName": "x"},
    ]
    updated = bulk.update(std.Contact, changes, content_type=content_type)
    assert [r.success for r in updated.rows] == [True, True, False]
    assert not any(r.created for r in updated.rows)
    assert updated.rows[2].errors[0].code == "MALFORMED_ID"
    assert sf.get(std.Contact, ids[0]).Email == "new@example.com"
    assert sf.get(std.Contact, ids[1]).Email is None
    assert sf.get(std.Contact, ids[1]).LastName == "Doe 1"  # unset fields untouched
    assert updated.reconciles

    first = bulk.upsert(
        "Project__c",
        "Code__c",
        [{"Code__c": "P-1", "Name": "One"}, {"Code__c": "P-2", "Name": "Two"}],
        content_type=content_type,
    )
    assert [(r.success, r.created) for r in first.rows] == [(True, True), (True, True)]
    again = bulk.upsert(
        "Project__c",
        "Code__c",
        [
            {"Code__c": "P-1", "Name": "One again", "Budget__c": 12.5},
            {"Code__c": "P-3", "Name": "Three"},
            {"Code__c": "P-2", "Name": "Two again"},
        ],
        content_type=content_type,
    )
    assert [(r.success, r.created) for r in again.rows] == [
        (True, False),
        (True, True),
        (True, False),
    ]
    assert again.rows[0].id == first.rows[0].id and again.rows[2].id == first.rows[1].id
    project = sf.get("Project__c", str(first.rows[0].id))
    assert project["Name"] == "One again" and project["Budget__c"] == 12.5

    gone = bulk.delete(
        std.Contact, [ids[0], std.Contact(Id=ids[1]), ids[0]], content_type=content_type
    )
    assert [r.success for r in gone.rows] == [True, True, False]
    assert gone.rows[2].errors[0].code == "ENTITY_IS_DELETED"
    with pytest.raises(NotFoundError):
        sf.get(std.Contact, ids[0])
    assert gone.reconciles


@pytest.mark.parametrize("content_type", FORMATS)
def test_insert_hard_delete_and_query_all(
    org: FakeOrg, bulk: Bulk1, content_type: ContentType
) -> None:
    made = bulk.insert(
        std.Account, [std.Account(Name=f"Acme {i}") for i in range(4)], content_type=content_type
    )
    ids = [str(r.id) for r in made.rows]
    assert made.reconciles and len(ids) == 4
    soft = bulk.delete("Account", ids[:1], content_type=content_type)
    hard = bulk.hard_delete("Account", ids[1:2], content_type=content_type)
    assert soft.rows[0].success and hard.rows[0].success
    live = bulk.query(std.Account, "SELECT Id, Name FROM Account", content_type=content_type)
    assert sorted(str(a.Id) for a in live.all()) == sorted(ids[2:])
    everything = bulk.query_all(
        std.Account, "SELECT Id, IsDeleted FROM Account", content_type=content_type
    )
    seen = {a.Id: a.IsDeleted for a in everything.all()}
    assert seen == {ids[0]: True, ids[2]: False, ids[3]: False}  # hard-deleted: gone
    assert everything.reconciles and everything.job is not None
    assert everything.job.operation == "queryAll"


def test_query_typed_and_untyped(org: FakeOrg, sf: Salesforce, bulk: Bulk1) -> None:
    bulk.insert(
        std.Account,
        [
            std.Account(Name="Alpha, Inc.", AnnualRevenue=1500.5, NumberOfEmployees=3),
            std.Account(Name='Quote "B"\nline two', Industry=std.AccountIndustryPicklist.BANKING),
        ],
    )
    soql = "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, Industry, CreatedDate FROM Account ORDER BY Name"
    for content_type in FORMATS:
        typed = bulk.query(std.Account, soql, content_type=content_type).all()
        assert [a.Name for a in typed] == ["Alpha, Inc.", 'Quote "B"\nline two']
        assert typed[0].AnnualRevenue == 1500.5 and typed[0].NumberOfEmployees == 3
        assert typed[1].Industry is std.AccountIndustryPicklist.BANKING
        assert typed[1].AnnualRevenue is None and typed[0].CreatedDate is not None
    untyped = bulk.query(soql).all()  # decoded as the FROM object's package model
    assert all(type(a) is std.Account for a in untyped)
    assert untyped[0].Name == "Alpha, Inc." and untyped[0].AnnualRevenue == 1500.5
    assert untyped[1].AnnualRevenue is None  # an empty CSV cell reads as null
    empty = bulk.query(std.Account, "SELECT Id FROM Account WHERE Name = 'nobody'")
    assert empty.all() == [] and empty.reconciles


def test_query_shape_pages_binds_and_refusals(org: FakeOrg, sf: Salesforce, bulk: Bulk1) -> None:
    """The one shape (REST's): model, soql, params; pages of at most page_size rows."""
    bulk.insert(std.Account, [std.Account(Name=f"P{i}") for i in range(5)])
    bulk.insert(std.Account, [std.Account(Name="O'Brien")])
    soql = "SELECT Name FROM Account WHERE Name LIKE :p ORDER BY Name"
    pages = list(bulk.query(std.Account, soql, {"p": "P%"}, page_size=2).pages())
    assert [[a.Name for a in page] for page in pages] == [["P0", "P1"], ["P2", "P3"], ["P4"]]
    assert [p.done for p in pages] == [False, False, True]
    named = bulk.query(std.Account, "SELECT Name FROM Account WHERE Name = :n", {"n": "O'Brien"})
    assert [a.Name for a in named] == ["O'Brien"]
    assert bulk.query_all(std.Account, soql, {"p": "P4"}).first() is not None
    empty = list(bulk.query(std.Account, soql, {"p": "nobody"}, page_size=2).pages())
    assert [(len(p), p.done) for p in empty] == [(0, True)]
    jobs = len(bulk_v1(org.state).jobs)
    with pytest.raises(QueryModelMismatchError):
        bulk.query(std.Account, "SELECT Id FROM Contact")
    with pytest.raises(QueryBindError):
        bulk.query(std.Account, soql)
    with pytest.raises(UsageError):  # a Bulk 1.0 job needs its object before the query runs
        bulk.query("FIND {x}")
    with pytest.raises(ValueError):
        bulk.query(std.Account, soql, {"p": "P%"}, page_size=0)
    assert len(bulk_v1(org.state).jobs) == jobs  # refused before any job was created


# -- splitting, limits and concurrency ---------------------------------------------------------


def test_batches_split_from_a_streamed_source(org: FakeOrg, sf: Salesforce, face: Face) -> None:
    split = face.bulk1(sf, poll=FAST, limits=BatchLimits(max_records=3), upload_concurrency=2)
    rows = face.stream({"Name": f"Gen {i}"} for i in range(10))  # async face: async generator
    result = split.insert("Account", rows, content_type="JSON")
    assert len(result.batches) == 4 and result.job.numberBatchesTotal == 4
    assert sorted(b.numberRecordsProcessed for b in result.batches) == [1, 3, 3, 3]
    assert [r.input["Name"] for r in result.rows] == [f"Gen {i}" for i in range(10)]
    assert result.reconciles and all(r.success for r in result.rows)
    names = {a.Name for a in split.query(std.Account, "SELECT Name FROM Account").all()}
    assert names == {f"Gen {i}" for i in range(10)}


def test_byte_limit_split(org: FakeOrg, sf: Salesforce, face: Face) -> None:
    rows = [{"Name": f"Row {i:02d}"} for i in range(8)]
    limited = face.bulk1(sf, poll=FAST, limits=BatchLimits(max_bytes=30))
    result = limited.insert("Account", iter(rows))
    assert len(result.batches) > 2 and result.reconciles
    assert [r.index for r in result.rows] == list(range(8)) and all(r.success for r in result.rows)
    for batch in bulk_v1(org.state).jobs[result.job.id].batches:
        assert len(batch.body) <= 30


def test_server_limits_use_salesforce_texts(org: FakeOrg, bulk: Bulk1) -> None:
    settings = bulk_v1_settings(org.state)
    settings.max_records, settings.max_bytes = 2, 120
    job = bulk.create_job("insert", "Account", "CSV")
    batch = bulk.add_batch(job, b"Name\nA\nB\nC\n")
    assert batch.state == "Queued"
    with pytest.raises(APIStatusError) as err:
        bulk.add_batch(job, b"Name\n" + b"x" * 200 + b"\n")
    assert (err.value.status_code, err.value.error_code) == (400, "InvalidBatch")
    assert err.value.message == "Exceeded max size limit of 120"
    unknown = bulk.add_batch(job, b"Name,Bogus__c\nA,1\n")
    bulk.close_job(job)
    final = {b.id: b for b in bulk.wait(job)}
    assert final[batch.id].state == "Failed"
    assert final[batch.id].stateMessage == (
        "InvalidBatch : Exceeded number of records: 3. Number of records should be less than "
        "or equal to 2"
    )
    assert final[unknown.id].stateMessage == "InvalidBatch : Field name not found : Bogus__c"
    # Through load(): rows of a failed batch fail with the batch's code, counts still agree.
    loaded = bulk.insert("Account", [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}])
    assert [r.success for r in loaded.rows] == [False] * 3
    assert loaded.rows[0].errors[0].code == "InvalidBatch" and loaded.reconciles


@pytest.mark.parametrize("mode", ["Serial", "Parallel"])
def test_concurrency_modes(org: FakeOrg, sf: Salesforce, face: Face, mode: ConcurrencyMode) -> None:
    small = face.bulk1(sf, poll=FAST, limits=BatchLimits(max_records=2))
    result = small.insert(
        "Account", [{"Name": f"{mode} {i}"} for i in range(7)], concurrency_mode=mode
    )
    assert result.job.concurrencyMode == mode and len(result.batches) == 4
    assert result.reconciles and all(r.success for r in result.rows)
    if mode == "Serial":  # one at a time, in the order they were added
        batches = server_job(org, result.job.id).batches
        for before, after in itertools.pairwise(batches):
            assert after.started >= before.ended


# -- PK chunking -------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["CSV", "JSON"])
def test_pk_chunking_streams_every_chunk_batch(
    org: FakeOrg, bulk: Bulk1, content_type: ContentType
) -> None:
    made = bulk.insert("Account", [{"Name": f"PK {i:02d}"} for i in range(25)])
    bulk_v1_settings(org.state).result_file_rows = 4
    query = bulk.query(
        std.Account, "SELECT Id, Name FROM Account", content_type=content_type, pk_chunking=10
    )
    ids = [str(a.Id) for a in query]
    assert sorted(ids) == sorted(str(r.id) for r in made.rows)
    states = [b.state for b in query.batches]
    assert states == ["NotProcessed", "Completed", "Completed", "Completed"]
    assert [b.numberRecordsProcessed for b in query.batches[1:]] == [10, 10, 5]
    assert len(query.result_files) == 3 + 3 + 2  # files of at most 4 rows per chunk
    assert query.reconciles and query.rows == 25
    by_file = bulk.query(std.Account, "SELECT Id FROM Account", pk_chunking=10)
    pages = list(by_file.pages())  # without page_size: one page per result file
    # One page per result file; chunk batches finish in any order, so compare as a multiset.
    assert sorted(len(p) for p in pages) == sorted([4, 4, 2, 4, 4, 2, 4, 1])
    assert [p.done for p in pages] == [False] * 7 + [True]
    assert all(p.total_size is None and p.locator is None for p in pages)
    filtered = bulk.query(
        std.Account, "SELECT Name FROM Account WHERE Name LIKE 'PK 1%'", pk_chunking=10
    )
    assert sorted(str(a.Name) for a in filtered.all()) == [f"PK {i}" for i in range(10, 20)]


def test_pk_chunking_refused_for_loads_and_bad_queries_fail(org: FakeOrg, bulk: Bulk1) -> None:
    with httpx.Client(timeout=30) as client:
        answer = client.post(
            f"{org.instance_url}/services/async/62.0/job",
            content=b'{"operation":"insert","object":"Account","contentType":"JSON"}',
            headers={
                "Content-Type": "application/json",
                "X-SFDC-Session": session_token(org),
                "Sforce-Enable-PKChunking": "true",
            },
        )
    assert answer.status_code == 400 and answer.json()["exceptionCode"] == "InvalidJob"
    with pytest.raises(APIStatusError) as bad:
        bulk.query(std.Account, "SELECT Nope__c FROM Account", pk_chunking=True).all()
    assert bad.value.error_code == "INVALID_FIELD"


# -- sessions, abort, errors -------------------------------------------------------------------


def test_session_expiry_mid_upload_refreshes_and_continues(
    org: FakeOrg, sf: Salesforce, face: Face
) -> None:
    small = face.bulk1(sf, poll=FAST, limits=BatchLimits(max_records=2), upload_concurrency=1)

    def rows() -> Iterator[dict[str, str]]:
        for i in range(7):
            if i == 4:
                org.state.expire_sessions()
            yield {"Name": f"Expiring {i}"}

    result = small.insert("Account", rows())
    assert all(r.success for r in result.rows) and result.reconciles
    assert small.refresh_count == 1


def test_session_expiry_while_polling_refreshes(org: FakeOrg, face: Face) -> None:
    settings = bulk_v1_settings(org.state)
    settings.hold = True

    def expire_and_release() -> None:
        org.state.expire_sessions()
        settings.hold = False

    clock = InterferingClock(expire_and_release)
    with face.salesforce(auth=_grant(org), clock=clock) as client:
        polling = face.bulk1(client, poll=FAST)
        result = polling.insert("Account", [{"Name": "held"}, {"Name": "then done"}])
    assert clock.fired and polling.refresh_count == 1
    assert all(r.success for r in result.rows) and result.reconciles


def test_expired_access_token_without_refresh_raises(org: FakeOrg, face: Face) -> None:
    token = session_token(org)
    auth = AccessTokenAuth(access_token=token, instance_url=org.instance_url)
    with face.salesforce(auth=auth) as raw:
        plain = face.bulk1(raw, poll=FAST)
        assert plain.insert("Account", [{"Name": "ok"}]).rows[0].success
        org.state.expire_sessions()
        with pytest.raises(AuthenticationError):
            plain.insert("Account", [{"Name": "too late"}])


def test_abort_leaves_queued_batches_not_processed(org: FakeOrg, bulk: Bulk1) -> None:
    bulk_v1_settings(org.state).hold = True
    job = bulk.create_job("insert", "Account", "XML")
    body = (
        b'<sObjects xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        b"<sObject><Name>x</Name></sObject></sObjects>"
    )
    first, second = bulk.add_batch(job, body), bulk.add_batch(job, body)
    aborted = bulk.abort_job(job)
    assert aborted.state == "Aborted"
    assert [b.state for b in bulk.get_batches(job)] == ["NotProcessed", "NotProcessed"]
    with pytest.raises(APIStatusError) as err:
        bulk.add_batch(job, body)
    assert err.value.error_code == "InvalidJobState"
    bulk_v1_settings(org.state).hold = False
    assert {b.id: b.state for b in bulk.wait(job)} == {
        first.id: "NotProcessed",
        second.id: "NotProcessed",
    }
    assert bulk.get_batch_request(job, first.id) == body
    assert bulk.get_job(job.id).numberRecordsProcessed == 0


def test_failed_upload_aborts_the_job(org: FakeOrg, sf: Salesforce, face: Face) -> None:
    small = face.bulk1(sf, poll=FAST, limits=BatchLimits(max_records=2), upload_concurrency=1)

    def rows() -> Iterator[dict[str, str]]:
        yield from ({"Name": f"r{i}"} for i in range(3))
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        small.insert("Account", rows())
    jobs = list(bulk_v1(org.state).jobs.values())
    assert [j.state for j in jobs] == ["Aborted"]


def test_bad_session_error_shape(org: FakeOrg) -> None:
    url = f"{org.instance_url}/services/async/62.0/job"
    job_xml = (
        '<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        "<operation>insert</operation><object>Account</object></jobInfo>"
    )
    with httpx.Client(timeout=30) as client:
        for headers in ({"X-SFDC-Session": "00Dbogus!nope"}, {}):
            answer = client.post(
                url, content=job_xml, headers={"Content-Type": "application/xml", **headers}
            )
            assert answer.status_code == 400
            assert answer.headers["content-type"].startswith("application/xml")
            root = ET.fromstring(answer.content)
            assert root.tag == f"{NS}error"
            assert root.findtext(f"{NS}exceptionCode") == "InvalidSessionId"
            assert root.findtext(f"{NS}exceptionMessage") == "Invalid session id"
        answer = client.post(
            url, content="{}", headers={"Content-Type": "application/json", "X-SFDC-Session": "x"}
        )
        assert answer.status_code == 400
        assert answer.json() == {
            "exceptionCode": "InvalidSessionId",
            "exceptionMessage": "Invalid session id",
        }
        token = session_token(org)
        bearer = client.post(
            url,
            content=job_xml,
            headers={"Content-Type": "application/xml", "Authorization": f"Bearer {token}"},
        )
        assert (
            bearer.status_code == 400 and b"InvalidSessionId" in bearer.content
        )  # Bulk 1.0 takes no Bearer
        unknown = client.get(f"{url}/750000000000000AAA", headers={"X-SFDC-Session": token})
        assert (
            unknown.status_code == 400
            and b"<exceptionCode>InvalidJob</exceptionCode>" in unknown.content
        )
        made = client.post(
            url,
            content=job_xml,
            headers={"Content-Type": "application/xml", "X-SFDC-Session": token},
        )
        assert made.status_code == 201
        job = ET.fromstring(made.content)
        assert [c.tag.removeprefix(NS) for c in job][:7] == [
            "id",
            "operation",
            "object",
            "createdById",
            "createdDate",
            "systemModstamp",
            "state",
        ]
        assert (
            job.findtext(f"{NS}contentType") == "XML" and job.findtext(f"{NS}apiVersion") == "62.0"
        )


def test_bulk_writes_publish_change_events(org: FakeOrg, sf: Salesforce, face: Face) -> None:
    events: list[dict[str, Any]] = []
    org.state.change_listeners.append(events.append)
    tagged = face.bulk1(sf, poll=FAST, call_options="client=bulk-loader")
    made = tagged.insert("Account", [{"Name": "Evented"}])
    header = events[-1]["ChangeEventHeader"]
    assert header["changeType"] == "CREATE" and header["recordIds"] == [made.rows[0].id]
    assert header["changeOrigin"] == "com/salesforce/api/bulkapi/62.0;client=bulk-loader"


# -- an independent client ---------------------------------------------------------------------


def test_simple_salesforce_bulk_against_the_fake_org(fake_org_tls: FakeOrg) -> None:
    c = fake_org_tls.credentials()
    with requests.Session() as http:
        http.trust_env = False
        http.verify = c["ca_file"]
        token = http.post(
            c["token_url"],
            data={
                "grant_type": "refresh_token",
                "client_id": c["client_id"],
                "client_secret": c["client_secret"],
                "refresh_token": c["refresh_token"],
            },
        ).json()["access_token"]
        ssf = SimpleSalesforce(
            instance_url=fake_org_tls.instance_url, session_id=token, version="59.0", session=http
        )
        handler: Any = ssf.bulk  # simple-salesforce types `bulk` loosely
        results = handler.Contact.insert([{"LastName": "Ada"}, {"FirstName": "No last"}])
        assert results[0]["success"] is True and results[0]["id"].startswith("003")
        assert results[1]["success"] is False
        assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
        rows = handler.Contact.query("SELECT Id, LastName FROM Contact", wait=0)
        assert [r["LastName"] for r in rows] == ["Ada"]


# -- the example -------------------------------------------------------------------------------


def test_example_runs_against_a_fresh_fake_org() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "bulk_v1.py")],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reconciles: True" in done.stdout
