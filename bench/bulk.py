"""Bulk API 2.0 benchmark: ingest N rows from a CSV file, then extract them to a CSV file
and to Parquet, with our `Bulk2` and with simple-salesforce's `sf.bulk2`, against the same
fake org code in realistic-latency mode.

    python bench/bulk.py                 # 1,000,000 rows (and ours at 100,000 too)
    python bench/bulk.py --rows 20000 --small 2000   # a quick run
    python bench/bulk.py --latency-ms 0 --rows-per-s 0 --results-rows-per-s 0  # loopback

On loopback both clients are bound by the emulator; against Salesforce, by round trips and
by the server's work, which only overlap hides. So the fake org runs in realistic-latency
mode (`testing/admin/latency.py`, settings printed): every API request waits `--latency-ms`,
Bulk jobs spend rows / `--rows-per-s` seconds of server work (the emulator's own time over
their rows counting toward it), and a results page of N rows takes N / `--results-rows-per-s`
to serve, per request.

Each client runs in a subprocess of its own, so its peak RSS (VmHWM) and CPU time are its
own; the fake org runs in this process, a fresh org (over TLS) per run so every client loads
into an empty table. Each client uses its defaults: simple-salesforce (`wait=0.5`) sleeps
0.5 s before its first poll, then 0.5-0.9 s for seven polls, 1.6 s once and 3.5 s from then
on, and reads result pages one after another by locator; ours polls at once, backs off from
0.5 s and, from an ingest job's progress, looks again within a second of the expected end
(a query job: at most 0.9 s apart for its first minute), and downloads the listed result
pages ten at a time, each streamed into a temporary file, the next ones while one is
written. Like
for like: each client loads the file and reads the jobs' counts, and neither fetches the
result sets (ours would match them to the input only when asked). Parquet: ours streams each
page into a typed Parquet file (`columnar`); simple-salesforce has no Parquet, so its CSV
pages are converted with pyarrow after its CSV extract (its Parquet time is that extract
plus the conversion). Ours at 100k and at 1M shows whether memory stays flat.

Each phase's peak RSS is its own (VmHWM reset between phases); the whole run's is the
largest. The extract splits, from the fake org's own timestamps (`ServerLog`), into queue,
job processing, the lag until the client asked for results (one round trip included) and
the download.

A script, not a test (STYLE 3.16): it prints figures and ratios, then one JSON line, and
never fails on a figure.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["Name", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCity", "Phone"]
SOQL = "SELECT Id, " + ", ".join(COLUMNS) + " FROM Account"
INDUSTRIES = ["Banking", "Energy", "Retail", "Media", "Shipping"]
CHILD_TIMEOUT_S = 60 * 60
# simple-salesforce sleeps `wait` seconds before its first poll and then polls every
# `wait + e**n / 1000` s, growing until a step passes 2 s (so 3.5 s at wait=0.5).
PEER_WAIT: Any = 0.5  # typed int by the peer; a float works


def write_input(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    f"Account {i:07d}",
                    INDUSTRIES[i % len(INDUSTRIES)],
                    str((i % 9973) * 1000),  # currency(18, 0): whole units
                    i % 5000,
                    "Paris, FR" if i % 3 else 'Saint "Quoted" City',
                    f"+33 1 {i % 100:02d} {i % 97:02d} {i % 89:02d}",
                ]
            )


def _rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and
    exec, so a child would report the bench's own (fake org included) peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Start a new VmHWM from the current RSS (Linux 4.0+: `clear_refs` 5), so each phase's
    peak is its own; where it cannot, the phase's figure is the peak so far."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the clients, each in its own subprocess --------------------------------------------------


def child_ours(creds: dict[str, str], source: Path, out: Path) -> dict[str, Any]:
    import ssl

    from salesforce_typed import RefreshTokenGrant, Salesforce
    from salesforce_typed.bulk import Bulk2

    grant = RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        token_url=creds["token_url"],
    )
    verify = ssl.create_default_context(cafile=creds["ca_file"])
    baseline = _rss_mb()
    marks: dict[str, float] = {}
    with Salesforce(auth=grant, verify=verify) as sf:
        bulk = Bulk2(sf)
        started = time.perf_counter()
        with bulk.ingest("Account", csv_path=source) as result:
            loaded, failed, jobs = result.counts.successful, result.counts.failed, result.job_ids
        ingest_s = time.perf_counter() - started
        ingest_rss = _rss_mb()
        _reset_peak()
        marks["csv_started"] = time.time()
        started = time.perf_counter()
        written = bulk.query_to_csv(SOQL, out)
        extract_s = time.perf_counter() - started
        marks["csv_ended"] = time.time()
        csv_rss = _rss_mb()
        _reset_peak()
        marks["parquet_started"] = time.time()
        started = time.perf_counter()
        from salesforce_typed.columnar.cli import extract  # pyarrow: for Parquet only

        _, parquet = extract(bulk, SOQL, out.with_suffix(".parquet"), "parquet")
        parquet_s = time.perf_counter() - started
        marks["parquet_ended"] = time.time()
    return {
        "ingest_s": ingest_s,
        "extract_s": extract_s,
        "parquet_s": parquet_s,
        "loaded": loaded,
        "failed": failed,
        "jobs": len(jobs),
        "extracted": written.records,
        "parquet_rows": parquet.rows,
        "baseline_rss_mb": baseline,
        "ingest_peak_rss_mb": ingest_rss,
        "csv_peak_rss_mb": csv_rss,
        "parquet_phase_rss_mb": _rss_mb(),
        "marks": marks,
    }


def child_simple(creds: dict[str, str], source: Path, out: Path) -> dict[str, Any]:
    import requests
    from simple_salesforce.api import Salesforce

    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the org's CA
    session.verify = creds["ca_file"]
    token = session.post(
        creds["token_url"],
        data={
            "grant_type": "refresh_token",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"],
        },
    ).json()["access_token"]
    baseline = _rss_mb()
    sf = Salesforce(
        instance_url=creds["instance_url"], session_id=token, version="62.0", session=session
    )
    bulk2: Any = sf.bulk2  # simple-salesforce resolves `.Account` in __getattr__: untyped
    accounts = bulk2.Account
    marks: dict[str, float] = {}
    started = time.perf_counter()
    results = accounts.insert(csv_file=str(source), wait=PEER_WAIT)
    ingest_s = time.perf_counter() - started
    ingest_rss = _rss_mb()
    processed = sum(int(r["numberRecordsProcessed"]) for r in results)
    failed = sum(int(r["numberRecordsFailed"]) for r in results)
    out.mkdir(parents=True, exist_ok=True)  # it writes one file per results page
    _reset_peak()
    marks["csv_started"] = time.time()
    started = time.perf_counter()
    pages = accounts.download(SOQL, path=str(out), wait=PEER_WAIT)
    extract_s = time.perf_counter() - started
    marks["csv_ended"] = time.time()
    csv_rss = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    parquet_rows = _peer_parquet([Path(p["file"]) for p in pages], out.with_suffix(".parquet"))
    parquet_s = extract_s + time.perf_counter() - started
    return {
        "ingest_peak_rss_mb": ingest_rss,
        "parquet_phase_rss_mb": _rss_mb(),
        "marks": marks,
        "ingest_s": ingest_s,
        "extract_s": extract_s,
        "parquet_s": parquet_s,
        "loaded": processed - failed,
        "failed": failed,
        "jobs": len(results),
        "extracted": sum(int(p["number_of_records"]) for p in pages),
        "parquet_rows": parquet_rows,
        "baseline_rss_mb": baseline,
        "csv_peak_rss_mb": csv_rss,
    }


def _peer_parquet(files: list[Path], target: Path) -> int:
    """simple-salesforce's CSV pages into one Parquet file, as a user would: pyarrow reads
    each page (types inferred) and appends it, cast to the first page's schema."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rows = 0
    writer: Any = None
    try:
        for path in files:
            table = pacsv.read_csv(path)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def child(name: str, creds_json: str, source: str, out: str) -> None:
    creds = json.loads(creds_json)
    run = child_ours if name == "ours" else child_simple
    figures = run(creds, Path(source), Path(out))
    peaks = ("ingest_peak_rss_mb", "csv_peak_rss_mb", "parquet_phase_rss_mb")
    figures.update(peak_rss_mb=max(figures[k] for k in peaks), cpu_s=_cpu_s())
    print(json.dumps(figures), flush=True)


