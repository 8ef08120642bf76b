"""Typed columnar data: query results as Arrow record batches, Parquet, Arrow IPC, JSON lines.

Needs pyarrow (`pip install "salesforce-typed[columnar]"`). Column types come from the
generated model (or a describe): see `schema.py`. Pages stream one at a time.

    from salesforce_typed.columnar import arrow_batches, write_parquet
    write_parquet(arrow_batches(sf.bulk2.query(Account, soql)), "accounts.parquet")
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("pyarrow") is None:
    raise ModuleNotFoundError(
        "salesforce_typed.columnar needs pyarrow: pip install 'salesforce-typed[columnar]'",
        name="pyarrow",
    )

from salesforce_typed.columnar._async.batches import (
    arrow_batches as async_arrow_batches,
)
from salesforce_typed.columnar._async.batches import (
    write_arrow as async_write_arrow,
)
from salesforce_typed.columnar._async.batches import (
    write_jsonl as async_write_jsonl,
)
from salesforce_typed.columnar._async.batches import (
    write_parquet as async_write_parquet,
)
from salesforce_typed.columnar._sync.batches import (
    arrow_batches,
    write_arrow,
    write_jsonl,
    write_parquet,
)
from salesforce_typed.columnar.files import Written
from salesforce_typed.columnar.schema import (
    ADDRESS,
    LOCATION,
    arrow_schema,
    arrow_type,
    fields_from_describe,
)

__all__ = [
    "ADDRESS",
    "LOCATION",
    "Written",
    "arrow_batches",
    "arrow_schema",
    "arrow_type",
    "async_arrow_batches",
    "async_write_arrow",
    "async_write_jsonl",
    "async_write_parquet",
    "fields_from_describe",
    "write_arrow",
    "write_jsonl",
    "write_parquet",
]
