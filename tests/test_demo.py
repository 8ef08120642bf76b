"""`make demo` is the main job: it must run to the end on a fresh checkout."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "salesforce_typed.demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "demo complete" in out
    assert "created=True, then created=False" in out
    assert "refresh token rotated: True" in out
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in out
