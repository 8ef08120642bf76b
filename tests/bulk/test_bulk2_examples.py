"""The Bulk API 2.0 examples run as a user runs them, each against its own fresh fake org."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "bulk_v2_ingest.py": (
        "uploaded 1000: 997 successful, 3 failed, 0 unprocessed -> reconciles: True",
        "input #17 (no LastName): REQUIRED_FIELD_MISSING:Required fields are missing: "
        "[LastName]:LastName --",
        "input #998 (LastName too long): STRING_TOO_LONG:",
        "updated 997 of 997",
        "deleted 997 Contacts",
    ),
    "bulk_v2_query.py": (
        "page 3: 100 Accounts from",
        "first page 300 + resumed 200 = 500",
        "streamed 500 Accounts",
        "500 records,",
        "deleted 500 Accounts",
    ),
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_against_a_fresh_fake_org(script: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.startswith("[fake org] https://127.0.0.1:")
    for line in EXPECTED[script]:
        assert line in done.stdout, f"{script}: missing {line!r} in\n{done.stdout}"
    assert done.stdout.rstrip().endswith(f"{script.removesuffix('.py')}: done")
