"""examples/soap_convert_lead.py runs as a user would run it: a subprocess on its own fake org.

Every `SF_*` variable is removed so the default (fake org) mode is what runs; it must exit 0,
show the conversions and the per-lead failure, clean up, and never print a session id.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "soap_convert_lead.py"
ACCESS_TOKEN = re.compile(r"00D\w{12}!")  # `<org id>!<secret>`


def test_soap_convert_lead_example_runs_against_a_fake_org() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}:\n{out}\n{done.stderr}"
    assert out.startswith("[fake org] https://127.0.0.1:")
    converted = re.findall(r"lead 00Q\w{15}: converted -> account 001\w{15}", out)
    assert len(converted) == 2
    assert "opportunity 006" in out and "opportunity None" in out
    assert "not converted: INVALID_STATUS" in out
    assert "IsConverted=True Status=Closed - Converted" in out
    assert "ConvertedAccountId matches: True" in out
    assert "deleted 8 of 8 records" in out
    assert out.rstrip().endswith("soap_convert_lead: done")
    assert not ACCESS_TOKEN.search(out + done.stderr)
