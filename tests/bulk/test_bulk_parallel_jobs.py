"""A load cut into several Bulk 2.0 jobs: the rule that cuts it (`jobs/job_split.py`), the
row cap in `split_uploads`, and, against the fake org, jobs uploaded and polled side by side
whose results are matched to their input rows across jobs, in both clients.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce
from salesforce_typed.bulk import AsyncBulk2, Bulk2
from salesforce_typed.bulk2._async.jobs import AsyncBulk2Jobs
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import UsageError
from salesforce_typed.jobs.csv_chunks import split_uploads
from salesforce_typed.jobs.job_split import (
    AUTO_MIN_ROWS,
    BATCH_ROWS,
    MAX_PARALLEL_JOBS,
    count_lines,
    known_size,
    rows_per_job,
)
from salesforce_typed.testing.server import FakeOrg

ROWS = 2400
BLANKS = (3, 805, 1601, ROWS - 1)  # no Name: they fail, one in each of four jobs of 600


# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "asked", "cap"),
    [
        (None, None, None),  # a stream of unknown size: only the 150 MB cut
        (150_000, None, None),  # too small to pay: one job
        (2 * AUTO_MIN_ROWS - 1, None, None),
        (2 * AUTO_MIN_ROWS, None, AUTO_MIN_ROWS),
        (250_000, None, 130_000),  # two jobs, each a whole number of 10,000-row batches
        (1_000_000, None, 100_000),  # ten jobs of 100,000
        (5_000_000, None, 500_000),  # never more than ten jobs by default
        (3000, 3, 1000),  # asked: below one batch, no rounding
        (150_000, 4, 40_000),  # 37,500 rounded up to whole batches: 4 jobs
        (1_000_000, 1, None),  # one job (per 150 MB)
    ],
)
def test_rows_per_job(rows: int | None, asked: int | None, cap: int | None) -> None:
    assert rows_per_job(rows, asked) == cap


@pytest.mark.parametrize("rows", [200_000, 250_001, 999_999, 1_000_000, 3_333_333, 10**8])
def test_the_default_cut_spends_no_extra_batch_and_caps_the_job_count(rows: int) -> None:
    cap = rows_per_job(rows)
    assert cap is not None and cap % BATCH_ROWS == 0
    jobs = math.ceil(rows / cap)
    assert 2 <= jobs <= MAX_PARALLEL_JOBS
    sizes = [cap] * (jobs - 1) + [rows - cap * (jobs - 1)]
    assert sum(math.ceil(n / BATCH_ROWS) for n in sizes) == math.ceil(rows / BATCH_ROWS)


def test_rows_per_job_refuses_zero_jobs() -> None:
    with pytest.raises(UsageError, match="at least 1"):
        rows_per_job(10, 0)


def test_count_lines_is_an_upper_bound_on_data_rows(tmp_path: Path) -> None:
    cases = {
        "Name\na\nb\n": 2,
        "Name\na\nb": 2,  # no final line end
        "Name\n": 0,
        "": 0,
        'Name\n"two\nlines"\nc\n': 3,  # a quoted line end counts: never fewer than there are
    }
    for number, (text, lines) in enumerate(cases.items()):
        path = tmp_path / f"{number}.csv"
        path.write_text(text, encoding="utf-8")
        assert count_lines(path) == lines, text
    big = tmp_path / "big.csv"
    big.write_bytes(b"Name\n" + b"x\n" * (3 << 19))  # across read blocks
    assert count_lines(big) == 3 << 19
    assert known_size([1, 2, 3]) == 3 and known_size(iter([1])) is None


def test_split_uploads_caps_rows_and_bytes_and_keeps_every_row() -> None:
    rows = [[f"n{i}", "x" * (i % 7)] for i in range(5003)]
    for max_rows, max_bytes in [(1000, 150_000_000), (999, 150_000_000), (1000, 4000)]:
        pieces = list(split_uploads(["Name", "Site"], rows, max_upload_bytes=max_bytes,
                                    max_rows=max_rows, piece_rows=300))  # fmt: skip
        uploads: dict[int, list[bytes]] = {}
        for piece in pieces:
            uploads.setdefault(piece.job, []).append(piece.data)
        seen: list[list[str]] = []
        for data in uploads.values():
            parsed = list(csv.reader(io.StringIO(b"".join(data).decode())))
            assert parsed[0] == ["Name", "Site"]
            assert len(parsed) - 1 <= max_rows
            assert len(b"".join(data)) <= max_bytes // 4 * 3
            seen += parsed[1:]
        assert seen == [[n, s] for n, s in rows]
        if max_bytes > 10**6:
            assert len(uploads) == math.ceil(len(rows) / max_rows)
    with pytest.raises(UsageError):
        list(split_uploads(["Name"], [["a"]], max_rows=0))


# -- against the fake org ---------------------------------------------------------------------


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as org:
        yield org


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token(),
        token_url=c["token_url"],
    )


def _input(path: Path) -> list[tuple[str, str]]:
    rows = [("" if i in BLANKS else f"p-{i}", f"N{i:05d}") for i in range(ROWS)]
    path.write_text(
        "Name,AccountNumber\n" + "".join(f"{n},{a}\n" for n, a in rows), encoding="utf-8"
    )
    return rows


def _held(sf: Salesforce) -> Counter[tuple[str, str]]:
    soql = "SELECT Name, AccountNumber FROM Account"
    return Counter((a.Name or "", a.AccountNumber or "") for a in sf.query(std.Account, soql))


def _check(result: Any, rows: list[tuple[str, str]]) -> None:
    """Four jobs of 600; every row's outcome found, matched to its input row."""
    assert len(result.job_ids) == 4
    assert result.counts.successful == ROWS - len(BLANKS)
    failed = list(result.failed())
    assert [r.input_index for r in failed] == list(BLANKS)
    assert [r.values["AccountNumber"] for r in failed] == [rows[i][1] for i in BLANKS]
    good = list(result.successful())
    assert sorted(r.input_index for r in good) == [i for i in range(ROWS) if i not in BLANKS]
    assert all(r.values["AccountNumber"] == rows[r.input_index][1] for r in good)


