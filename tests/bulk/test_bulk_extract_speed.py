"""What makes an extract fast under real latency, and what keeps it honest: a query job's
completion noticed within a second with the client's defaults, a policy of the caller's own
left alone, the `bulk extract` CLI reading listed pages in parallel by default, and the fake
org's query jobs running at the configured rate (its own time counted toward it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from faces import Face
from test_bulk2_parallel import NAMES, PAGES, SOQL, _admin, org
from test_bulk_overlap import timed_query

from salesforce_typed.bulk import PollPolicy
from salesforce_typed.bulk2._async.query import QUERY_POLL, _query_poll
from salesforce_typed.testing.admin.latency import Latency
from salesforce_typed.testing.server import FakeOrg

__all__ = ["org"]  # the fixture shared with test_bulk2_parallel


def test_query_job_is_noticed_within_a_second_with_the_defaults(
    fake_org: FakeOrg, face: Face, tmp_path: Path
) -> None:
    # 10,000 rows read at 200 rows/s: the job ends 50 s (client clock) after it starts. The
    # client's general policy would look every tenth of the time waited (5 s by then); for
    # a query job it looks at most 0.9 s apart during the first minute.
    elapsed, clock = timed_query(fake_org, face, tmp_path, 200, None)
    # the server's slices add up to 50 s less its own milliseconds (its own time counts)
    assert 49.5 <= elapsed <= 50.0 + 0.9, clock.sleeps
    assert max(clock.sleeps) <= 0.9


def test_query_poll_is_tight_for_a_minute_then_a_share_of_the_wait() -> None:
    assert all(QUERY_POLL.interval(n, elapsed=e) <= 0.9 for n in range(1, 80) for e in (1, 59))
    assert QUERY_POLL.interval(40, elapsed=600.0) == pytest.approx(9.0)  # 1.5% of 10 minutes
    assert QUERY_POLL.interval(400, elapsed=36_000.0) == 30.0  # the cap


def test_a_policy_of_the_callers_own_is_kept() -> None:
    own = PollPolicy(initial=2.0, maximum=2.0, near=2.0)
    assert _query_poll(own) is own
    assert _query_poll(PollPolicy()) is QUERY_POLL


def test_cli_extract_lists_pages_and_downloads_them_together(org: FakeOrg, tmp_path: Path) -> None:
    c = org.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        SF_CLIENT_ID=c["client_id"],
        SF_CLIENT_SECRET=c["client_secret"],
        SF_REFRESH_TOKEN=org.new_refresh_token(),
        SF_TOKEN_URL=c["token_url"],
        SF_TOKEN_STORE="memory",
    )
    _admin(org, hold=PAGES, hold_timeout=10)  # downloads wait until all six overlap (once)
    out = tmp_path / "a.csv"
    done = subprocess.run(
        [sys.executable, "-m", "salesforce_typed", "bulk", "extract", SOQL, "--out", str(out)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[1].strip('"') for line in lines[1:]] == NAMES
    seen = _admin(org)
    assert seen["listings"] == 2 and seen["max_in_flight"] == PAGES


def test_query_server_work_counts_the_emulators_own_time() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    mode = Latency(bulk_rows_per_s=1000, sleep=sleep)
    asyncio.run(mode.work(2000))  # a slice that took no time of its own: the full share
    asyncio.run(mode.work(2000, spent=0.5))  # a query slice that took 0.5 s already
    asyncio.run(mode.work(2000, spent=3.0))  # slower than the rate: no more waiting
    assert slept == [2.0, 1.5]