# -- the driver --------------------------------------------------------------------------------


class ServerLog:
    """What the fake org (in this process) saw of each query job, in wall-clock time: when it
    started and finished processing, and when its first results (or resultPages) request came.
    From these and the client's own marks, an extract's time splits into job processing,
    the lag until the client noticed completion, and the download."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, float]] = {}
        self.first_read: dict[str, float] = {}

    def install(self) -> None:
        from salesforce_typed.testing.bulk2 import routes
        from salesforce_typed.testing.bulk2.jobs import JobTable

        transition, completed = JobTable.transition, routes._completed_query

        def on_transition(table: Any, job: Any, to: str, **kw: Any) -> None:
            transition(table, job, to, **kw)
            if job.kind == "query":
                self.states.setdefault(job.id, {})[to] = time.time()

        def on_read(req: Any) -> Any:
            table, job = completed(req)
            self.first_read.setdefault(job.id, time.time())
            return table, job

        JobTable.transition = on_transition  # type: ignore[method-assign,assignment]
        routes._completed_query = on_read

    def clear(self) -> None:
        self.states.clear()
        self.first_read.clear()

    def extracts(self, marks: dict[str, float]) -> dict[str, float]:
        """Per extract phase (`csv`, `parquet`: its query job, in order of completion): queue
        (request to InProgress), processing, lag (JobComplete to the first results request
        the server saw, one round trip included) and download (to the phase's end)."""
        done = sorted(
            (times["JobComplete"], job_id)
            for job_id, times in self.states.items()
            if "JobComplete" in times and job_id in self.first_read
        )
        out: dict[str, float] = {}
        for phase, (_, job_id) in zip(("csv", "parquet"), done, strict=False):
            times, read = self.states[job_id], self.first_read[job_id]
            start, end = marks.get(f"{phase}_started"), marks.get(f"{phase}_ended")
            if start is not None and "InProgress" in times:
                out[f"{phase}_queue_s"] = times["InProgress"] - start
                out[f"{phase}_processing_s"] = times["JobComplete"] - times["InProgress"]
            out[f"{phase}_lag_s"] = read - times["JobComplete"]
            if end is not None:
                out[f"{phase}_download_s"] = end - read
        return out


SERVER = ServerLog()


def run_client(
    name: str, source: Path, rows: int, work: Path, latency: dict[str, float]
) -> dict[str, Any]:
    from salesforce_typed.testing.admin.latency import configure
    from salesforce_typed.testing.org.state import OrgConfig
    from salesforce_typed.testing.server import FakeOrg

    config = OrgConfig(daily_api_limit=10_000_000)
    SERVER.clear()
    with FakeOrg(tls=True, config=config) as org:
        configure(org.state, dict(latency))
        creds = org.credentials()
        out = work / f"{name}-{rows}-out"
        if name == "ours":
            out = out.with_suffix(".csv")
        cmd = [sys.executable, __file__, "--child", name, json.dumps(creds), str(source), str(out)]
        started = time.perf_counter()
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False, cwd=ROOT
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"client": name, "rows": rows, "error": " | ".join(tail), "wall_s": wall}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures.update(client=name, rows=rows, wall_s=wall)
    figures.update(SERVER.extracts(figures.pop("marks", {})))
    if "csv_processing_s" in figures:  # what the client decides: the wait, lag and download
        figures["csv_client_s"] = figures["extract_s"] - figures["csv_processing_s"]
    figures["ingest_rows_s"] = rows / figures["ingest_s"] if figures["ingest_s"] else 0.0
    figures["extract_rows_s"] = rows / figures["extract_s"] if figures["extract_s"] else 0.0
    figures["parquet_rows_s"] = rows / figures["parquet_s"] if figures["parquet_s"] else 0.0
    return figures


