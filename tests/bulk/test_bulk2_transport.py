"""The Bulk 2.0 send path on a MockTransport: the branches a real server rarely takes.

An upload whose outcome is unknown is not re-sent into the same job; a stream that breaks
mid-way is re-requested and no row is handed out twice; transient errors while polling mean
"poll again", other errors end the wait. Time is a FakeClock throughout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import salesforce_typed_std as std
from salesforce_typed import AccessTokenAuth, Salesforce
from salesforce_typed.bulk import Bulk2, BulkJobError, CsvDialect, InvalidJobStateError
from salesforce_typed.bulk2.wire import build_ingest_results
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import NotFoundError
from salesforce_typed.core.retry import RetryPolicy

BASE = "https://org.example.com"
V = "/services/data/v62.0"
Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> Salesforce:
    clock = FakeClock()
    return Salesforce(
        auth=AccessTokenAuth(access_token="00Dx!secret", instance_url=BASE),
        clock=clock,
        retry=RetryPolicy(clock=clock, jitter=lambda ceiling: 0.0),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def _job(job_id: str, state: str, **extra: Any) -> dict[str, Any]:
    return {"id": job_id, "state": state, "object": "Account", "operation": "insert", **extra}


class _Broken(httpx.SyncByteStream):
    """A body that stops half-way, like a dropped connection."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        raise httpx.ReadError("connection reset")


def test_an_upload_that_may_have_landed_goes_to_a_new_job() -> None:
    seen: list[str] = []
    jobs = iter(["750A", "750B"])
    uploads: dict[str, bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(V)
        seen.append(f"{request.method} {path}")
        if request.method == "POST" and path == "/jobs/ingest":
            return httpx.Response(200, json=_job(next(jobs), "Open"))
        if request.method == "PUT":
            job_id = path.split("/")[3]
            if job_id == "750A":
                raise httpx.ReadTimeout("no answer", request=request)
            uploads[job_id] = request.read()
            return httpx.Response(201)
        if request.method == "PATCH":
            state = json.loads(request.content)["state"]
            return httpx.Response(200, json=_job(path.split("/")[3], state))
        return httpx.Response(
            200, json=_job(path.split("/")[3], "JobComplete", numberRecordsProcessed=2)
        )

    with _client(handler) as sf:
        result = Bulk2(sf).ingest(std.Account, [{"Name": "a"}, {"Name": "b"}])
        result.close()
    assert result.job_ids == ["750B"]
    assert uploads == {"750B": b"Name\na\nb\n"}
    assert seen[:5] == [
        "POST /jobs/ingest",
        "PUT /jobs/ingest/750A/batches",  # sent once: a PUT is never re-sent blindly
        "PATCH /jobs/ingest/750A",  # aborted
        "POST /jobs/ingest",
        "PUT /jobs/ingest/750B/batches",
    ]


def test_a_broken_result_stream_is_resumed_without_repeating_rows() -> None:
    body = (
        b'"sf__Id","sf__Created","Name"\n"001A","true","a"\n"001B","true","b"\n"001C","true","c"\n'
    )
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:  # half of the body, then the connection drops
            return httpx.Response(200, stream=_Broken(body[:60]))
        return httpx.Response(200, content=body)

    with _client(handler) as sf:
        bulk = Bulk2(sf)
        rows = list(
            bulk.transport.rows(build_ingest_results("750A", "successfulResults"), CsvDialect())
        )
    assert [r[2] for r in rows] == ["Name", "a", "b", "c"]
    assert len(calls) == 2


def test_polling_rides_out_transient_errors_and_stops_on_real_ones() -> None:
    answers = iter(
        [
            httpx.Response(503, json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]),
            httpx.Response(503, json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]),
            httpx.Response(503, json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]),
            httpx.Response(200, json=_job("750A", "InProgress")),
            httpx.Response(412, json=[{"errorCode": "JOB_NOT_COMPLETE", "message": "not yet"}]),
            httpx.Response(200, json=_job("750A", "JobComplete")),
        ]
    )
    with _client(lambda request: next(answers)) as sf:
        (job,) = Bulk2(sf).wait(["750A"], "ingest")
    assert job.state == "JobComplete"

    def gone(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": "deleted"}])

    with _client(gone) as sf, pytest.raises(NotFoundError):
        Bulk2(sf).wait(["750A"], "ingest")

    def still_open(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_job("750A", "Open"))

    with _client(still_open) as sf, pytest.raises(BulkJobError, match="never closed"):
        Bulk2(sf).wait(["750A"], "ingest")


def test_errors_and_reprs_never_carry_the_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer 00Dx!secret"
        return httpx.Response(409, json=[{"errorCode": "INVALIDJOBSTATE", "message": "closed"}])

    with _client(refuse) as sf:
        bulk = Bulk2(sf)
        with pytest.raises(InvalidJobStateError) as err:
            bulk.upload("750A", b"Name\nx\n")
    assert "secret" not in str(err.value) + repr(err.value) + repr(bulk)
