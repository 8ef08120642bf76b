"""The client overlapping its Bulk work: result pages downloaded in parallel by default for
files and for `pages()`, the next pages fetched while one is written, and polling that
notices completion within a second. Both faces, over real sockets; the server's own
counters (`/_admin/bulk-v2/result-pages`) show the overlap, a FakeClock the polling.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from faces import Face
from fakeorg.test_latency_mode import GUARD_S, Sleeps
from test_bulk2_parallel import NAMES, PAGES, ROWS, SOQL, _admin, _grant, bulk, org, sf

import salesforce_typed_std as std
from salesforce_typed.bulk import Bulk2, PollPolicy
from salesforce_typed.bulk2.window import DEFAULT_PARALLEL
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.jobs.polling import remaining_s
from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.server import FakeOrg

__all__ = ["bulk", "org", "sf"]  # fixtures shared with test_bulk2_parallel


def _csv_names(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '"Id","Name"'  # one header, the first page's
    return [line.split(",")[1].strip('"') for line in lines[1:]]


# -- files and pages --------------------------------------------------------------------------


def test_to_csv_downloads_listed_pages_concurrently_by_default(
    org: FakeOrg, bulk: Bulk2, tmp_path: Path
) -> None:
    # the server holds downloads until every page (fewer than DEFAULT_PARALLEL) or
    # DEFAULT_PARALLEL of them are in flight together (once)
    overlap = min(DEFAULT_PARALLEL, PAGES)
    _admin(org, hold=overlap, hold_timeout=10)
    written = bulk.query_to_csv(SOQL, tmp_path / "accounts.csv")
    assert _csv_names(tmp_path / "accounts.csv") == NAMES  # in order, each row once
    assert written.records == ROWS
    assert written.bytes == (tmp_path / "accounts.csv").stat().st_size
    seen = _admin(org)
    assert seen["max_in_flight"] == overlap
    assert seen["downloads"] == PAGES
    assert not (tmp_path / "accounts.csv.part").exists()


def test_to_csv_with_a_page_size_reads_by_locator(
    org: FakeOrg, bulk: Bulk2, tmp_path: Path
) -> None:
    written = bulk.query_to_csv(SOQL, tmp_path / "a.csv", page_size=5)
    assert _csv_names(tmp_path / "a.csv") == NAMES and written.records == ROWS
    assert _admin(org)["listings"] == 0  # no resultPages listing was asked for


def test_a_listed_page_failing_once_is_written_once(
    org: FakeOrg, bulk: Bulk2, tmp_path: Path
) -> None:
    _admin(org, fail_rows=[8])  # the third page answers 503 once
    bulk.query_to_csv(SOQL, tmp_path / "a.csv")
    assert _csv_names(tmp_path / "a.csv") == NAMES
    assert _admin(org)["downloads"] == PAGES + 1


def test_pages_use_the_parallel_window_and_mark_the_last_done(org: FakeOrg, bulk: Bulk2) -> None:
    _admin(org, hold=3, hold_timeout=10)
    query = bulk.query(std.Account, SOQL, parallel=3)
    pages = list(query.pages())
    assert [str(r.Name) for p in pages for r in p.records] == NAMES
    assert [p.done for p in pages] == [False] * (PAGES - 1) + [True]
    assert all(p.locator is None for p in pages)  # nothing to resume from: say so
    assert _admin(org)["max_in_flight"] == 3
    assert query.done and query.records_read == ROWS


# -- polling ----------------------------------------------------------------------------------


def test_remaining_time_comes_from_the_job_progress() -> None:
    assert remaining_s(processed=0, total=1000, elapsed_s=3.0) is None  # no rate yet
    assert remaining_s(processed=250, total=1000, elapsed_s=5.0) == 15.0
    assert remaining_s(processed=1000, total=1000, elapsed_s=5.0) == 0.0
    assert remaining_s(processed=10, total=None, elapsed_s=5.0) is None


def test_backoff_is_capped_near_the_expected_completion() -> None:
    policy = PollPolicy(initial=0.5, factor=2, maximum=30.0, near=1.0)
    assert [policy.interval(n) for n in (1, 2, 3, 7)] == [0.5, 1.0, 2.0, 30.0]
    assert policy.interval(7, eta=12.0) == 12.0  # sleep until it should be done
    assert policy.interval(7, eta=0.2) == 1.0  # then look every second at most
    assert policy.interval(1, eta=100.0) == 0.5  # never slower than the backoff
    # no estimate (a query job): late by a tenth of the time waited at most, 1 s at least
    assert policy.interval(7, elapsed=50.0) == 5.0
    assert policy.interval(7, elapsed=2.0) == 1.0
    assert policy.interval(2, elapsed=900.0) == 1.0  # the backoff, when it is shorter


class ServerTime:
    """The fake org's server work on the client's clock, in lockstep: each job's work is a
    timeline from `origin` (when the client closed the job) that advances only as the
    client's sleeps move the clock, and every client sleep returns only once the server has
    caught up (each of the `tasks` expected has started work, and waits for a later time or
    has ended). So what a poll sees depends on the clock alone, never on how fast either
    side runs."""

    def __init__(self, clock: FakeClock, tasks: int = 1) -> None:
        self.clock = clock
        self.tasks = tasks
        self.origin = clock.monotonic()
        self.until: dict[asyncio.Task[object], float] = {}
        self.waiting: set[asyncio.Task[object]] = set()
        self.changed = threading.Condition()

    async def __call__(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        with self.changed:
            if task not in self.until:
                task.add_done_callback(self._ended)
            self.until[task] = self.until.get(task, self.origin) + seconds
            self.waiting.add(task)
            self.changed.notify_all()
        while self.clock.monotonic() < self.until[task]:
            await asyncio.sleep(0)  # serve polls meanwhile; the client's sleeps move time
        with self.changed:
            self.waiting.discard(task)

    def _ended(self, _: object) -> None:
        with self.changed:
            self.changed.notify_all()

    def caught_up(self) -> bool:
        now = self.clock.monotonic()
        return len(self.until) >= self.tasks and all(
            task.done() or (task in self.waiting and until > now)
            for task, until in list(self.until.items())
        )


class LockstepClock(FakeClock):
    """A FakeClock whose sleeps return once `server` has caught up with the new time."""

    server: ServerTime

    def _settle(self) -> None:
        with self.server.changed:
            assert self.server.changed.wait_for(self.server.caught_up, timeout=GUARD_S)

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self._settle()

    async def asleep(self, seconds: float) -> None:
        await super().asleep(seconds)
        self._settle()


def _lockstep(org: FakeOrg, rows_per_s: float) -> LockstepClock:
    clock = LockstepClock()
    mode = latency(org.state)
    mode.sleep = clock.server = ServerTime(clock)
    mode.bulk_rows_per_s = rows_per_s
    # the emulator's own time takes none of the server time: a slice (a Bulk 1.0 chunk)
    # sleeps all of rows / rate on the client's clock, however long the real CPU took
    mode.clock = lambda: 0.0
    return clock


def test_ingest_notices_completion_within_a_second(
    fake_org: FakeOrg, face: Face, tmp_path: Path
) -> None:
    # 10,000 rows in slices of 2,000 at 2,000 rows/s: the job ends 5 s (client clock) after
    # it starts. The backoff alone (0.5 s doubling) would next look at 7.5 s; the estimate
    # from the job's progress looks again within a second of the end.
    clock = _lockstep(fake_org, 2000)
    source = tmp_path / "in.csv"
    source.write_text("Name\n" + "".join(f"P {i}\n" for i in range(10_000)), encoding="utf-8")
    policy = PollPolicy(initial=0.5, factor=2, maximum=60.0, near=1.0)
    with face.salesforce(auth=_grant(fake_org), clock=clock) as client:
        started = clock.monotonic()
        with face.bulk2(client).ingest(std.Account, csv_path=source, poll=policy) as result:
            assert result.counts.successful == 10_000
    assert 5.0 <= clock.monotonic() - started <= 6.0


# -- uploads ----------------------------------------------------------------------------------


def test_parts_of_a_big_input_upload_concurrently(
    fake_org: FakeOrg, face: Face, tmp_path: Path
) -> None:
    # Every API request waits in its round trip until the test lets go: three parts' requests
    # held at once show three jobs on the way together (one at a time would never get there).
    source = tmp_path / "in.csv"
    source.write_text("Name\n" + "".join(f"U {i:04d}\n" for i in range(3000)), encoding="utf-8")
    mode = latency(fake_org.state)
    sleeps = Sleeps(fake_org.state.extensions["loop"], held=True)
    with face.salesforce(auth=_grant(fake_org), clock=FakeClock()) as client:
        bulk2 = face.bulk2(client)
        mode.sleep, mode.rtt_ms = sleeps, 20
        with ThreadPoolExecutor(1) as pool:
            loading = pool.submit(
                bulk2.ingest, std.Account, csv_path=source, max_upload_bytes=12_000
            )
            sleeps.wait_until(waiting=3)
            sleeps.release()
            with loading.result(timeout=GUARD_S) as result:
                assert len(result.job_ids) == 3
                assert result.counts.successful == 3000
                rows = list(result.successful())
    # jobs in input order, whatever order their uploads finished in; rows matched to input
    assert [row.input_index for row in rows] == list(range(3000))
    assert [row.values["Name"] for row in rows[::1000]] == ["U 0000", "U 1000", "U 2000"]


def test_bulk1_load_notices_completion_within_a_second(fake_org: FakeOrg, face: Face) -> None:
    # One 10,000-row batch, 200 rows a transaction at 2,000 rows/s: done 5 s after it
    # starts. The backoff alone would next look at 7.5 s; the batches' progress says sooner.
    clock = _lockstep(fake_org, 2000)
    policy = PollPolicy(initial=0.5, factor=2, maximum=60.0, near=1.0)
    rows = [{"Name": f"B {i}"} for i in range(10_000)]
    with face.salesforce(auth=_grant(fake_org), clock=clock) as client:
        started = clock.monotonic()
        result = face.bulk1(client).insert("Account", rows, poll=policy)
    assert 5.0 <= clock.monotonic() - started <= 6.0, clock.sleeps
    assert [r.success for r in result.rows] == [True] * 10_000
    assert len({r.id for r in result.rows}) == 10_000


def test_query_job_of_unknown_size_is_noticed_within_a_tenth_of_its_run(
    fake_org: FakeOrg, face: Face, tmp_path: Path
) -> None:
    # A query job's size is unknown until it ends: 10,000 rows read at 2,000 rows/s end 5 s
    # in; the backoff alone would look at 4.06 s, then 6.6 s; a tenth of the time waited
    # (at least 1 s) looks again by 5.1 s.
    policy = PollPolicy(initial=0.5, factor=1.5, maximum=30.0, near=1.0, lateness=0.1)
    elapsed, clock = timed_query(fake_org, face, tmp_path, 2000, policy)
    assert 5.0 <= elapsed <= 5.0 + 1.0, clock.sleeps


def timed_query(
    org: FakeOrg, face: Face, tmp_path: Path, rows_per_s: float, poll: PollPolicy | None
) -> tuple[float, FakeClock]:
    """10,000 Accounts loaded, then read by a query job at `rows_per_s` on a lockstep clock:
    the seconds (client clock) until the file was written, and the clock (its sleeps)."""
    source = tmp_path / "in.csv"
    source.write_text("Name\n" + "".join(f"Q {i}\n" for i in range(10_000)), encoding="utf-8")
    with face.salesforce(auth=_grant(org), clock=FakeClock()) as client:
        face.bulk2(client).ingest(std.Account, csv_path=source).close()
    clock = _lockstep(org, rows_per_s)
    with face.salesforce(auth=_grant(org), clock=clock) as client:
        started = clock.monotonic()
        written = face.bulk2(client).query_to_csv(
            "SELECT Id FROM Account", tmp_path / "ids.csv", poll=poll
        )
    assert written.records == 10_000
    return clock.monotonic() - started, clock