def _show(r: dict[str, Any]) -> None:
    label = f"{r['client']} @ {r['rows']:,}"
    if "error" in r:
        print(f"  {label:<30} FAILED: {r['error']}")
        return
    split = " / ".join(
        f"{r.get(f'csv_{part}_s', float('nan')):.2f}"
        for part in ("queue", "processing", "lag", "download")
    )
    print(
        f"  {label:<30} ingest {r['ingest_s']:7.1f}s ({r['ingest_rows_s']:8,.0f} rows/s, "
        f"{r['jobs']} job(s), {r['loaded']:,} loaded)  extract {r['extract_s']:6.1f}s "
        f"({r['extract_rows_s']:9,.0f} rows/s, {r['extracted']:,}; queue/processing/lag/"
        f"download {split} s)  parquet {r['parquet_s']:6.1f}s ({r['parquet_rows']:,})  "
        f"peak RSS {r['peak_rss_mb']:6.1f} MB (ingest {r['ingest_peak_rss_mb']:.1f}, CSV "
        f"{r['csv_peak_rss_mb']:.1f}, Parquet {r['parquet_phase_rss_mb']:.1f}, after imports "
        f"{r['baseline_rss_mb']:.1f})  CPU {r['cpu_s']:.1f}s"
    )


def _table(ours_small: dict[str, Any], ours: dict[str, Any], peer: dict[str, Any]) -> list[str]:
    """The report: each figure for both clients and the ratio, with its target."""

    def cell(r: dict[str, Any], key: str, fmt: str) -> str:
        if "error" in r:
            return "failed"
        return "n/a" if r.get(key) is None else format(r[key], fmt)

    def ratio(value: float | None, target: str) -> str:
        return "n/a" if value is None else f"{value:.2f}x  (target {target})"

    lines = [
        f"| figure | ours @ {ours['rows']:,} | simple-salesforce | ratio |",
        "|---|---:|---:|---|",
    ]
    rss = "<= 150 MB"
    for label, key, fmt, value, target in (
        ("ingest, s", "ingest_s", ".1f", _ratio(peer, ours, "ingest_s"), ">= 1.5 (speed)"),
        ("extract to CSV, s", "extract_s", ".1f", _ratio(peer, ours, "extract_s"), ">= 3 (speed)"),
        ("- of which job processing, s", "csv_processing_s", ".1f", None, ""),
        ("- completion noticed after, s", "csv_lag_s", ".2f", None, ""),
        ("- results download, s", "csv_download_s", ".1f", None, ""),
        (
            "- all but the job processing, s",
            "csv_client_s",
            ".1f",
            _ratio(peer, ours, "csv_client_s"),
            "speed",
        ),
        ("extract to Parquet, s", "parquet_s", ".1f", _ratio(peer, ours, "parquet_s"), "speed"),
        ("client CPU, s", "cpu_s", ".1f", _ratio(ours, peer, "cpu_s"), "<= 0.7"),
        ("peak RSS, whole run, MB", "peak_rss_mb", ".0f", _ratio(ours, peer, "peak_rss_mb"), rss),
        ("- ingest phase, MB", "ingest_peak_rss_mb", ".0f", None, ""),
        ("- extract to CSV phase, MB", "csv_peak_rss_mb", ".0f", None, ""),
        ("- Parquet phase, MB", "parquet_phase_rss_mb", ".0f", None, ""),
    ):
        ours_cell, peer_cell = cell(ours, key, fmt), cell(peer, key, fmt)
        shown = ratio(value, target) if target else ""
        lines.append(f"| {label} | {ours_cell} | {peer_cell} | {shown} |")
    for what, key in (
        ("extract to CSV phase", "csv_peak_rss_mb"),
        ("Parquet phase", "parquet_phase_rss_mb"),
        ("whole run", "peak_rss_mb"),
    ):
        growth = _ratio(ours, ours_small, key)
        lines.append(
            f"| ours: peak RSS, {what}, {ours_small['rows']:,} -> {ours['rows']:,} rows, MB | "
            f"{cell(ours_small, key, '.0f')} -> {cell(ours, key, '.0f')} | | "
            f"{ratio(growth, 'flat')} |"
        )
    return lines


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    if "error" in a or "error" in b or not b.get(key):
        return None
    return float(a[key]) / float(b[key])


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="round trip per request")
    parser.add_argument("--rows-per-s", type=float, default=100_000.0, help="Bulk server work")
    parser.add_argument(
        "--results-rows-per-s", type=float, default=25_000.0, help="serving a results page"
    )
    parser.add_argument("--concurrent-jobs", type=int, default=10, help="Bulk jobs at once")
    args = parser.parse_args(argv)
    latency = {
        "rtt_ms": args.latency_ms,
        "bulk_rows_per_s": args.rows_per_s,
        "bulk_results_rows_per_s": args.results_rows_per_s,
        "bulk_concurrent_jobs": args.concurrent_jobs,
    }
    cpus = os.cpu_count()
    SERVER.install()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Bulk API 2.0 bench: {args.rows:,} rows (ours also at {args.small:,}), CPUs {cpus}, "
        f"load {load}"
    )
    print(f"  fake org, realistic-latency mode: {json.dumps(latency)}")
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        work = Path(tmp)
        big, small = work / "big.csv", work / "small.csv"
        write_input(big, args.rows)
        write_input(small, args.small)
        sizes = f"{big.stat().st_size / 1e6:.1f} MB and {small.stat().st_size / 1e6:.1f} MB"
        print(f"  input: {sizes} of CSV")
        print("  ingest: load + final job counts for both clients; neither fetches result rows")
        results = []
        for name, source, rows in (
            ("ours", small, args.small),
            ("ours", big, args.rows),
            ("simple-salesforce", big, args.rows),
        ):
            result = run_client(name, source, rows, work, latency)
            _show(result)
            results.append(result)
    ours_small, ours, peer = results
    summary = {
        "rows": args.rows,
        "latency": latency,
        "ingest_speed_ours_over_peer": _ratio(peer, ours, "ingest_s"),
        "extract_csv_speed_ours_over_peer": _ratio(peer, ours, "extract_s"),
        "extract_parquet_speed_ours_over_peer": _ratio(peer, ours, "parquet_s"),
        "peak_rss_ours_over_peer": _ratio(ours, peer, "peak_rss_mb"),
        "cpu_ours_over_peer": _ratio(ours, peer, "cpu_s"),
        "ours_rss_growth_small_to_big": _ratio(ours, ours_small, "peak_rss_mb"),
    }
    print()
    print("\n".join(_table(ours_small, ours, peer)))
    print()
    print(json.dumps({"bench": "bulk", "summary": summary, "runs": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
