"""Every Salesforce field type through Bulk 2.0 -> Arrow -> Parquet, read back by DuckDB and
Polars: the declared types, and values equal to the rows sent (decimals exact, nulls kept,
datetimes in UTC)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import gadget_describe

from salesforce_typed import Salesforce
from salesforce_typed.columnar import arrow_batches, fields_from_describe, write_parquet

UTC = dt.UTC
# What we load (CSV cells, as Salesforce takes them), and what must come back.
SENT = [
    {
        "Name": "g1",
        "Notes__c": 'two\nlines, "quoted"',
        "Email__c": "a@example.com",
        "Phone__c": "+1 415 555 0100",
        "Site__c": "https://example.com/x?y=1",
        "Stage__c": "Won",
        "Tags__c": "a;c",
        "Kind__c": "custom value",
        "Active__c": "true",
        "Count__c": "123456789",
        "Big__c": "900719925474099",
        "Ratio__c": "12345.123457",
        "Loose__c": "0.1",
        "Price__c": "123456789012.34",
        "Share__c": "12.35",
        "Day__c": "2024-02-29",
        "At__c": "2024-02-29T23:59:59.123Z",
        "Clock__c": "13:45:30.250Z",
        "Secret__c": "s3cr3t",
    },
    {"Name": "g2", "Active__c": "false"},  # everything else null
]
EXPECTED = [
    {
        "Name": "g1",
        "Notes__c": 'two\nlines, "quoted"',
        "Email__c": "a@example.com",
        "Phone__c": "+1 415 555 0100",
        "Site__c": "https://example.com/x?y=1",
        "Stage__c": "Won",
        "Tags__c": ["a", "c"],
        "Kind__c": "custom value",
        "Account__c": None,
        "Active__c": True,
        "Count__c": 123456789,
        "Big__c": 900719925474099,
        "Ratio__c": Decimal("12345.123457"),
        "Loose__c": 0.1,
        "Price__c": Decimal(
            "123456789012.34"
        ),  # csv_pages tests 18 digits: the fake org keeps floats
        "Share__c": Decimal("12.35"),
        "Day__c": dt.date(2024, 2, 29),
        "At__c": dt.datetime(2024, 2, 29, 23, 59, 59, 123000, tzinfo=UTC),
        "Clock__c": dt.time(13, 45, 30, 250000),
        "Secret__c": "s3cr3t",  # as sent: this user may view encrypted data
    },
    {"Name": "g2", "Active__c": False},
]
TYPES = {
    "Id": pa.string(),
    "Name": pa.string(),
    "Notes__c": pa.string(),
    "Email__c": pa.string(),
    "Phone__c": pa.string(),
    "Site__c": pa.string(),
    "Stage__c": pa.dictionary(pa.int32(), pa.string()),
    "Tags__c": pa.list_(pa.string()),
    "Kind__c": pa.string(),
    "Account__c": pa.string(),
    "Active__c": pa.bool_(),
    "Count__c": pa.int32(),
    "Big__c": pa.int64(),
    "Ratio__c": pa.decimal128(18, 6),
    "Loose__c": pa.float64(),
    "Price__c": pa.decimal128(18, 2),
    "Share__c": pa.decimal128(5, 2),
    "Day__c": pa.date32(),
    "At__c": pa.timestamp("ms", tz="UTC"),
    "Clock__c": pa.time32("ms"),
    "Secret__c": pa.string(),
}
DUCKDB_TYPES = {
    "Stage__c": "VARCHAR",
    "Tags__c": "VARCHAR[]",
    "Active__c": "BOOLEAN",
    "Count__c": "INTEGER",
    "Big__c": "BIGINT",
    "Ratio__c": "DECIMAL(18,6)",
    "Loose__c": "DOUBLE",
    "Price__c": "DECIMAL(18,2)",
    "Share__c": "DECIMAL(5,2)",
    "Day__c": "DATE",
    "At__c": "TIMESTAMP WITH TIME ZONE",
    "Clock__c": "TIME",
}
POLARS_TYPES = {
    "Stage__c": pl.Categorical(),
    "Tags__c": pl.List(pl.String),
    "Count__c": pl.Int32,
    "Big__c": pl.Int64,
    "Price__c": pl.Decimal(18, 2),
    "Share__c": pl.Decimal(5, 2),
    "At__c": pl.Datetime("ms", "UTC"),
    "Clock__c": pl.Time,
    "Day__c": pl.Date,
}


def _load_and_write(sf: Salesforce, path: Path) -> list[str]:
    with sf.bulk2.ingest("Gadget__c", SENT, columns=list(SENT[0])) as result:
        assert result.counts.failed == 0, [str(r.error) for r in result.failed()]
        ids = [r.id for r in result.successful()]
    soql = f"SELECT {', '.join(TYPES)} FROM Gadget__c ORDER BY Name"
    query = sf.bulk2.query(soql, page_size=1)  # one row a page: batches must agree
    written = write_parquet(arrow_batches(query, fields_from_describe(gadget_describe())), path)
    assert written.rows == 2
    return ids


def _expected(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row.get(name) for name in TYPES if name != "Id"}


def test_every_field_type_round_trips_through_parquet(sf: Salesforce, tmp_path: Path) -> None:
    path = tmp_path / "gadgets.parquet"
    _load_and_write(sf, path)
    file = pq.ParquetFile(path)
    assert file.num_row_groups == 2  # one per page
    table = file.read()
    assert {f.name: f.type for f in table.schema} == TYPES
    rows = table.to_pylist()
    assert all(r["Id"].startswith("a0G") for r in rows)
    assert [{k: v for k, v in r.items() if k != "Id"} for r in rows] == [
        _expected(e) for e in EXPECTED
    ]
    assert table.schema.field("Price__c").metadata == {b"sf_type": b"currency"}


def test_duckdb_reads_declared_types_and_exact_values(sf: Salesforce, tmp_path: Path) -> None:
    path = tmp_path / "gadgets.parquet"
    _load_and_write(sf, path)
    con = duckdb.connect()
    described = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()}
    for name, kind in DUCKDB_TYPES.items():
        assert described[name] == kind, name
    con.execute("SET TimeZone = 'UTC'")
    price, share, big, tags, at, missing = con.execute(
        f"SELECT Price__c, Share__c, Big__c, Tags__c, At__c, Count__c FROM '{path}' ORDER BY Name"
    ).fetchall()[0][:6]
    assert (price, share, big) == (Decimal("123456789012.34"), Decimal("12.35"), 900719925474099)
    assert tags == ["a", "c"] and at == EXPECTED[0]["At__c"]
    total = con.execute(f"SELECT sum(Price__c) FROM '{path}'").fetchone()
    assert total == (Decimal("123456789012.34"),)
    nulls = con.execute(
        f"SELECT count(*) FROM '{path}' WHERE Name = 'g2' AND Price__c IS NULL "
        "AND Tags__c IS NULL AND At__c IS NULL AND Clock__c IS NULL AND Stage__c IS NULL"
    ).fetchone()
    assert nulls == (1,) and missing == 123456789


def test_polars_reads_declared_types_and_exact_values(sf: Salesforce, tmp_path: Path) -> None:
    path = tmp_path / "gadgets.parquet"
    _load_and_write(sf, path)
    frame = pl.read_parquet(path).sort("Name")
    for name, kind in POLARS_TYPES.items():
        assert frame.schema[name] == kind, name
    first, second = frame.to_dicts()
    assert first["Price__c"] == Decimal("123456789012.34")
    assert first["Ratio__c"] == Decimal("12345.123457")
    assert first["At__c"] == EXPECTED[0]["At__c"] and first["Clock__c"] == dt.time(
        13, 45, 30, 250000
    )
    assert first["Tags__c"] == ["a", "c"] and first["Stage__c"] == "Won"
    assert second["Price__c"] is None and second["Tags__c"] is None and second["Active__c"] is False
