"""The fake org's realistic-latency mode (testing/admin/latency.py), over real sockets.

The mode's sleeps go through an injected `sleep` that records each delay and, when asked,
holds it until the test releases it: concurrency and order are shown by who is held at once,
never by measuring time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from salesforce_typed.testing.admin.latency import Latency, latency
from salesforce_typed.testing.bulk2 import jobs as bulk_v2_jobs
from salesforce_typed.testing.server import FakeOrg

V = "v62.0"
INGEST = f"/services/data/{V}/jobs/ingest"
QUERY = f"/services/data/{V}/jobs/query"
GUARD_S = 30  # a deadlock guard, never a measured duration


class Sleeps:
    """An injectable `sleep`: records every delay; holds them while `held` until `release`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, held: bool) -> None:
        self.loop = loop
        self.held = held
        self.calls: list[float] = []
        self.waiting = 0
        self._changed = threading.Condition()
        self._open: asyncio.Event | None = None

    async def __call__(self, seconds: float) -> None:
        with self._changed:
            self.calls.append(seconds)
            self.waiting += 1
            self._changed.notify_all()
        try:
            if self.held:
                if self._open is None:
                    self._open = asyncio.Event()
                await self._open.wait()
        finally:
            with self._changed:
                self.waiting -= 1
                self._changed.notify_all()

    def wait_until(self, *, waiting: int | None = None, calls: int | None = None) -> None:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: (
                    (waiting is None or self.waiting >= waiting)
                    and (calls is None or len(self.calls) >= calls)
                ),
                timeout=GUARD_S,
            )
        assert ok, (self.waiting, self.calls)

    def release(self) -> None:
        def open_gate() -> None:
            self.held = False
            if self._open is not None:
                self._open.set()

        self.loop.call_soon_threadsafe(open_gate)


