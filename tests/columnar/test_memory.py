"""Streaming holds one page: the Arrow memory pool's peak stays flat as rows grow.

Each size runs in a fresh subprocess (its own pool); the org is loaded through Bulk 2.0, then
extracted to Parquet 1,000 rows a page. Ratio-based: 5x the rows may not double the peak.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
import pyarrow as pa
from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.columnar import arrow_batches, write_parquet
from salesforce_typed.testing.server import FakeOrg
import salesforce_typed_std as std

n = int(sys.argv[1])
with FakeOrg() as org:
    c = org.credentials()
    auth = RefreshTokenGrant(client_id=c["client_id"], client_secret=c["client_secret"],
                             refresh_token=c["refresh_token"], token_url=c["token_url"])
    with Salesforce(auth=auth, verify=False) as sf:
        rows = ({"Name": f"A{i}", "AnnualRevenue": str(i), "Description": "x" * 200} for i in range(n))
        with sf.bulk2.ingest("Account", rows, columns=["Name", "AnnualRevenue", "Description"]):
            pass
        query = sf.bulk2.query(std.Account, "SELECT Id, Name, AnnualRevenue, Description, CreatedDate FROM Account", page_size=1000)
        done = write_parquet(arrow_batches(query), sys.argv[2])
        assert done.rows == n, done
print(pa.default_memory_pool().max_memory())
"""


def _peak(rows: int, path: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(rows), path],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_arrow_memory_is_flat_as_rows_grow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = _peak(4_000, str(tmp_path / "s.parquet"))
    large = _peak(20_000, str(tmp_path / "l.parquet"))
    assert small > 0
    assert large < 2 * small, (small, large)
