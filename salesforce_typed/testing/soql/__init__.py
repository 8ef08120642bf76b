"""The fake org's SOQL and SOSL engine over SQLite: parse, check, compile, shape.

`execute_query` and `execute_search` are the entry points the HTTP layer calls; the storage
convention they rely on is documented in `storage`. Errors are `SoqlError` with
Salesforce's errorCode and message.
"""

from __future__ import annotations

from .compiler import compile_query, compile_soql
from .errors import SoqlError
from .ids import id18, normalize_id
from .parser import parse_query
from .plan import CompiledQuery
from .results import JsonValue, QueryResult, Record, execute_query
from .schema import FIELD_TYPES, ChildRel, FieldDef, FieldType, ObjectDef, Schema
from .sosl import execute_search, parse_search
from .storage import (
    create_index_sqls,
    create_table_sql,
    format_datetime,
    from_storage,
    parse_datetime,
    to_storage,
)

__all__ = [
    "FIELD_TYPES",
    "ChildRel",
    "CompiledQuery",
    "FieldDef",
    "FieldType",
    "JsonValue",
    "ObjectDef",
    "QueryResult",
    "Record",
    "Schema",
    "SoqlError",
    "compile_query",
    "compile_soql",
    "create_index_sqls",
    "create_table_sql",
    "execute_query",
    "execute_search",
    "format_datetime",
    "from_storage",
    "id18",
    "normalize_id",
    "parse_datetime",
    "parse_query",
    "parse_search",
    "to_storage",
]
