"""Crash and re-run: the real `salesforce-typed bulk load` killed (SIGINT, SIGKILL) at upload,
while its job runs and after it completed, then run again, against a fake org over real
sockets. After the re-run the org holds every input row exactly once (count and content read
back by SOQL). The kill lands where meant by what the CLI prints (the job id before its upload,
"upload complete" after it) and by the fake org's switches: a per-request latency holds the
upload in flight; Bulk processing paused holds the job at UploadComplete; the realistic-latency
mode's server work rate (`/_admin/latency`) keeps it InProgress. No test sleeps.
"""

from __future__ import annotations

import csv
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.bulk import Bulk2
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.jobs.journal import Journal
from salesforce_typed.testing.server import FakeOrg

CLI = Path(sys.executable).with_name("salesforce-typed")
ROWS = 3000
LINE_TIMEOUT_S = 60


class Cli:
    """One `salesforce-typed` process; its stdout read line by line on a thread."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(CLI), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.err_reader = threading.Thread(target=self._pump_err, daemon=True)
        self.err_reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        self.err.extend(self.proc.stderr)

    def until(self, text: str) -> str:
        """The first stdout line holding `text` (fails if the process ends first)."""
        while True:
            line = self.lines.get(timeout=LINE_TIMEOUT_S)
            assert line is not None, f"ended without {text!r}: {self.seen}"
            self.seen.append(line)
            if text in line:
                return line

    def finish(self) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=120)
        while (line := self.lines.get(timeout=LINE_TIMEOUT_S)) is not None:
            self.seen.append(line)
        self.err_reader.join(timeout=LINE_TIMEOUT_S)
        for pipe in (self.proc.stdout, self.proc.stderr):
            assert pipe is not None
            pipe.close()
        return code, "".join(self.seen), "".join(self.err)


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg() as org:
        yield org


@pytest.fixture
def env(org: FakeOrg, tmp_path: Path) -> dict[str, str]:
    c = org.credentials()
    base = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return base | {
        "SF_INSTANCE_URL": c["instance_url"],
        "SF_CLIENT_ID": c["client_id"],
        "SF_CLIENT_SECRET": c["client_secret"],
        "SF_REFRESH_TOKEN": c["refresh_token"],
        "SF_TOKEN_URL": c["token_url"],
        "SALESFORCE_TYPED_HOME": str(tmp_path / "home"),
        "COLUMNS": "200",
    }


@pytest.fixture
def sf(org: FakeOrg) -> Iterator[Salesforce]:
    c = org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=org.new_refresh_token(),
        token_url=c["token_url"],
    )
    with Salesforce(auth=grant, clock=FakeClock()) as client:
        yield client


def _input(path: Path, blank_names: tuple[int, ...] = ()) -> list[tuple[str, str]]:
    """ROWS accounts (Name, AccountNumber); rows in `blank_names` lack the required Name."""
    rows = [("" if i in blank_names else f"crash-{i}", f"N{i:05d}") for i in range(ROWS)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Name", "AccountNumber"])
        writer.writerows(rows)
    return rows


def _admin(org: FakeOrg, path: str, body: dict[str, object]) -> None:
    httpx.post(f"{org.instance_url}/_admin/{path}", json=body).raise_for_status()


def _in_org(sf: Salesforce) -> Counter[tuple[str, str]]:
    soql = "SELECT Name, AccountNumber FROM Account"
    return Counter((a.Name or "", a.AccountNumber or "") for a in sf.query(std.Account, soql))


def _exactly_once(sf: Salesforce, rows: list[tuple[str, str]]) -> None:
    held = _in_org(sf)
    assert sum(held.values()) == len(rows)
    assert held == Counter(rows)


def _job_id(line: str) -> str:
    return line.split()[1].rstrip(":")


def _load(env: dict[str, str], file: Path) -> Cli:
    return Cli(env, "bulk", "load", "Account", str(file))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_during_upload_then_rerun_loads_each_row_once(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path, sig: signal.Signals
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "faults", {"latency_ms": 1500})  # the upload is in flight for 1.5 s
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("uploading"))
    cli.proc.send_signal(sig)
    code, out, err = cli.finish()
    assert "Traceback" not in err, err
    if sig == signal.SIGINT:
        assert code == 130, err
        assert f"job {job}: aborted (it was still Open" in out, err
        assert "run the same command again" in out
        assert Bulk2(sf).job_info(job).state == "Aborted"  # nothing half-uploaded left
    else:
        assert code == -signal.SIGKILL
    _admin(org, "faults", {"latency_ms": 0})

    code, out, err = _load(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert "picking it up, not loading again" in out
    if sig == signal.SIGKILL:  # the Open job is found and aborted by the re-run
        assert f"job {job}: left Open by an interrupted upload; aborted" in out
        assert Bulk2(sf).job_info(job).state == "Aborted"
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    _exactly_once(sf, rows)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_while_the_job_runs_then_rerun_waits_for_it(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path, sig: signal.Signals
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "bulk-v2", {"paused": True})  # the job stays UploadComplete
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("upload complete"))
    cli.proc.send_signal(sig)
    code, out, err = cli.finish()
    assert "Traceback" not in err
    if sig == signal.SIGINT:
        assert code == 130
        assert f"job {job}: keeps running on Salesforce; follow it with " in out
        assert f"`salesforce-typed bulk status {job}`" in out
        assert "aborted" not in out
    else:
        assert code == -signal.SIGKILL
    code, out, _ = Cli(env, "bulk", "status", job).finish()
    assert code == 0
    assert f"job {job}: UploadComplete, 0 processed" in out
    assert f"rows 1-{ROWS}: {job}" in out
    _admin(org, "bulk-v2", {"paused": False})

    code, out, err = _load(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert f"job {job}: " in out and "from an earlier run" in out and "no row sent again" in out
    assert "uploading" not in out  # no new job
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    _exactly_once(sf, rows)


def test_killed_after_the_job_completed_then_rerun_reconciles(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "bulk-v2", {"paused": True})
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("upload complete"))
    cli.proc.kill()
    assert cli.finish()[0] == -signal.SIGKILL
    _admin(org, "bulk-v2", {"paused": False})
    (done,) = Bulk2(sf).wait([job], "ingest")
    assert done.state == "JobComplete"

    code, out, err = _load(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert f"job {job}: JobComplete from an earlier run; reporting it, no row sent" in out
    assert f"{ROWS} rows, {ROWS} successful" in out
    # and once more, after a clean finish: still reported, never loaded again
    code, out, err = _load(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert "(ended, jobs " in out and "bulk jobs --forget" in out
    _exactly_once(sf, rows)


def test_results_match_failed_rows_to_their_input_rows_in_a_new_process(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    blanks = (10, 1500, ROWS - 1)
    rows = _input(tmp_path / "in.csv", blank_names=blanks)
    _admin(org, "bulk-v2", {"paused": True})
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("upload complete"))
    cli.proc.kill()
    cli.finish()
    _admin(org, "bulk-v2", {"paused": False})

    code, out, err = Cli(env, "bulk", "results", job, "--out", str(tmp_path / "r")).finish()
    assert code == 1, err  # rows failed
    assert f"{ROWS} rows, {ROWS - 3} successful, 3 failed, 0 unprocessed" in out
    with (tmp_path / "r" / "failed.csv").open(newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in failed] == [i + 1 for i in blanks]
    assert [r["AccountNumber"] for r in failed] == [rows[i][1] for i in blanks]
    assert all(r["sf__Error"].startswith("REQUIRED_FIELD_MISSING") for r in failed)
    with (tmp_path / "r" / "successful.csv").open(newline="", encoding="utf-8") as handle:
        good = list(csv.DictReader(handle))
    assert all(rows[int(r["row"]) - 1] == (r["Name"], r["AccountNumber"]) for r in good)
    assert len({r["row"] for r in good}) == ROWS - 3
    _exactly_once(sf, [r for i, r in enumerate(rows) if i not in blanks])


def test_a_corrupt_journal_says_which_file_and_how_out(
    env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    assert _load(env, tmp_path / "in.csv").finish()[0] == 0
    (entry,) = Journal(tmp_path / "home" / "bulk-jobs").files()
    entry.write_text(entry.read_text(encoding="utf-8")[:40], encoding="utf-8")  # torn

    for args in (("bulk", "jobs"), ("bulk", "load", "Account", str(tmp_path / "in.csv"))):
        code, out, err = Cli(env, *args).finish()
        assert code == 2
        assert "Traceback" not in err
        assert f"bulk job journal {entry} is unreadable (not JSON" in err
        assert f"salesforce-typed bulk jobs --forget {entry.stem}" in err
    code, out, _ = Cli(env, "bulk", "jobs", "--forget", entry.stem).finish()
    assert code == 0 and f"forgot {entry.stem}" in out
    code, out, err = Cli(env, "bulk", "jobs").finish()
    assert (code, out) == (0, "")
    _exactly_once(sf, rows)


def test_abort_stops_a_running_load_and_a_rerun_respects_it(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    _input(tmp_path / "in.csv")
    _admin(org, "bulk-v2", {"paused": True})
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("upload complete"))
    cli.proc.kill()
    cli.finish()
    code, out, _ = Cli(env, "bulk", "abort", job).finish()
    assert code == 0 and f"job {job}: Aborted" in out
    _admin(org, "bulk-v2", {"paused": False})
    code, out, _ = _load(env, tmp_path / "in.csv").finish()
    assert code == 1  # unprocessed rows, reported, not sent again
    assert f"{ROWS} rows, 0 successful, 0 failed, {ROWS} unprocessed" in out
    assert "uploading" not in out
    assert sum(_in_org(sf).values()) == 0


def test_bulk_resume_finishes_a_load_killed_at_upload(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "faults", {"latency_ms": 1500})
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("uploading"))
    cli.proc.kill()
    cli.finish()
    _admin(org, "faults", {"latency_ms": 0})
    code, out, _ = Cli(env, "bulk", "jobs").finish()
    assert code == 0 and f"uploading  Account insert  {ROWS} rows  jobs {job}" in out

    code, out, err = Cli(env, "bulk", "resume", job).finish()
    assert code == 0, err
    assert f"job {job}: left Open by an interrupted upload; aborted" in out
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    code, out, _ = Cli(env, "bulk", "jobs").finish()
    assert code == 0 and f"ended      Account insert  {ROWS} rows" in out
    _exactly_once(sf, rows)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_while_the_job_is_in_progress_then_rerun_waits_for_it(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path, sig: signal.Signals
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "bulk-v2", {"slice_rows": 300})
    _admin(org, "latency", {"bulk_rows_per_s": 1000})  # 0.3 s of server work per slice
    cli = _load(env, tmp_path / "in.csv")
    job = _job_id(cli.until("upload complete"))
    bulk = Bulk2(sf)
    for _ in range(10_000):  # until Salesforce has processed some rows, not all
        info = bulk.job_info(job)
        if info.number_records_processed > 0:
            break
    assert info.state == "InProgress" and 0 < info.number_records_processed < ROWS
    cli.proc.send_signal(sig)
    code, out, err = cli.finish()
    assert "Traceback" not in err, err
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    if sig == signal.SIGINT:
        assert f"job {job}: keeps running on Salesforce; follow it with " in out
    _admin(org, "latency", {"bulk_rows_per_s": 0})

    code, out, err = _load(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert f"job {job}: " in out and "from an earlier run" in out and "no row sent again" in out
    assert "uploading" not in out
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    _exactly_once(sf, rows)


# -- a load in several jobs (`--parallel-jobs`): every job is picked up on its own --------------

JOBS = 3


def _load_in_jobs(env: dict[str, str], file: Path) -> Cli:
    return Cli(env, "bulk", "load", "Account", str(file), "--parallel-jobs", str(JOBS))


def _job_ids(cli: Cli, text: str) -> list[str]:
    """The ids of the load's JOBS jobs, from the first JOBS lines holding `text`."""
    return [_job_id(cli.until(text)) for _ in range(JOBS)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_load_in_several_jobs_killed_during_upload_then_rerun_loads_each_row_once(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path, sig: signal.Signals
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "faults", {"latency_ms": 1500})  # every upload is in flight for 1.5 s
    cli = _load_in_jobs(env, tmp_path / "in.csv")
    jobs = _job_ids(cli, "uploading")  # uploads run side by side: all three in flight
    assert len(set(jobs)) == JOBS
    cli.proc.send_signal(sig)
    code, out, err = cli.finish()
    assert "Traceback" not in err, err
    if sig == signal.SIGINT:
        assert code == 130, err
        for job in jobs:
            assert f"job {job}: aborted (it was still Open" in out, out
            assert Bulk2(sf).job_info(job).state == "Aborted"
    else:
        assert code == -signal.SIGKILL
    _admin(org, "faults", {"latency_ms": 0})

    code, out, err = _load_in_jobs(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    assert "picking it up, not loading again" in out
    for job in jobs:
        assert Bulk2(sf).job_info(job).state == "Aborted"
        if sig == signal.SIGKILL:
            assert f"job {job}: left Open by an interrupted upload; aborted" in out
    assert out.count("created for rows") == JOBS  # each part once more, in a new job
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    _exactly_once(sf, rows)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_load_in_several_jobs_killed_in_progress_then_rerun_waits_for_each(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path, sig: signal.Signals
) -> None:
    rows = _input(tmp_path / "in.csv")
    _admin(org, "bulk-v2", {"slice_rows": 250})
    _admin(org, "latency", {"bulk_rows_per_s": 1000})  # 0.25 s of server work per slice
    cli = _load_in_jobs(env, tmp_path / "in.csv")
    jobs = _job_ids(cli, "upload complete")
    bulk = Bulk2(sf)
    for _ in range(10_000):  # until Salesforce has processed some rows, not all
        infos = [bulk.job_info(job) for job in jobs]
        if sum(i.number_records_processed for i in infos) > 0:
            break
    assert 0 < sum(i.number_records_processed for i in infos) < ROWS
    cli.proc.send_signal(sig)
    code, out, err = cli.finish()
    assert "Traceback" not in err, err
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    if sig == signal.SIGINT:
        for job in jobs:
            assert f"job {job}: keeps running on Salesforce; follow it with " in out
        assert "aborted" not in out
    code, out, _ = Cli(env, "bulk", "status", jobs[1]).finish()
    assert code == 0
    per_job = ROWS // JOBS
    parts = [f"rows {n * per_job + 1}-{(n + 1) * per_job}: " for n in range(JOBS)]
    held = {line.split(": ")[1] for line in out.splitlines() if line.strip().startswith("rows ")}
    assert all(part in out for part in parts) and held == set(jobs)  # uploads end in any order
    for job in jobs:
        assert f"job {job}: " in out
    _admin(org, "latency", {"bulk_rows_per_s": 0})

    code, out, err = _load_in_jobs(env, tmp_path / "in.csv").finish()
    assert code == 0, err
    for job in jobs:
        assert f"job {job}: " in out and "from an earlier run" in out
    assert out.count("no row sent again") == JOBS
    assert "uploading" not in out
    assert f"{ROWS} rows, {ROWS} successful, 0 failed, 0 unprocessed" in out
    _exactly_once(sf, rows)


def test_a_load_in_several_jobs_killed_after_completion_then_results_match_input_rows(
    org: FakeOrg, env: dict[str, str], sf: Salesforce, tmp_path: Path
) -> None:
    blanks = (10, 1500, ROWS - 1)  # one failing row in each job
    rows = _input(tmp_path / "in.csv", blank_names=blanks)
    _admin(org, "bulk-v2", {"paused": True})
    cli = _load_in_jobs(env, tmp_path / "in.csv")
    jobs = _job_ids(cli, "upload complete")
    cli.proc.kill()
    assert cli.finish()[0] == -signal.SIGKILL
    _admin(org, "bulk-v2", {"paused": False})
    assert {j.state for j in Bulk2(sf).wait(jobs, "ingest")} == {"JobComplete"}

    code, out, err = Cli(env, "bulk", "results", jobs[2], "--out", str(tmp_path / "r")).finish()
    assert code == 1, err  # rows failed
    assert f"{ROWS} rows, {ROWS - 3} successful, 3 failed, 0 unprocessed" in out
    with (tmp_path / "r" / "failed.csv").open(newline="", encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    assert [int(r["row"]) for r in failed] == [i + 1 for i in blanks]
    assert [r["AccountNumber"] for r in failed] == [rows[i][1] for i in blanks]
    with (tmp_path / "r" / "successful.csv").open(newline="", encoding="utf-8") as handle:
        good = list(csv.DictReader(handle))
    assert sorted(int(r["row"]) for r in good) == [i + 1 for i in range(ROWS) if i not in blanks]
    assert all(rows[int(r["row"]) - 1] == (r["Name"], r["AccountNumber"]) for r in good)

    code, out, err = _load_in_jobs(env, tmp_path / "in.csv").finish()  # the same load again
    assert code == 1, err
    assert out.count("from an earlier run; reporting it, no row sent") == JOBS
    assert "uploading" not in out
    _exactly_once(sf, [r for i, r in enumerate(rows) if i not in blanks])
