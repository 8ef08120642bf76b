"""JSON lines built column by column say what `to_pylist()` rows dumped one by one say."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from salesforce_typed.columnar.files import open_sink
from salesforce_typed.columnar.schema import ADDRESS


def _row(i: int) -> dict[str, Any]:
    blank = i % 7 == 0
    return {
        "Id": f"001{i:015d}",
        "Name": None if blank else f'Zoë {i} "quoted"\n',
        "Amount": None if blank else decimal.Decimal(i * 37).scaleb(-2),
        "Stage": None if blank else ("Prospecting", "Closed Won")[i % 2],
        "Created": None
        if blank
        else dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=i * 1001),
        "Local": dt.datetime(2026, 1, 1) + dt.timedelta(seconds=i),
        "Close": None if blank else dt.date(2026, 1, 1) + dt.timedelta(days=i % 365),
        "At": dt.time(10, 0, i % 60, (i % 1000) * 1000),
        "Count": None if blank else i,
        "Open": i % 3 == 0,
        "Ratio": i / 7,
        "Tags": None if blank else ["a", "b;c"][: i % 3],
        "Billing": None
        if blank
        else {"street": "1 Main", "city": None, "latitude": decimal.Decimal("37.123456789")},
    }


SCHEMA = pa.schema(
    [
        ("Id", pa.string()),
        ("Name", pa.string()),
        ("Amount", pa.decimal128(18, 2)),
        ("Stage", pa.dictionary(pa.int32(), pa.string())),
        ("Created", pa.timestamp("ms", tz="UTC")),
        ("Local", pa.timestamp("ms")),
        ("Close", pa.date32()),
        ("At", pa.time32("ms")),
        ("Count", pa.int64()),
        ("Open", pa.bool_()),
        ("Ratio", pa.float64()),
        ("Tags", pa.list_(pa.string())),
        ("Billing", ADDRESS),
    ]
)


def _old_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(type(value).__name__)


def test_jsonl_lines_equal_rows_dumped_whole(tmp_path: Path) -> None:
    # 10,000 rows: more than one of the writer's 8,192-row slices.
    batch = pa.RecordBatch.from_pylist([_row(i) for i in range(10_000)], schema=SCHEMA)
    sink = open_sink("jsonl", tmp_path / "rows.jsonl")
    sink.write(batch)
    sink.write(batch.slice(9_990))
    written = sink.finish()
    expected = [orjson.dumps(r, default=_old_default) for r in batch.to_pylist()]
    expected += expected[9_990:]
    lines = written.path.read_bytes().splitlines()
    assert written.rows == 10_010 and lines == expected
    assert orjson.loads(lines[1])["Created"] == "2026-01-01T00:00:01.001000+00:00"
    assert orjson.loads(lines[1])["Amount"] == "0.37"
