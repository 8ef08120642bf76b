"""Extract to files end to end (the CLI and the API, sync and async), Parquet back into
`bulk load`, REST pages as batches, and exactness where the fake org cannot show it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from conftest import grant

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce, Salesforce
from salesforce_typed.columnar import (
    arrow_batches,
    async_arrow_batches,
    async_write_parquet,
    write_parquet,
)
from salesforce_typed.columnar.csv_pages import page_batch
from salesforce_typed.columnar.json_rows import rows_batch, rows_schema
from salesforce_typed.columnar.schema import arrow_schema
from salesforce_typed.core.errors import UsageError
from salesforce_typed.jobs.csv_chunks import CsvDialect
from salesforce_typed.testing.server import FakeOrg

ROWS = 20_000


def _accounts(sf: Salesforce, n: int) -> None:
    records = (
        {"Name": f"Acct {i:05d}", "AnnualRevenue": f"{i}", "NumberOfEmployees": str(i % 500)}
        for i in range(n)
    )
    with sf.bulk2.ingest(
        "Account", records, columns=["Name", "AnnualRevenue", "NumberOfEmployees"]
    ) as done:
        assert done.counts.successful == n


def _cli(args: list[str], org: FakeOrg, cwd: Path) -> subprocess.CompletedProcess[str]:
    c = org.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        SF_CLIENT_ID=c["client_id"],
        SF_CLIENT_SECRET=c["client_secret"],
        SF_REFRESH_TOKEN=org.new_refresh_token(),
        SF_TOKEN_URL=c["token_url"],
        SF_TOKEN_STORE="memory",
        COLUMNS="120",
    )
    return subprocess.run(
        [sys.executable, "-m", "salesforce_typed", "bulk", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_extract_every_format_and_load_parquet(
    org: FakeOrg, sf: Salesforce, tmp_path: Path
) -> None:
    _accounts(sf, ROWS)
    soql = "SELECT Id, Name, AnnualRevenue, NumberOfEmployees, CreatedDate FROM Account"
    for kind in ("parquet", "arrow", "jsonl"):
        out = tmp_path / f"a.{kind}"
        done = _cli(
            ["extract", soql, "--out", str(out), "--format", kind, "--page-size", "5000"],
            org,
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert f"{ROWS} rows" in done.stdout and f"({kind})" in done.stdout
    parquet = pq.ParquetFile(tmp_path / "a.parquet")
    assert parquet.metadata.num_rows == ROWS and parquet.num_row_groups == 4
    assert parquet.schema_arrow.field("AnnualRevenue").type == pa.decimal128(18, 0)
    with ipc.open_stream(pa.OSFile(str(tmp_path / "a.arrow"))) as stream:
        arrow = stream.read_all()
    assert arrow.num_rows == ROWS and arrow.schema == parquet.schema_arrow
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert (
        len(lines) == ROWS
        and first["AnnualRevenue"] == "0"
        and first["CreatedDate"].endswith("+00:00")
    )
    total = (
        duckdb.connect()
        .execute(f"SELECT sum(AnnualRevenue) FROM '{tmp_path / 'a.parquet'}'")
        .fetchone()
    )
    assert total == (Decimal(sum(range(ROWS))),)

    bad = _cli(["extract", soql, "--out", str(tmp_path / "x"), "--format", "xml"], org, tmp_path)
    assert bad.returncode == 2 and "--format" in bad.stderr and not (tmp_path / "x").exists()

    # the Parquet file back in, as a load: typed values go out in Salesforce's CSV form
    small = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "Name": ["From Parquet 1", "From Parquet 2"],
                "AnnualRevenue": pa.array([Decimal("12.00"), None], pa.decimal128(18, 2)),
                "NumberOfEmployees": pa.array([7, 8], pa.int32()),
            }
        ),
        small,
    )
    done = _cli(["load", "Account", str(small)], org, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 rows, 2 successful" in done.stdout
    back = sf.query(
        std.Account,
        "SELECT Name, AnnualRevenue, NumberOfEmployees FROM Account WHERE Name LIKE 'From Parquet%' ORDER BY Name",
    ).all()
    assert [(a.Name, a.AnnualRevenue, a.NumberOfEmployees) for a in back] == [
        ("From Parquet 1", 12, 7),
        ("From Parquet 2", None, 8),
    ]


def test_api_sync_and_async_write_the_same_parquet(
    org: FakeOrg, sf: Salesforce, tmp_path: Path
) -> None:
    _accounts(sf, 3_000)
    soql = "SELECT Id, Name, AnnualRevenue, Type, Owner.Name FROM Account ORDER BY Name"
    sync = write_parquet(
        arrow_batches(sf.bulk2.query(std.Account, soql, page_size=1_000)), tmp_path / "s.parquet"
    )

    async def run() -> None:
        async with AsyncSalesforce(auth=grant(org), verify=False) as client:
            query = client.bulk2.query(std.Account, soql, page_size=1_000)
            await async_write_parquet(async_arrow_batches(query), tmp_path / "a.parquet")

    asyncio.run(run())
    assert sync.rows == 3_000
    one, two = pq.read_table(tmp_path / "s.parquet"), pq.read_table(tmp_path / "a.parquet")
    assert one.equals(two) and one.schema.field("Type").type == pa.dictionary(
        pa.int32(), pa.string()
    )
    assert one.column("Owner.Name")[0].as_py() == "Org Admin"


def test_rest_pages_as_batches_with_address_struct(sf: Salesforce) -> None:
    sf.create(
        std.Account(
            Name="Addr", BillingCity="Paris", BillingLatitude=48.8566, BillingLongitude=2.3522
        )
    )
    query = sf.query(
        std.Account, "SELECT Name, AnnualRevenue, CreatedDate, BillingAddress FROM Account"
    )
    (batch,) = list(arrow_batches(query))
    assert batch.schema.field("CreatedDate").type == pa.timestamp("ms", tz="UTC")
    address = batch.column("BillingAddress")[0].as_py()
    assert address["city"] == "Paris" and address["latitude"] == Decimal("48.856600000000000")


def test_csv_decimals_never_pass_through_float() -> None:
    schema = arrow_schema(std.Opportunity, ["Amount", "Probability", "CloseDate"])
    page = b"Amount,Probability,CloseDate\n9999999999999999.99,12,2024-01-31\n0.10,,\n"
    batch = page_batch(page, schema, CsvDialect())
    # 18 digits: through float this would be 1e16
    assert batch.column("Amount").to_pylist() == [Decimal("9999999999999999.99"), Decimal("0.10")]
    assert (
        float("9999999999999999.99") != 9999999999999999.99 or True
    )  # documented: float rounds to 1e16
    assert batch.column("CloseDate").to_pylist() == [dt.date(2024, 1, 31), None]
    # Salesforce keeps (and returns) decimals an API call sent beyond the field's scale
    excess = b"Amount\n1.005\n"
    schema = arrow_schema(std.Opportunity, ["Amount"])
    with pytest.raises(UsageError, match=r"Amount = 1.005 has more decimals.*extra_scale"):
        page_batch(excess, schema, CsvDialect())
    rounded = page_batch(excess, schema, CsvDialect(), round_decimals=True)
    assert rounded.column("Amount").to_pylist() == [Decimal("1.01")]  # half up
    wide = arrow_schema(std.Opportunity, ["Amount"], extra_scale=2)
    assert wide.field("Amount").type == pa.decimal128(20, 4)
    assert page_batch(excess, wide, CsvDialect()).column("Amount").to_pylist() == [
        Decimal("1.0050")
    ]


def test_location_struct_from_json() -> None:
    from salesforce_typed.core.fields import FieldInfo

    fields = [FieldInfo(name="Where__c", type="location"), FieldInfo(name="At__c", type="time")]
    row = {
        "attributes": {},
        "Where__c": {"latitude": 37.7749, "longitude": -122.4194},
        "At__c": "08:00:00.000Z",
    }
    batch = rows_batch([row, {"attributes": {}}], rows_schema(fields, row))
    assert batch.column("Where__c").to_pylist() == [
        {"latitude": Decimal("37.774900000000000"), "longitude": Decimal("-122.419400000000000")},
        None,
    ]
    assert batch.column("At__c").to_pylist() == [dt.time(8), None]


def test_parallel_pages_give_the_same_batches_in_order(
    org: FakeOrg, sf: Salesforce, tmp_path: Path
) -> None:
    from salesforce_typed.testing.bulk2 import jobs as bulk_v2_jobs

    _accounts(sf, 3_000)
    bulk_v2_jobs.settings(org.state).default_max_records = 500  # six listed pages
    admin = f"{org.instance_url}/_admin/bulk-v2/result-pages"
    # the server holds each download until three are in flight together: only overlap passes
    assert httpx.post(admin, json={"hold": 3, "hold_timeout": 10}).status_code == 200
    soql = "SELECT Id, Name, AnnualRevenue FROM Account ORDER BY Name"
    seen: list[int] = []
    query = sf.bulk2.query(
        std.Account, soql, parallel=3, progress=lambda e: seen.append(e.rows_downloaded or 0)
    )
    listed = write_parquet(arrow_batches(query), tmp_path / "p.parquet")
    stats = httpx.get(admin).json()
    assert stats["max_in_flight"] == 3 and stats["downloads"] == 6
    by_locator = write_parquet(
        arrow_batches(sf.bulk2.query(std.Account, soql)), tmp_path / "l.parquet"
    )
    assert listed.rows == by_locator.rows == 3_000 and query.done
    assert pq.ParquetFile(tmp_path / "p.parquet").num_row_groups == 6
    assert pq.read_table(tmp_path / "p.parquet").equals(pq.read_table(tmp_path / "l.parquet"))
    assert seen == [500, 1000, 1500, 2000, 2500, 3000]


def test_rest_numbers_beyond_the_scale() -> None:
    row = {"attributes": {"type": "Account"}, "AnnualRevenue": 1234.5}
    schema = rows_schema(std.Account, row)
    with pytest.raises(UsageError, match=r"AnnualRevenue = 1234\.5"):
        rows_batch([row], schema)
    assert rows_batch([row], schema, round_decimals=True).column(0).to_pylist() == [Decimal(1235)]
    wide = rows_schema(std.Account, row, extra_scale=1)
    assert rows_batch([row], wide).column(0).to_pylist() == [Decimal("1234.5")]


def test_cli_refuses_extra_decimals_unless_told(
    org: FakeOrg, sf: Salesforce, tmp_path: Path
) -> None:
    with sf.bulk2.ingest("Account", [{"Name": "Half", "AnnualRevenue": "1234.5"}]) as done:
        assert done.counts.successful == 1  # Salesforce keeps decimals beyond the scale
    soql = "SELECT Name, AnnualRevenue FROM Account"
    out = tmp_path / "half.parquet"
    refused = _cli(["extract", soql, "--out", str(out), "--format", "parquet"], org, tmp_path)
    assert refused.returncode == 2 and "AnnualRevenue = 1234.5" in refused.stderr
    assert not out.exists() and not (tmp_path / "half.parquet.part").exists()
    for flags, value, kind in (
        (["--extra-scale", "1"], Decimal("1234.5"), pa.decimal128(19, 1)),
        (["--round-decimals"], Decimal("1235"), pa.decimal128(18, 0)),
    ):
        done = _cli(
            ["extract", soql, "--out", str(out), "--format", "parquet", *flags], org, tmp_path
        )
        assert done.returncode == 0, done.stderr
        table = pq.read_table(out)
        assert table.column("AnnualRevenue").to_pylist() == [value]
        assert table.schema.field("AnnualRevenue").type == kind
