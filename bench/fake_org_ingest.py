"""The fake org's own cost of a Bulk API 2.0 insert, in process: microseconds per row.

    python bench/fake_org_ingest.py              # 100,000 rows of bench/bulk.py's input
    python bench/fake_org_ingest.py 20000 --profile
    python bench/fake_org_ingest.py --bodies     # without ColumnInsert: body by body

What bench/bulk.py's ingest makes the emulator do per job once the CSV is uploaded: read the
spooled CSV (`csv_rows`), slice it, and run each slice (`_Slice.run`: check, store, write the
result set), with no HTTP and no latency mode. CPU time (`process_time`), so say the machine's
load with every figure; the lower the better.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulk

from salesforce_typed.testing.bulk2 import ingest
from salesforce_typed.testing.bulk2.jobs import BulkJob, jobs, spool
from salesforce_typed.testing.org.records import require_index
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store


def run(data: bytes, slice_rows: int) -> tuple[int, float]:
    """Insert the CSV `data` into a fresh org as one job; (rows, CPU seconds)."""
    state = OrgState()
    table = jobs(state)
    job = BulkJob(
        id="750bench",
        kind="ingest",
        operation="insert",
        object="Account",
        api_version="62.0",
        created_by=state.config.user_id,
        created_date="",
        system_modstamp="",
    )
    job.upload, job.successful, job.failures = spool(), spool(), spool()
    job.upload.write(data)
    job.upload_bytes = len(data)
    store(state)  # the org's tables, there before any job
    started = time.process_time()
    rows = ingest.csv_rows(job.upload, job.delimiter)
    header = next(rows)
    work = ingest._Slice(table, job, ingest._Plan(require_index(state, job.object), header))
    while batch := list(islice(rows, slice_rows)):
        work.run(batch)
    spent = time.process_time() - started
    assert job.failed == 0, job.failed
    return job.processed, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--slice-rows", type=int, default=2000, help="rows per slice (the org's)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument("--bodies", action="store_true", help="without ColumnInsert")
    args = parser.parse_args()
    if args.bodies:
        from salesforce_typed.testing.org.records import ColumnInsert

        ColumnInsert.plan = classmethod(lambda cls, *a: None)  # type: ignore[method-assign,assignment]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.csv"
        bulk.write_input(path, args.rows)
        data = path.read_bytes()
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        run(data, args.slice_rows)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
    count, spent = run(data, args.slice_rows)
    path_name = "bodies" if args.bodies else "columns"
    print(f"{count} rows, {path_name}: {spent / count * 1e6:.2f} us/row (CPU {spent:.2f} s)")


if __name__ == "__main__":
    main()
