"""`bulk extract --format ...` holds one page at a time: the client's peak RSS above its
imports stays flat as rows grow, and the extract loads neither `pyarrow.compute` nor
`pyarrow.fs` (about 25 MB between them that a typed extract does not need).

The org runs here, its store filled directly; each extract runs in a fresh subprocess, so the
peak (VmHWM) is the client's own. Ratio-based: 15x the rows (15x the pages) may not add 30% (and 2 MB).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

PAGE = 5_000

CHILD = """
import json, sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.bulk2._sync.client import Bulk2
from salesforce_typed.columnar.cli import extract
c = json.loads(sys.argv[1])
grant = RefreshTokenGrant(client_id=c["client_id"], client_secret=c["client_secret"],
                          refresh_token=c["refresh_token"], token_url=c["token_url"])
with Salesforce(auth=grant, verify=False) as sf:
    base = hwm()
    soql = "SELECT Id, Name, Amount, StageName, CloseDate, CreatedDate FROM Opportunity"
    _, written = extract(Bulk2(sf), soql, sys.argv[2], sys.argv[3], page_size=int(sys.argv[4]))
print(json.dumps({"rows": written.rows, "base": base, "peak": hwm(),
                  "modules": sorted(m for m in sys.modules if m.startswith("pyarrow."))}))
"""


def _extract(rows: int, kind: str, out: Path) -> dict[str, Any]:
    with FakeOrg() as org:
        day = dt.date(2026, 1, 1)
        store(org.state).insert_many(
            "Opportunity",
            (
                {
                    "Name": f"Opp {i:07d}",
                    "Amount": i + (i % 100) / 100,
                    "StageName": ("Prospecting", "Closed Won")[i % 2],
                    "CloseDate": (day + dt.timedelta(days=i % 365)).isoformat(),
                }
                for i in range(rows)
            ),
        )
        args = [json.dumps(org.credentials()), str(out), kind, str(PAGE)]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["rows"] == rows
    return figures


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_extract_memory_is_flat_and_lean(kind: str, tmp_path: Path) -> None:
    small = _extract(2 * PAGE, kind, tmp_path / f"s.{kind}")
    large = _extract(30 * PAGE, kind, tmp_path / f"l.{kind}")
    grew_small = small["peak"] - small["base"]
    grew_large = large["peak"] - large["base"]
    assert grew_small > 0
    assert grew_large < 1.3 * grew_small + 2, (small, large)  # MB: 2 of slack
    for figures in (small, large):
        assert "pyarrow.compute" not in figures["modules"], figures["modules"]
        assert "pyarrow.fs" not in figures["modules"], figures["modules"]