class Ticking:
    """An injectable `clock` that moves `step` seconds per reading: an ingest slice (read at
    its start and its end) took exactly `step` seconds of the emulator's own time."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def _mode(org: FakeOrg, *, held: bool) -> tuple[Latency, Sleeps]:
    mode = latency(org.state)
    sleeps = Sleeps(org.state.extensions["loop"], held=held)
    mode.sleep = sleeps
    return mode, sleeps


def _admin(api: httpx.Client, **body: Any) -> httpx.Response:
    return api.post("/_admin/latency", json=body) if body else api.get("/_admin/latency")


@pytest.fixture
def admin(fake_org: FakeOrg) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_org.instance_url, timeout=GUARD_S) as client:
        yield client


def _ingest_job(api: httpx.Client, rows: int) -> str:
    job: str = api.post(INGEST, json={"object": "Account", "operation": "insert"}).json()["id"]
    body = "Name\n" + "".join(f"Acct {i}\n" for i in range(rows))
    upload = api.put(
        f"{INGEST}/{job}/batches", content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201, upload.text
    return job


def _close(api: httpx.Client, job: str) -> None:
    closed = api.patch(f"{INGEST}/{job}", json={"state": "UploadComplete"})
    assert closed.status_code == 200, closed.text


def _finished(api: httpx.Client, base: str, job: str) -> dict[str, Any]:
    for _ in range(10_000):  # poll, no sleep
        info: dict[str, Any] = api.get(f"{base}/{job}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
    raise AssertionError(f"job {job} never finished")


# -- settings -------------------------------------------------------------------------------


def test_settings_are_stated_and_checked(admin: httpx.Client) -> None:
    assert _admin(admin).json() == {
        "rtt_ms": 0.0,
        "bulk_rows_per_s": 0.0,
        "bulk_concurrent_jobs": 0,
        "bulk_results_rows_per_s": 0.0,
        "running": 0,
        "queued": [],
    }
    done = _admin(admin, rtt_ms=50, bulk_rows_per_s=100_000, bulk_concurrent_jobs=2).json()
    assert (done["rtt_ms"], done["bulk_rows_per_s"], done["bulk_concurrent_jobs"]) == (
        50.0,
        100_000.0,
        2,
    )
    for bad in (
        {"rtt_ms": -1},
        {"rtt_ms": "50"},
        {"bulk_rows_per_s": True},
        {"bulk_concurrent_jobs": 1.5},
        {"warp": 1},
    ):
        refused = admin.post("/_admin/latency", json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()[0]["errorCode"] == "INVALID_FIELD"
    for raw in (b"[1]", b'{"bulk_rows_per_s": 1e400}', b"{"):
        refused = admin.post(
            "/_admin/latency", content=raw, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 400, (raw, refused.text)
    assert _admin(admin).json()["rtt_ms"] == 50.0  # a refused change changes nothing


# -- round trips ----------------------------------------------------------------------------


def test_round_trip_delays_every_api_request_without_serializing_them(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client
) -> None:
    mode, sleeps = _mode(fake_org, held=True)
    assert _admin(admin, rtt_ms=80).status_code == 200
    count = 6
    with ThreadPoolExecutor(count) as pool:
        calls = [pool.submit(api.get, f"/services/data/{V}/limits") for _ in range(count)]
        # every request is inside its delay at the same moment: none waits for another
        sleeps.wait_until(waiting=count)
        assert not any(call.done() for call in calls)
        assert admin.get("/_admin/latency").status_code == 200  # admin is never delayed
        sleeps.release()
        statuses = [call.result(timeout=GUARD_S).status_code for call in calls]
    assert statuses == [200] * count
    assert sleeps.calls == [0.08] * count
    assert mode.rtt_ms == 80.0


# -- server work at a rate ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "calls"),
    [
        # the emulator's own time over each slice counts toward its server work
        (0.25, [1.75, 1.75, 0.75]),
        # a slice that took longer than its share at the rate waits no more
        (1.5, [0.5, 0.5]),
    ],
)
def test_bulk2_ingest_runs_at_the_rate_whatever_the_emulators_own_time(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client, own: float, calls: list[float]
) -> None:
    mode, sleeps = _mode(fake_org, held=False)
    mode.clock = Ticking(own)
    bulk_v2_jobs.settings(fake_org.state).slice_rows = 2000
    assert _admin(admin, bulk_rows_per_s=1000).status_code == 200
    job = _ingest_job(api, 5000)
    _close(api, job)
    assert _finished(api, INGEST, job)["numberRecordsProcessed"] == 5000
    # slices of 2000, 2000, 1000 rows at 1000 rows/s: 2, 2 and 1 s, less the slice's own
    assert sleeps.calls == calls


def test_bulk2_processing_time_follows_the_rate(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client
) -> None:
    mode, sleeps = _mode(fake_org, held=False)
    mode.clock = Ticking(0.0)  # an emulator that takes no time of its own
    bulk_v2_jobs.settings(fake_org.state).slice_rows = 2000
    assert _admin(admin, bulk_rows_per_s=1000).status_code == 200
    job = _ingest_job(api, 5000)
    _close(api, job)
    assert _finished(api, INGEST, job)["numberRecordsProcessed"] == 5000
    # slices of 2000, 2000, 1000 rows at 1000 rows/s: 5 s of server work in all
    assert sleeps.calls == [2.0, 2.0, 1.0]

    sleeps.calls.clear()
    created = api.post(QUERY, json={"operation": "query", "query": "SELECT Id FROM Account"})
    assert created.status_code == 200, created.text
    info = _finished(api, QUERY, created.json()["id"])
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 5000)
    # 5000 rows read at 1000 rows/s, less the emulator's own time over them (milliseconds)
    assert 4.5 < sum(sleeps.calls) <= 5.0

    sleeps.calls.clear()
    assert _admin(admin, bulk_results_rows_per_s=500).status_code == 200
    results = f"{QUERY}/{created.json()['id']}/results"
    first = api.get(results, params={"maxRecords": 3000})
    assert first.headers["sforce-numberofrecords"] == "3000"
    rest = api.get(results, params={"locator": first.headers["sforce-locator"]})
    assert rest.headers["sforce-numberofrecords"] == "2000"
    assert sleeps.calls == [6.0, 4.0]  # each page: its rows at 500 rows/s


def test_bulk1_batch_processing_time_follows_the_rate(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client
) -> None:
    mode, sleeps = _mode(fake_org, held=False)
    mode.clock = Ticking(0.125)  # each chunk took 1/8 s of the emulator's own time
    assert _admin(admin, bulk_rows_per_s=500).status_code == 200
    token = api.headers["Authorization"].removeprefix("Bearer ")
    base = f"/services/async/{V.removeprefix('v')}/job"
    headers = {"X-SFDC-Session": token, "Content-Type": "application/json"}
    job = api.post(
        base, json={"operation": "insert", "object": "Account", "contentType": "JSON"},
        headers=headers,
    )  # fmt: skip
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    rows = [{"Name": f"B1 {i}"} for i in range(1500)]
    batch = api.post(f"{base}/{job_id}/batch", json=rows, headers=headers)
    assert batch.status_code == 201, batch.text
    sleeps.wait_until(calls=1)
    for _ in range(10_000):  # poll, no sleep
        listed = api.get(f"{base}/{job_id}/batch", headers=headers).json()["batchInfo"]
        if listed[0]["state"] in ("Completed", "Failed"):
            break
    assert listed[0]["state"] == "Completed", listed
    assert listed[0]["id"] == batch.json()["id"]
    # 1500 rows at 500 rows/s, chunk by chunk (200 rows a chunk), less each chunk's own time
    assert sleeps.calls == [200 / 500 - 0.125] * 7 + [100 / 500 - 0.125]


# -- the queue ------------------------------------------------------------------------------


def _three_in_line(
    api: httpx.Client, admin: httpx.Client, sleeps: Sleeps
) -> tuple[str, str, str, dict[str, Any]]:
    """Three closed jobs with one slot: the first processing (held), two in the queue."""
    assert _admin(admin, bulk_rows_per_s=10, bulk_concurrent_jobs=1).status_code == 200
    first, second, third = (_ingest_job(api, 3) for _ in range(3))
    _close(api, first)
    sleeps.wait_until(waiting=1)  # the first job is processing (held in its server work)
    _close(api, second)
    _close(api, third)
    for _ in range(10_000):  # poll, no sleep: until both wait in the queue
        state: dict[str, Any] = _admin(admin).json()
        if len(state["queued"]) == 2:
            break
    return first, second, third, state


def test_jobs_queue_first_come_first_served_within_the_bound(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client
) -> None:
    mode, sleeps = _mode(fake_org, held=True)
    first, second, third, state = _three_in_line(api, admin, sleeps)
    assert (state["running"], state["queued"]) == (1, [second, third])
    assert api.get(f"{INGEST}/{second}").json()["state"] == "UploadComplete"  # queued
    assert api.get(f"{INGEST}/{first}").json()["state"] == "InProgress"
    sleeps.release()
    for job in (first, second, third):
        assert _finished(api, INGEST, job)["state"] == "JobComplete"
    assert list(mode.started)[-3:] == [first, second, third]
    assert _admin(admin).json()["running"] == 0


def test_raising_the_bound_starts_queued_jobs_and_an_abort_leaves_the_queue(
    fake_org: FakeOrg, api: httpx.Client, admin: httpx.Client
) -> None:
    mode, sleeps = _mode(fake_org, held=True)
    first, second, third, _ = _three_in_line(api, admin, sleeps)
    aborted = api.patch(f"{INGEST}/{second}", json={"state": "Aborted"})
    assert aborted.status_code == 200, aborted.text
    state = _admin(admin, bulk_concurrent_jobs=3).json()  # both queued jobs get a slot
    assert state["queued"] == []
    sleeps.wait_until(waiting=2)  # first and third are in their server work together
    sleeps.release()
    assert _finished(api, INGEST, third)["state"] == "JobComplete"
    assert _finished(api, INGEST, second)["state"] == "Aborted"
    assert _finished(api, INGEST, first)["state"] == "JobComplete"
    assert mode.running == 0
