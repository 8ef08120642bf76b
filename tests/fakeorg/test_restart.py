"""A fake org with a data dir survives restarts: each test stops a `FakeOrg` and starts another
on the same data dir and port, and drives both over real sockets.

What carries over: credentials, refresh-token families (rotation state included), access
tokens, Bulk 1.0/2.0 jobs with their data and results, retained events with their replay ids,
the id counters and the one Organization row. Waiting on background work polls with a bound
(`wait_until`); nothing asserts on time.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from fidelity.test_restart import create, password_grant, replay_all, wait_until, xml_field

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.core.errors import ConnectionLostError
from salesforce_typed.streaming import EARLIEST, ChangeDataEvent, Listener
from salesforce_typed.streaming.policy import Backoff
from salesforce_typed.testing import streaming
from salesforce_typed.testing.bulk1.routes import bulk_v1_settings
from salesforce_typed.testing.bulk2 import jobs as bulk2_jobs
from salesforce_typed.testing.org import persist
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"


class Restarting:
    """One org on one data dir and port, stopped and started again at will."""

    def __init__(self, data_dir: Path, config: OrgConfig | None = None) -> None:
        self.data_dir = data_dir
        self.config = config
        self.port = 0
        self.starts = 0
        self.org = self._start()

    def _start(self, clock: Callable[[], float] | None = None) -> FakeOrg:
        config = attrs.evolve(self.config) if self.config is not None else None
        org = FakeOrg(data_dir=self.data_dir, port=self.port, config=config)
        if clock is not None:
            org.state.clock = clock
        org.start()
        self.port = org.port
        self.starts += 1
        streaming.configure(org.state, timeout_ms=500)  # quick idle polls, quick stops
        return org

    def restart(self, clock: Callable[[], float] | None = None) -> FakeOrg:
        self.org.stop()
        self.org = self._start(clock)
        return self.org

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.org.instance_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Restarting]:
    running = Restarting(tmp_path / "org")
    yield running
    running.org.stop()


def token_call(org: FakeOrg, **form: str) -> httpx.Response:
    creds = org.credentials()
    data = {"client_id": creds["client_id"], "client_secret": creds["client_secret"], **form}
    return httpx.post(creds["token_url"], data=data, timeout=30)


# -- credentials, refresh tokens, sessions -----------------------------------------------------


def test_credentials_refresh_tokens_and_sessions_survive(org: Restarting) -> None:
    before = org.org.credentials()
    first = token_call(org.org, grant_type="refresh_token", refresh_token=before["refresh_token"])
    assert first.status_code == 200, first.text
    access, rotated = first.json()["access_token"], first.json()["refresh_token"]
    assert rotated != before["refresh_token"]  # rotation on: the first token is spent

    after = org.restart().credentials()
    same = ("client_id", "client_secret", "username", "password", "security_token")
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    # the printed token was rotated out: the restarted org prints a live one instead
    assert after["refresh_token"] != before["refresh_token"]
    with org.client(access) as api:  # an access token minted before the restart
        assert api.get(f"{V}/limits").status_code == 200
    assert password_grant(
        org.org.credentials()
    )  # username, password and security token still match

    again = token_call(org.org, grant_type="refresh_token", refresh_token=rotated)
    assert again.status_code == 200, again.text
    latest = again.json()["refresh_token"]
    org.restart()
    # the rotated-out token is still known as its family's: refused, and the family revoked
    reused = token_call(org.org, grant_type="refresh_token", refresh_token=before["refresh_token"])
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    revoked = token_call(org.org, grant_type="refresh_token", refresh_token=latest)
    assert (revoked.status_code, revoked.json()["error"]) == (400, "invalid_grant")
    with org.client(access) as api:  # the family's access tokens died with it
        assert api.get(f"{V}/limits").status_code == 401
    org.restart()
    revoked = token_call(org.org, grant_type="refresh_token", refresh_token=latest)
    assert revoked.status_code == 400  # revocation survives a restart too


def test_printed_refresh_token_is_the_same_while_it_lives(tmp_path: Path) -> None:
    running = Restarting(tmp_path / "org", OrgConfig(refresh_token_rotation=False))
    try:
        printed = running.org.credentials()["refresh_token"]
        assert token_call(running.org, grant_type="refresh_token", refresh_token=printed).is_success
        running.restart()
        assert running.org.credentials()["refresh_token"] == printed
        assert token_call(running.org, grant_type="refresh_token", refresh_token=printed).is_success
    finally:
        running.org.stop()


def test_expired_sessions_stay_expired(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    answer = httpx.post(f"{org.org.instance_url}/_admin/expire-sessions", timeout=30)
    assert answer.status_code == 200
    org.restart()
    with org.client(token) as api:
        assert api.get(f"{V}/limits").status_code == 401


# -- ids and the Organization row --------------------------------------------------------------


def test_ids_never_repeat_across_restarts(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    seen: list[str] = []
    for round_ in range(3):
        with org.client(token) as api:
            made = [create(api, f"round {round_} #{i}") for i in range(3)]
            # a deleted record keeps its id taken too
            assert api.delete(f"{V}/sobjects/Account/{made[-1]}").status_code == 204
        seen += made
        org.restart()
    with org.client(token) as api:
        seen.append(create(api, "last"))
        rows = api.get(f"{V}/queryAll", params={"q": "SELECT Id FROM Account"}).json()
    assert len(set(seen)) == len(seen) == 10
    assert {r["Id"] for r in rows["records"]} == set(seen)


def test_one_organization_row_after_three_restarts(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    for _ in range(3):
        org.restart()
    with org.client(token) as api:
        rows = api.get(f"{V}/query", params={"q": "SELECT Id, Name FROM Organization"}).json()
    assert org.starts == 4
    assert rows["totalSize"] == 1
    assert rows["records"][0]["Id"][:15] == org.org.state.config.org_id[:15]


# -- Bulk 2.0 ----------------------------------------------------------------------------------


def job_info(api: httpx.Client, kind: str, job_id: str) -> dict[str, Any]:
    answer = api.get(f"{V}/jobs/{kind}/{job_id}")
    assert answer.status_code == 200, answer.text
    info: dict[str, Any] = answer.json()
    return info


def wait_for_job(org: Restarting, token: str, kind: str, job_id: str) -> dict[str, Any]:
    with org.client(token) as api:
        wait_until(
            lambda: job_info(api, kind, job_id)["state"] in ("JobComplete", "Failed"), "the job"
        )
        return job_info(api, kind, job_id)


def test_bulk2_ingest_jobs_complete_after_a_restart(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    names = [f"bulk {i}" for i in range(5)]
    data = "Name\n" + "".join(f"{n}\n" for n in names)
    with org.client(token) as api:
        opened = api.post(
            f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}
        ).json()["id"]
        upload = api.put(
            f"{V}/jobs/ingest/{opened}/batches", content=data, headers={"Content-Type": "text/csv"}
        )
        assert upload.status_code == 201, upload.text
        # a second job, closed while processing is held: queued when the org stops
        queued = api.post(
            f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}
        ).json()["id"]
        api.put(
            f"{V}/jobs/ingest/{queued}/batches",
            content="Name\nqueued\n",
            headers={"Content-Type": "text/csv"},
        )
        bulk2_jobs.settings(org.org.state).paused = True
        closed = api.patch(f"{V}/jobs/ingest/{queued}", json={"state": "UploadComplete"})
        assert closed.json()["state"] == "UploadComplete"

    org.restart()
    assert wait_for_job(org, token, "ingest", queued)["numberRecordsProcessed"] == 1
    with org.client(token) as api:
        assert job_info(api, "ingest", opened)["state"] == "Open"
        closed = api.patch(f"{V}/jobs/ingest/{opened}", json={"state": "UploadComplete"})
        assert closed.status_code == 200, closed.text
    info = wait_for_job(org, token, "ingest", opened)
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        5,
        0,
    )
    org.restart()  # results written before a restart are downloadable after it
    with org.client(token) as api:
        body = api.get(f"{V}/jobs/ingest/{opened}/successfulResults/").text
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [r["Name"] for r in rows] == names
        stored = api.get(
            f"{V}/query", params={"q": "SELECT Id, Name FROM Account WHERE Name LIKE 'bulk%'"}
        ).json()
    assert {r["sf__Id"] for r in rows} == {r["Id"] for r in stored["records"]}
    assert all(r["sf__Created"] == "true" for r in rows)


def test_a_bulk2_ingest_stopped_mid_run_goes_on_after_the_restart(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    rows = 6000
    bulk2_jobs.settings(org.org.state).slice_rows = 1  # a stop lands between two slices
    with org.client(token) as api:
        job = api.post(
            f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}
        ).json()["id"]
        data = "Name\n" + "".join(f"mid {i:05d}\n" for i in range(rows))
        api.put(
            f"{V}/jobs/ingest/{job}/batches", content=data, headers={"Content-Type": "text/csv"}
        )
        api.patch(f"{V}/jobs/ingest/{job}", json={"state": "UploadComplete"})
        wait_until(lambda: job_info(api, "ingest", job)["numberRecordsProcessed"] > 0, "a start")
    org.org.stop()
    at_stop = bulk2_jobs.jobs(org.org.state).get("ingest", job)
    assert at_stop.state == "InProgress" and 0 < at_stop.processed < rows  # really mid-run
    org.org = org._start()
    info = wait_for_job(org, token, "ingest", job)
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        rows,
        0,
    )
    with org.client(token) as api:
        results = api.get(f"{V}/jobs/ingest/{job}/successfulResults/").text
        count = api.get(
            f"{V}/query", params={"q": "SELECT COUNT() FROM Account WHERE Name LIKE 'mid %'"}
        ).json()["totalSize"]
    done = list(csv.DictReader(io.StringIO(results)))
    assert [r["Name"] for r in done] == [f"mid {i:05d}" for i in range(rows)]  # each row once
    assert len({r["sf__Id"] for r in done}) == count == rows  # no row written twice


def test_bulk2_query_results_survive_a_restart(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    with org.client(token) as api:
        ids = [create(api, f"q{i}") for i in range(3)]
        job = api.post(
            f"{V}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
        ).json()["id"]
    assert wait_for_job(org, token, "query", job)["numberRecordsProcessed"] == 3
    org.restart()
    with org.client(token) as api:
        page = api.get(f"{V}/jobs/query/{job}/results")
        assert page.status_code == 200, page.text
    assert sorted(r["Id"] for r in csv.DictReader(io.StringIO(page.text))) == sorted(ids)


# -- Bulk 1.0 ----------------------------------------------------------------------------------


def test_bulk1_batches_run_and_results_survive_restarts(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    base = f"{org.org.instance_url}/services/async/62.0/job"
    headers = {"X-SFDC-Session": token, "Content-Type": "application/json"}
    created = httpx.post(
        base,
        json={"operation": "insert", "object": "Account", "contentType": "CSV"},
        headers=headers,
        timeout=30,
    )
    job = xml_field(created.text, "id")
    bulk_v1_settings(org.org.state).hold = True  # the batch stays Queued through the stop
    added = httpx.post(
        f"{base}/{job}/batch",
        content="Name\nv1 a\nv1 b\n",
        headers={**headers, "Content-Type": "text/csv"},
        timeout=30,
    )
    assert added.status_code == 201, added.text
    batch = xml_field(added.text, "id")
    assert xml_field(added.text, "state") == "Queued"

    org.restart()

    def state() -> str:
        got = httpx.get(f"{base}/{job}/batch/{batch}", headers=headers, timeout=30)
        return xml_field(got.text, "state")

    wait_until(lambda: state() == "Completed", "the batch")
    closing = '<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><state>Closed</state></jobInfo>'
    closed = httpx.post(
        f"{base}/{job}",
        content=closing,
        headers={**headers, "Content-Type": "application/xml"},
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    org.restart()
    info = httpx.get(f"{base}/{job}", headers=headers, timeout=30).text
    assert [xml_field(info, n) for n in ("state", "numberRecordsProcessed")] == ["Closed", "2"]
    assert xml_field(info, "numberBatchesCompleted") == "1"
    result = httpx.get(f"{base}/{job}/batch/{batch}/result", headers=headers, timeout=30)
    rows = list(csv.DictReader(io.StringIO(result.text)))
    assert [(r["Success"], r["Created"]) for r in rows] == [("true", "true")] * 2
    request = httpx.get(f"{base}/{job}/batch/{batch}/request", headers=headers, timeout=30)
    assert request.text == "Name\nv1 a\nv1 b\n"


# -- streaming ---------------------------------------------------------------------------------


def test_writes_before_any_cometd_connect_are_replayable(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    with org.client(token) as api:
        early = [create(api, f"early {i}") for i in range(3)]
    org.restart()
    with org.client(token) as api:
        late = create(api, "late")
    events = replay_all(org.org.instance_url, password_grant(org.org.credentials()))
    record_ids = [e["payload"]["ChangeEventHeader"]["recordIds"][0] for e in events]
    assert record_ids == [*early, late]
    replays = [e["event"]["replayId"] for e in events]
    assert replays == sorted(set(replays))  # the stream went on above the old replay ids


def test_retention_counts_from_publication_not_from_the_restart(org: Restarting) -> None:
    token = password_grant(org.org.credentials())
    with org.client(token) as api:
        made = [create(api, f"kept {i}") for i in range(2)]
    channel = "/data/AccountChangeEvent"
    last = streaming.stats(org.org.state)["channels"][channel]["lastReplayId"]
    hour = 3600.0
    org.restart(clock=lambda: time.time() + 71 * hour)  # within CDC's 72 h
    kept = streaming.stats(org.org.state)["channels"][channel]
    assert (kept["retained"], kept["lastReplayId"]) == (len(made), last)
    org.restart(clock=lambda: time.time() + 73 * hour)  # past it: purged, floor at the last
    gone = streaming.stats(org.org.state)["channels"][channel]
    assert (gone["retained"], gone["floor"], gone["lastReplayId"]) == (0, last, last)
    org.restart()  # the purge itself was kept
    assert streaming.stats(org.org.state)["channels"][channel]["retained"] == 0


RESTARTS = 3


def test_a_listener_carries_on_across_restarts(org: Restarting) -> None:
    got: list[str] = []
    replays: list[int] = []
    errors: list[Exception] = []

    def created(event: ChangeDataEvent) -> None:
        got.extend(event.record_ids)
        replays.append(event.replay_id)

    made: list[str] = []
    creds = org.org.credentials()
    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )
    with Salesforce(auth=grant) as sf:
        listener = sf.listener(on_error=errors.append, backoff=Backoff(base=0.02, cap=0.2))
        assert isinstance(listener, Listener)
        listener.channel("/data/AccountChangeEvent", replay=EARLIEST, on_create=created)
        listener.start()
        try:
            wait_until(lambda: listener.listener.subscribed, "the subscription")
            for run in range(RESTARTS):
                made.extend(sf.create(std.Account(Name=f"run {run} #{i}")).id for i in range(10))
                wait_until(lambda: len(got) == len(made), "the events before the stop")
                # written just before the stop: the listener may or may not have them yet
                made.extend(sf.create(std.Account(Name=f"stop {run} #{i}")).id for i in range(5))
                org.restart()
            made.extend(sf.create(std.Account(Name=f"after #{i}")).id for i in range(10))
            wait_until(lambda: len(got) >= len(made), "every event")
        finally:
            listener.close()
    assert len(made) == RESTARTS * 15 + 10
    assert got == made  # every event, in order, none twice
    assert replays == sorted(set(replays))  # replay ids went on above the old ones
    # the restart shows as lost connections only: no replay fallback, the checkpoint taken
    # before the restart was still valid after it
    assert errors and all(isinstance(e, ConnectionLostError) for e in errors)
    assert listener.error is None


def test_without_a_data_dir_each_org_is_new_and_in_memory() -> None:
    with FakeOrg() as first, FakeOrg() as second:
        assert persist.journal(first.state) is None
        assert "streaming" not in first.state.extensions  # capture starts with streaming use
        a, b = first.credentials(), second.credentials()
        assert a["client_secret"] != b["client_secret"] and a["password"] != b["password"]
        token = password_grant(a)
        with httpx.Client(base_url=first.instance_url, timeout=30) as api:
            api.headers["Authorization"] = f"Bearer {token}"
            assert create(api, "in memory") == "0015g0000000001AAA"  # numbering starts anew
