"""`salesforce-typed fake-org serve --data-dir` restarted as a process: stopped (SIGTERM) or
killed (SIGKILL) and served again on the same data dir and port, it is the same org.

A real org does not restart under its clients; what it does promise is what these tests hold
the fake org to across restarts: the credentials a client was given keep working, ids are
never reused, there is one Organization, and every change event of the retention window can
be replayed (replay -2), with replay ids that only grow. Counts are printed for the record.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CLI = str(Path(sys.executable).with_name("salesforce-typed"))
BOUND_S = 120.0  # bounds a hung child; nothing asserts on time
V = "/services/data/v62.0"


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    tick = threading.Event()
    for _ in range(int(BOUND_S / 0.02)):
        if predicate():
            return
        tick.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """`fake-org serve --data-dir DIR --port PORT`, started again after each stop or kill."""

    def __init__(self, data_dir: Path, logs: Path) -> None:
        self.data_dir = data_dir
        self.logs = logs
        self.port = free_port()
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.credentials: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        self.runs += 1
        printed = self.logs / f"run{self.runs}.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
        command = [CLI, "fake-org", "serve", "--data-dir", str(self.data_dir)]
        with printed.open("wb") as out:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.DEVNULL,
                env=env | {"NO_COLOR": "1"},
            )
        proc = self.proc
        wait_until(lambda: proc.poll() is not None or printed.stat().st_size > 0, "the JSON line")
        assert proc.poll() is None, "fake-org serve exited"
        wait_until(lambda: printed.read_bytes().endswith(b"\n"), "the whole JSON line")
        self.credentials = json.loads(printed.read_text(encoding="utf-8").splitlines()[0])
        return self.credentials

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        self.proc.wait(timeout=BOUND_S)
        self.proc = None

    def restart(self, sig: int = signal.SIGTERM) -> dict[str, str]:
        self.stop(sig)
        return self.start()

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.credentials["instance_url"],
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    logs = tmp_path / "logs"
    logs.mkdir()
    org = Served(tmp_path / "org", logs)
    org.start()
    try:
        yield org
    finally:
        org.stop(signal.SIGKILL)


def password_grant(creds: dict[str, str]) -> str:
    """An access token from the username-password flow with the printed credentials."""
    answer = httpx.post(
        creds["token_url"],
        data={
            "grant_type": "password",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def create(api: httpx.Client, name: str) -> str:
    answer = api.post(f"{V}/sobjects/Account", json={"Name": name})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def xml_field(text: str, name: str) -> str:
    """The first `<name>` of a Bulk 1.0 XML answer."""
    return text.split(f"<{name}>", 1)[1].split(f"</{name}>", 1)[0]


def bulk1_job_done_and_closed(instance_url: str, token: str, rows: list[str]) -> tuple[str, str]:
    """A Bulk 1.0 insert job of one CSV batch of Account `rows`, run and closed: its ids."""
    base = f"{instance_url}/services/async/62.0/job"
    headers = {"X-SFDC-Session": token, "Content-Type": "application/xml"}
    xmlns = 'xmlns="http://www.force.com/2009/06/asyncapi/dataload"'
    create = f"<jobInfo {xmlns}><operation>insert</operation><object>Account</object>"
    create += "<contentType>CSV</contentType></jobInfo>"
    with httpx.Client(headers=headers, timeout=60) as bulk:
        job = xml_field(bulk.post(base, content=create).text, "id")
        body = "Name\n" + "".join(f"{row}\n" for row in rows)
        added = bulk.post(f"{base}/{job}/batch", content=body, headers={"Content-Type": "text/csv"})
        batch = xml_field(added.text, "id")
        wait_until(
            lambda: xml_field(bulk.get(f"{base}/{job}/batch/{batch}").text, "state") == "Completed",
            "the Bulk 1.0 batch",
        )
        close = f"<jobInfo {xmlns}><state>Closed</state></jobInfo>"
        assert bulk.post(f"{base}/{job}", content=close).status_code == 200
    return job, batch


def bulk1_results(instance_url: str, token: str, job: str, batch: str) -> tuple[str, list[str]]:
    """A Bulk 1.0 job's state and the ids its batch created."""
    base = f"{instance_url}/services/async/62.0/job"
    with httpx.Client(headers={"X-SFDC-Session": token}, timeout=60) as bulk:
        state = xml_field(bulk.get(f"{base}/{job}").text, "state")
        result = bulk.get(f"{base}/{job}/batch/{batch}/result").text
    return state, [row["Id"] for row in csv.DictReader(io.StringIO(result))]


