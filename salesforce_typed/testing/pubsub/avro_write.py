"""A per-schema Avro writer for the fake org's event schemas, built once from closures.

fastavro's `schemaless_writer` dispatches on the schema for every field of every event
(about 30 us for a 44-field change event, most of them null); the fake org encodes each
retained event once, but a bench drains tens of thousands. The shapes the org's schemas use
(primitives, enums, arrays, records, unions of null and one type) are written here per the
Avro 1.11 binary encoding; `compile_writer` returns None for anything else, and the caller
keeps fastavro.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["compile_writer"]

_Write = Callable[[bytearray, Any], None]


class _UnsupportedError(Exception):
    pass


def _long(out: bytearray, n: int) -> None:
    n = (n << 1) ^ (n >> 63)
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _string(out: bytearray, value: str) -> None:
    data = value.encode()
    _long(out, len(data))
    out += data


def _bytes(out: bytearray, value: bytes) -> None:
    _long(out, len(value))
    out += value


def _boolean(out: bytearray, value: bool) -> None:
    out.append(1 if value else 0)


def _double(out: bytearray, value: float) -> None:
    out += struct.pack("<d", value)


def _float(out: bytearray, value: float) -> None:
    out += struct.pack("<f", value)


def _null(out: bytearray, value: None) -> None:
    pass


_PRIMITIVE: dict[str, _Write] = {
    "null": _null,
    "boolean": _boolean,
    "int": _long,
    "long": _long,
    "float": _float,
    "double": _double,
    "string": _string,
    "bytes": _bytes,
}


def _writer(schema: Any, named: dict[str, Any]) -> _Write:
    if isinstance(schema, str):
        if schema in _PRIMITIVE:
            return _PRIMITIVE[schema]
        if schema in named:
            return _writer(named[schema], named)
        raise _UnsupportedError(schema)
    if isinstance(schema, list):
        return _union(schema, named)
    if "logicalType" in schema:
        raise _UnsupportedError("logical types")
    kind = schema["type"]
    if kind == "record":
        named[str(schema["name"])] = schema
        return _record(schema, named)
    if kind == "enum":
        named[str(schema["name"])] = schema
        index = {str(s): n for n, s in enumerate(schema["symbols"])}
        return lambda out, value: _long(out, index[value])
    if kind == "array":
        item = _writer(schema["items"], named)

        def array(out: bytearray, values: Any) -> None:
            if values:
                _long(out, len(values))
                for value in values:
                    item(out, value)
            out.append(0)

        return array
    if isinstance(kind, str) and kind in _PRIMITIVE:
        return _PRIMITIVE[kind]
    raise _UnsupportedError(str(kind))


def _union(branches: list[Any], named: dict[str, Any]) -> _Write:
    """Only `[null, T]` and `[T, null]`: which branch a value takes is then unambiguous."""
    if len(branches) != 2 or "null" not in branches:
        raise _UnsupportedError("a union other than null and one type")
    null_index = branches.index("null")
    other = _writer(branches[1 - null_index], named)
    none = bytes([2 * null_index])
    some = 2 * (1 - null_index)

    def union(out: bytearray, value: Any) -> None:
        if value is None:
            out += none
        else:
            out.append(some)
            other(out, value)

    return union


def _record(schema: Mapping[str, Any], named: dict[str, Any]) -> _Write:
    fields = [(str(f["name"]), _writer(f["type"], named)) for f in schema["fields"]]

    def record(out: bytearray, value: Mapping[str, Any]) -> None:
        get = value.get
        for name, write in fields:
            write(out, get(name))

    return record


def compile_writer(schema: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bytes] | None:
    """`datum -> bytes` for one record schema, or None (fastavro writes that schema)."""
    try:
        write = _writer(dict(schema), {})
    except (_UnsupportedError, KeyError, TypeError):
        return None

    def encode(datum: Mapping[str, Any]) -> bytes:
        out = bytearray()
        write(out, datum)
        return bytes(out)

    return encode