@pytest.mark.parametrize("source", ["file", "records"])
def test_a_load_in_four_jobs_matches_results_to_input_rows(
    org: FakeOrg, tmp_path: Path, source: str
) -> None:
    rows = _input(tmp_path / "in.csv")
    with Salesforce(auth=_grant(org), clock=FakeClock()) as sf:
        bulk = Bulk2(sf)
        if source == "file":
            result = bulk.ingest("Account", csv_path=tmp_path / "in.csv", parallel_jobs=4)
        else:
            records = [{"Name": n, "AccountNumber": a} for n, a in rows]
            result = bulk.ingest("Account", records, max_rows_per_job=600)
        with result:
            _check(result, rows)
            assert [j.number_records_processed for j in result.jobs] == [600] * 4
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)


def test_bad_split_arguments_are_refused_before_anything_is_sent(org: FakeOrg) -> None:
    with Salesforce(auth=_grant(org), clock=FakeClock()) as sf:
        for kwargs in ({"parallel_jobs": 0}, {"max_rows_per_job": 0}):
            with pytest.raises(UsageError, match="at least 1"):
                Bulk2(sf).ingest("Account", [{"Name": "x"}], **kwargs)  # type: ignore[arg-type]
        assert list(Bulk2(sf).list_jobs()) == []


def test_the_jobs_of_a_load_are_polled_side_by_side(org: FakeOrg, tmp_path: Path) -> None:
    """Each poll is held until all four are in flight: polled one after another, the first
    would wait for the others forever (here: fail after 10 s)."""
    rows = _input(tmp_path / "in.csv")
    state = {"in_flight": 0, "most": 0}
    original = AsyncBulk2Jobs._poll_once

    async def held_poll(self: AsyncBulk2Jobs, job_id: str, kind: Any) -> Any:
        state["in_flight"] += 1
        state["most"] = max(state["most"], state["in_flight"])
        try:
            async with asyncio.timeout(10):
                while state["most"] < 4:
                    await asyncio.sleep(0.01)
            return await original(self, job_id, kind)
        finally:
            state["in_flight"] -= 1

    async def load() -> None:
        async with AsyncSalesforce(auth=_grant(org), clock=FakeClock()) as sf:
            bulk = AsyncBulk2(sf)
            async with await bulk.ingest(
                "Account", csv_path=tmp_path / "in.csv", parallel_jobs=4
            ) as result:
                assert len(result.job_ids) == 4
                assert [r.input_index async for r in result.failed()] == list(BLANKS)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncBulk2Jobs, "_poll_once", held_poll)
        asyncio.run(load())
    assert state["most"] == 4
    with Salesforce(auth=_grant(org), clock=FakeClock()) as sf:
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)


def test_jobs_queued_behind_the_org_limit_still_finish(org: FakeOrg, tmp_path: Path) -> None:
    """The realistic-latency mode runs at most `bulk_concurrent_jobs` jobs at once and queues
    the rest UploadComplete, as Salesforce does: four jobs through two slots all load."""
    rows = _input(tmp_path / "in.csv")
    httpx.post(
        f"{org.instance_url}/_admin/latency", json={"bulk_concurrent_jobs": 2}
    ).raise_for_status()
    with Salesforce(auth=_grant(org), clock=FakeClock()) as sf:
        with Bulk2(sf).ingest("Account", csv_path=tmp_path / "in.csv", parallel_jobs=4) as result:
            _check(result, rows)
        assert _held(sf) == Counter(r for i, r in enumerate(rows) if i not in BLANKS)
    seen = httpx.get(f"{org.instance_url}/_admin/latency").json()
    assert seen["running"] == 0 and seen["queued"] == []