def replay_all(instance_url: str, token: str) -> list[dict[str, Any]]:
    """Every retained /data/AccountChangeEvent event: a raw CometD session with replay -2."""
    channel = "/data/AccountChangeEvent"
    with httpx.Client(base_url=f"{instance_url}/cometd/62.0", timeout=60) as cometd:
        cometd.headers["Authorization"] = f"Bearer {token}"
        handshake = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["long-polling"],
        }
        client_id = cometd.post("", json=[handshake]).json()[0]["clientId"]
        subscribe = {
            "channel": "/meta/subscribe",
            "clientId": client_id,
            "subscription": channel,
            "ext": {"replay": {channel: -2}},
        }
        assert cometd.post("", json=[subscribe]).json()[0]["successful"]
        connect = {"channel": "/meta/connect", "clientId": client_id}
        got = cometd.post("", json=[connect | {"connectionType": "long-polling"}]).json()
    return [m["data"] for m in got if m["channel"] == channel]


def test_serve_restarted_three_times_is_the_same_org(served: Served) -> None:
    first = served.credentials
    token = password_grant(first)
    records: list[str] = []
    with served.api(token) as api:
        records += [create(api, f"run 1 #{i}") for i in range(3)]
        job = api.post(f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"})
        job_id = job.json()["id"]
        upload = api.put(
            f"{V}/jobs/ingest/{job_id}/batches",
            content="Name\nbulk a\nbulk b\n",
            headers={"Content-Type": "text/csv"},
        )
        assert upload.status_code == 201, upload.text
    for run in (2, 3, 4):
        again = served.restart()
        assert again == first  # the same credentials, the unused refresh token included
        with served.api(token) as api:  # the access token minted on the first run
            records.append(create(api, f"run {run}"))
    with served.api(token) as api:
        closed = api.patch(f"{V}/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        assert closed.status_code == 200, closed.text

        def done() -> bool:
            return api.get(f"{V}/jobs/ingest/{job_id}").json()["state"] == "JobComplete"

        wait_until(done, "the Bulk 2.0 job")
        results = api.get(f"{V}/jobs/ingest/{job_id}/successfulResults/").text
        records += [row["sf__Id"] for row in csv.DictReader(io.StringIO(results))]
        orgs = api.get(f"{V}/query", params={"q": "SELECT Id FROM Organization"}).json()
        accounts = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).json()
    refreshed = httpx.post(
        first["token_url"],
        data={
            "grant_type": "refresh_token",
            "client_id": first["client_id"],
            "client_secret": first["client_secret"],
            "refresh_token": first["refresh_token"],
        },
        timeout=60,
    )
    assert refreshed.status_code == 200, refreshed.text
    events = replay_all(first["instance_url"], token)
    replays = [e["event"]["replayId"] for e in events]
    changed = [e["payload"]["ChangeEventHeader"]["recordIds"][0] for e in events]

    assert served.runs == 4 and orgs["totalSize"] == 1
    assert len(set(records)) == len(records) == 8  # ids never repeat across restarts
    assert {r["Id"] for r in accounts["records"]} == set(records)
    assert changed == records and replays == sorted(set(replays))
    print(f"restarts=3 records={len(records)} events={len(events)} bulk2_jobs=1")


def test_a_killed_org_keeps_sessions_ids_events_and_finished_jobs(served: Served) -> None:
    token = password_grant(served.credentials)
    with served.api(token) as api:
        before = [create(api, f"before kill #{i}") for i in range(2)]
        job_id = api.post(
            f"{V}/jobs/ingest", json={"object": "Account", "operation": "insert"}
        ).json()["id"]
        api.put(
            f"{V}/jobs/ingest/{job_id}/batches",
            content="Name\nkilled bulk\n",
            headers={"Content-Type": "text/csv"},
        )
        api.patch(f"{V}/jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        wait_until(
            lambda: api.get(f"{V}/jobs/ingest/{job_id}").json()["state"] == "JobComplete",
            "the Bulk 2.0 job",
        )
    url = served.credentials["instance_url"]
    v1_job, v1_batch = bulk1_job_done_and_closed(url, token, ["killed v1 a", "killed v1 b"])
    served.restart(signal.SIGKILL)  # no shutdown hook runs: only what was written through
    v1_state, v1_ids = bulk1_results(url, token, v1_job, v1_batch)
    assert v1_state == "Closed" and len(v1_ids) == 2
    with served.api(token) as api:
        results = api.get(f"{V}/jobs/ingest/{job_id}/successfulResults/")
        assert results.status_code == 200, results.text
        before += [row["sf__Id"] for row in csv.DictReader(io.StringIO(results.text))]
        before += v1_ids  # in the order they were written
        after = create(api, "after kill")
    events = replay_all(served.credentials["instance_url"], token)
    changed = [e["payload"]["ChangeEventHeader"]["recordIds"][0] for e in events]
    replays = [e["event"]["replayId"] for e in events]
    assert after not in before
    assert changed == [*before, after] and replays == sorted(set(replays))
    print(f"killed=1 records={len(before) + 1} events={len(events)} bulk2_jobs=1 bulk1_jobs=1")
