"""Peak RSS of `salesforce-typed bulk extract --format parquet|arrow|jsonl|csv` at 100k and 1M
rows: does a typed extract stay within 150 MB and flat as rows grow (issue 13)?

    python bench/columnar_memory.py                       # 100,000 and 1,000,000 rows
    python bench/columnar_memory.py --small 10000 --rows 100000 --formats parquet

The fake org runs in this process (no latency: this measures the client's memory, not its
speed); its store is filled directly with N Opportunities (as `make demo` does: loading
through the API would measure the ingest). Each extract is the CLI in a subprocess of its
own, run under `/usr/bin/time -v`, so its peak RSS and CPU are the client's alone.

A script, not a test (STYLE 3.16): it prints a table and one JSON line, never fails on a figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("salesforce-typed"))
SOQL = "SELECT Id, Name, Amount, StageName, CloseDate, CreatedDate FROM Opportunity"
FORMATS = ("csv", "parquet", "arrow", "jsonl")
STAGES = ("Prospecting", "Negotiation/Review", "Closed Won")


def _seed(org: Any, rows: int) -> None:
    """N Opportunities straight into the fake org's store, with cent amounts."""
    from salesforce_typed.testing.org.store import store

    day = dt.date(2026, 1, 1)
    store(org.state).insert_many(
        "Opportunity",
        (
            {
                "Name": f"Bench {i:07d}",
                "Amount": (i * 37 % 1_000_000) + (i % 100) / 100,
                "StageName": STAGES[i % 3],
                "CloseDate": (day + dt.timedelta(days=i % 365)).isoformat(),
            }
            for i in range(rows)
        ),
    )


def _access_token(creds: dict[str, str]) -> str:
    """One access token for every run: the fake org rotates refresh tokens as Salesforce can."""
    import httpx

    form = {
        "grant_type": "refresh_token",
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "refresh_token": creds["refresh_token"],
    }
    answer = httpx.post(creds["token_url"], data=form, verify=creds["ca_file"])
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _measure(kind: str, creds: dict[str, str], token: str, out: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "SF_INSTANCE_URL": creds["instance_url"],
        "SF_ACCESS_TOKEN": token,
        "SF_CA_FILE": creds["ca_file"],
    }
    cmd = ["/usr/bin/time", "-v", CLI, "bulk", "extract", SOQL, "--out", str(out)]
    cmd += ["--format", kind]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    own, _, report = done.stderr.partition("\tCommand being timed:")
    if done.returncode != 0:
        return {"format": kind, "error": " | ".join(own.strip().splitlines()[-3:])}

    def figure(label: str) -> float:
        found = re.search(rf"{re.escape(label)}: ([\d.]+)", report)
        return float(found.group(1)) if found else 0.0

    return {
        "format": kind,
        "peak_rss_mb": figure("Maximum resident set size (kbytes)") / 1024,
        "cpu_s": figure("User time (seconds)") + figure("System time (seconds)"),
        "wall_s": wall,
        "bytes": out.stat().st_size,
    }


def run(rows: int, formats: list[str], work: Path) -> list[dict[str, Any]]:
    from salesforce_typed.testing.org.state import OrgConfig
    from salesforce_typed.testing.server import FakeOrg

    results = []
    with FakeOrg(tls=True, config=OrgConfig(daily_api_limit=10_000_000)) as org:
        _seed(org, rows)
        creds = org.credentials()
        token = _access_token(creds)
        for kind in formats:
            out = work / f"extract-{rows}.{kind}"
            figures = _measure(kind, creds, token, out)
            figures["rows"] = rows
            out.unlink(missing_ok=True)
            results.append(figures)
            print(json.dumps(figures), file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    with tempfile.TemporaryDirectory(prefix="columnar-bench-") as folder:
        small = run(args.small, formats, Path(folder))
        large = run(args.rows, formats, Path(folder))
    print(f"bulk extract, peak RSS / client CPU / wall, {args.small:,} and {args.rows:,} rows")
    print(
        f"| format | RSS @ {args.small:,} | RSS @ {args.rows:,} | ratio | "
        f"CPU @ {args.rows:,} | wall @ {args.rows:,} |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for a, b in zip(small, large, strict=True):
        if "error" in a or "error" in b:
            print(f"| {a['format']} | failed: {a.get('error') or b.get('error')} |")
            continue
        ratio = b["peak_rss_mb"] / a["peak_rss_mb"]
        print(
            f"| {a['format']} | {a['peak_rss_mb']:.0f} MB | {b['peak_rss_mb']:.0f} MB | "
            f"{ratio:.2f}x | {b['cpu_s']:.1f} s | {b['wall_s']:.1f} s |"
        )
    print(json.dumps({"small": small, "large": large}))


if __name__ == "__main__":
    main()
