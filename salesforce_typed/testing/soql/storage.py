"""How the fake org stores sObjects in SQLite, and conversion between storage and JSON values.

The convention every writer and the query engine share:

- One table per sObject, named exactly by its API name (quoted: `"Invoice__c"`).
- One column per stored field, named by the field's API name. Compound fields (address,
  location) have no column; their components (BillingCity, Loc__Latitude__s) do.
- `Id` TEXT PRIMARY KEY holding the 18-char id; `IsDeleted` INTEGER NOT NULL 0/1 always
  present (the recycle bin: query hides 1, queryAll shows it).
- Values: boolean 0/1; int INTEGER; double/currency/percent REAL; date TEXT `YYYY-MM-DD`;
  datetime TEXT normalised to UTC `YYYY-MM-DDTHH:MM:SS.fff+0000` (fixed width, so text order
  is time order); time TEXT `HH:MM:SS.fffZ`; multipicklist TEXT `a;b;c`; everything else TEXT.
- Text-like columns (string, picklist, email, ...) are declared `COLLATE NOCASE`: SOQL `=`,
  LIKE, ORDER BY and GROUP BY ignore (ASCII) case, and the indexes must agree to be used.

Use `create_table_sql` and `create_index_sqls` to create tables, and `to_storage` for every
value written, so that queries see what they expect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial

from .schema import NUMBER_TYPES, TEXT_TYPES, FieldDef, ObjectDef

SqlValue = int | float | str | bytes | None

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def quote_ident(name: str) -> str:
    """An SQL identifier; names come from the schema, quoting keeps odd ones safe."""
    return '"' + name.replace('"', '""') + '"'


def _column_type(field: FieldDef) -> str:
    if field.type in ("boolean", "int"):
        return "INTEGER"
    if field.type in NUMBER_TYPES:
        return "REAL"
    if field.type in TEXT_TYPES:
        return "TEXT COLLATE NOCASE"
    return "TEXT"


def create_table_sql(obj: ObjectDef) -> str:
    """`CREATE TABLE IF NOT EXISTS` for one sObject, following the convention above."""
    columns = ['"Id" TEXT PRIMARY KEY', '"IsDeleted" INTEGER NOT NULL DEFAULT 0']
    for field in obj.stored_fields():
        if field.name.lower() in ("id", "isdeleted"):
            continue
        columns.append(f"{quote_ident(field.name)} {_column_type(field)}")
    body = ",\n  ".join(columns)
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(obj.name)} (\n  {body}\n)"


def create_index_sqls(obj: ObjectDef, extra: Sequence[str] = ()) -> list[str]:
    """Indexes on reference fields (joins, child subqueries), Name and `extra` fields."""
    wanted = [f.name for f in obj.stored_fields() if f.type == "reference"]
    name_field = obj.field("Name")
    if name_field is not None and not name_field.is_compound:
        wanted.append(name_field.name)
    wanted.extend(extra)
    sqls = []
    for name in dict.fromkeys(wanted):
        index = quote_ident(f"ix_{obj.name}_{name}")
        sqls.append(
            f"CREATE INDEX IF NOT EXISTS {index} ON {quote_ident(obj.name)} ({quote_ident(name)})"
        )
    return sqls


def format_datetime(value: dt.datetime) -> str:
    """Storage and wire form: UTC, milliseconds, `+0000` (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    utc = value.astimezone(dt.UTC)
    return f"{utc.strftime(_DATETIME_FORMAT)}.{utc.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> dt.datetime:
    """Any ISO-8601 form Salesforce accepts (`Z`, `+hhmm`, `+hh:mm`, with or without millis)."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _format_time(value: dt.time | str) -> str:
    parsed = value if isinstance(value, dt.time) else dt.time.fromisoformat(value.rstrip("Zz"))
    return f"{parsed.strftime('%H:%M:%S')}.{parsed.microsecond // 1000:03d}Z"


def to_storage(field: FieldDef, value: object) -> SqlValue:
    """A JSON (or Python) value as stored for `field`; raises ValueError on a wrong type."""
    if value is None:
        return None
    ftype = field.type
    if ftype == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        if not isinstance(value, bool | int):
            raise ValueError(f"{field.name}: expected a boolean, got {value!r}")
        return int(bool(value))
    if ftype == "int":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{field.name}: expected an integer, got {value!r}")
        return int(value)
    if ftype in NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{field.name}: expected a number, got {value!r}")
        return float(value)
    if ftype == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return dt.date.fromisoformat(str(value)).isoformat()
    if ftype == "datetime":
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        return format_datetime(parse_datetime(str(value)))
    if ftype == "time":
        return _format_time(value if isinstance(value, dt.time) else str(value))
    if ftype == "multipicklist" and isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bytes):
        return value
    return str(value)


def stored_type(field: FieldDef) -> type | None:
    """The type `to_storage` returns unchanged for `field`, if any."""
    if field.type in TEXT_TYPES or field.type in ("id", "reference"):
        return str
    if field.type == "int":
        return int
    return float if field.type in NUMBER_TYPES else None


def value_converter(field: FieldDef) -> Callable[[object], SqlValue]:
    """`to_storage` for one field, with values already in stored form (text as `str`,
    numbers as `float` or `int`) and nulls returned without the type dispatch."""
    exact = stored_type(field)
    if field.type == "boolean":
        return lambda value: int(value) if type(value) is bool else to_storage(field, value)
    if exact is None:
        return partial(to_storage, field)

    def convert(value: object) -> SqlValue:
        if value is None or type(value) is exact:
            return value  # type: ignore[return-value]
        return to_storage(field, value)

    return convert


def storage_converter(field: FieldDef) -> Callable[[Sequence[object]], Sequence[SqlValue]]:
    """`to_storage` for one field over a column of values; a column that is already all in
    stored form (text as `str`, numbers as `float` or `int`, nulls) is returned as it is."""
    exact = stored_type(field)
    if exact is None:
        return lambda column: [to_storage(field, v) for v in column]
    stored = frozenset({exact, type(None)})

    def convert(column: Sequence[object]) -> Sequence[SqlValue]:
        if {*map(type, column)} <= stored:
            return column  # type: ignore[return-value]
        return [to_storage(field, v) for v in column]

    return convert


def from_storage(field_type: str, value: SqlValue) -> bool | int | float | str | None:
    """A stored value as REST JSON shows it (booleans as true/false, REAL as float)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if field_type == "boolean":
        return bool(value)
    if field_type == "int" and isinstance(value, int | float):
        return int(value)
    if field_type in NUMBER_TYPES and isinstance(value, int | float):
        return float(value)
    return value
