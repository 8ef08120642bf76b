"""A per-schema compiled Avro reader: Pub/Sub payload bytes straight into CometD's payload.

fastavro's `schemaless_reader` walks the schema for every event (about 25 us for a 44-field
change event) and then `cometd_payload` walks the record again. Here each schema id gets
Python source generated once (one function per record, primitives inlined), which reads the
Avro binary encoding (Avro 1.11 spec, "Binary Encoding") and at the top level keeps only
what `decode.cometd_payload` would keep, datetimes already in CometD's ISO form.

What must stay true:
- The result equals `cometd_payload(plan, fastavro.schemaless_reader(...))` for every schema
  it accepts; a schema it cannot read the same way (logical types, a header that is not the
  first field) gets no compiled reader (`compile_reader` returns None) and the caller keeps
  fastavro.
- Malformed bytes raise `ValueError`, never return a partial event.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["compile_reader", "iso_date", "iso_datetime"]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "string", "bytes"})
_EPOCH_DATETIME = dt.datetime(1970, 1, 1)
_EPOCH_DATE = dt.date(1970, 1, 1)
_ONE_BYTE_BRANCHES = 63  # a union index below 64 is one zigzag varint byte
_DAY = dt.timedelta(days=1)


class _UnsupportedError(Exception):
    """A schema feature this reader does not reproduce exactly: fastavro reads it."""


_SECONDS: dict[int, str] = {}  # epoch second -> `2024-01-01T00:00:00`: a stream's events
_SECONDS_KEPT = 4096  # share their seconds (CreatedDate, LastModifiedDate), so few are made


def iso_datetime(ms: int) -> str:
    """Epoch milliseconds as CometD's datetime (`2024-01-01T00:00:00.000Z`)."""
    seconds, millis = divmod(ms, 1000)
    text = _SECONDS.get(seconds)
    if text is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        moment = _EPOCH_DATETIME + dt.timedelta(seconds=seconds)
        text = _SECONDS[seconds] = moment.isoformat(timespec="seconds")
    return f"{text}.{millis:03d}Z"


def iso_date(days: int) -> str:
    """Days since the epoch as CometD's date (`2024-01-01`)."""
    return (_EPOCH_DATE + days * _DAY).isoformat()


def _kind(field: Mapping[str, Any]) -> str:
    kind = str(field.get("doc") or "").rpartition(":")[2]
    return kind if kind in ("DateTime", "Date") else ""


class _Source:
    """Python source for one schema: `def` blocks for records, constants by name."""

    def __init__(self) -> None:
        self.blocks: list[list[str]] = []
        self.consts: dict[str, Any] = {}
        self.named: dict[str, Any] = {}  # full and short names -> schema of a named type
        self.record_funcs: dict[int, str] = {}  # id(record schema) -> function name
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, value: Any) -> str:
        key = self.name("_c")
        self.consts[key] = value
        return key

    # -- names ---------------------------------------------------------------------------

    def register(self, schema: Mapping[str, Any], namespace: str) -> str:
        name = str(schema["name"])
        space = str(schema.get("namespace") or namespace)
        full = name if "." in name or not space else f"{space}.{name}"
        self.named[full] = schema
        self.named.setdefault(name.rpartition(".")[2], schema)
        return full.rpartition(".")[0]

    def resolve(self, ref: str, namespace: str) -> Any:
        for key in (ref, f"{namespace}.{ref}"):
            if key in self.named:
                return self.named[key]
        raise _UnsupportedError(f"unknown named type {ref!r}")

    # -- values --------------------------------------------------------------------------

    def long(self, out: list[str], pad: str, target: str) -> None:
        """A zigzag varint: one byte read inline, the rest (epoch milliseconds, long
        strings) in a loop here too, not a call."""
        out += [
            f"{pad}x = b[pos]",
            f"{pad}pos += 1",
            f"{pad}if x & 128:",
            f"{pad}    x &= 127",
            f"{pad}    sh = 7",
            f"{pad}    while True:",
            f"{pad}        y = b[pos]",
            f"{pad}        pos += 1",
            f"{pad}        x |= (y & 127) << sh",
            f"{pad}        if not y & 128:",
            f"{pad}            break",
            f"{pad}        sh += 7",
            f"{pad}{target} = (x >> 1) ^ -(x & 1)",
        ]

    def value(self, schema: Any, out: list[str], pad: str, target: str, ns: str) -> None:
        """Code reading one value of `schema` into the local `target`."""
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            schema = self.resolve(schema, ns)
        if isinstance(schema, list):
            self.union(schema, out, pad, target, ns)
            return
        kind = schema if isinstance(schema, str) else schema.get("type")
        if isinstance(schema, Mapping) and "logicalType" in schema:
            raise _UnsupportedError("logical types are converted by fastavro")
        if isinstance(kind, (list, Mapping)):  # {"type": {...}}: a wrapped type
            self.value(kind, out, pad, target, ns)
            return
        if kind == "null":
            out.append(f"{pad}{target} = None")
        elif kind == "boolean":
            out += [f"{pad}{target} = b[pos] != 0", f"{pad}pos += 1"]
        elif kind in ("int", "long"):
            self.long(out, pad, target)
        elif kind in ("float", "double"):
            size, fmt = (4, "<f") if kind == "float" else (8, "<d")
            unpack = self.const(struct.Struct(fmt).unpack_from)
            out += [f"{pad}{target} = {unpack}(b, pos)[0]", f"{pad}pos += {size}"]
        elif kind in ("string", "bytes"):
            self.long(out, pad, "n")
            out += [
                f"{pad}end = pos + n",
                f"{pad}if n < 0 or end > size:",
                f"{pad}    raise _ShortError",
            ]
            text = "b[pos:end].decode()" if kind == "string" else "b[pos:end]"
            out += [f"{pad}{target} = {text}", f"{pad}pos = end"]
        elif kind == "fixed":
            if isinstance(schema.get("name"), str):
                self.register(schema, ns)
            size = int(schema["size"])
            out += [f"{pad}{target} = b[pos:pos + {size}]", f"{pad}pos += {size}"]
        elif kind == "enum":
            if isinstance(schema.get("name"), str):
                self.register(schema, ns)
            symbols = self.const(tuple(str(s) for s in schema["symbols"]))
            self.long(out, pad, "i")
            out.append(f"{pad}{target} = {symbols}[i]")
        elif kind in ("array", "map"):
            self.repeated(schema, out, pad, target, ns)
        elif kind == "record":
            func = self.record(schema, ns)
            out.append(f"{pad}{target}, pos = {func}(b, pos)")
        else:
            raise _UnsupportedError(f"type {kind!r}")

    def union(self, branches: list[Any], out: list[str], pad: str, target: str, ns: str) -> None:
        if len(branches) > _ONE_BYTE_BRANCHES:
            raise _UnsupportedError("a union of more than 63 branches")
        out += [f"{pad}i = b[pos]", f"{pad}pos += 1"]  # the zigzag index: one byte
        for index, branch in enumerate(branches):
            out.append(f"{pad}{'if' if index == 0 else 'elif'} i == {2 * index}:")
            self.value(branch, out, pad + "    ", target, ns)
        out += [f"{pad}else:", f"{pad}    raise _ShortError"]

    def repeated(
        self, schema: Mapping[str, Any], out: list[str], pad: str, target: str, ns: str
    ) -> None:
        is_map = schema["type"] == "map"
        item = self.name("e")
        key = self.name("k")
        out.append(f"{pad}{target} = {{}}" if is_map else f"{pad}{target} = []")
        out.append(f"{pad}while True:")
        inner = pad + "    "
        self.long(out, inner, "c")
        out += [
            f"{inner}if c == 0:",
            f"{inner}    break",
            f"{inner}if c < 0:",
            f"{inner}    c = -c",
        ]
        self.long(out, inner + "    ", "_")  # the block's size in bytes: not needed
        out.append(f"{inner}for _ in range(c):")
        body = inner + "    "
        if is_map:
            self.value("string", out, body, key, ns)
        self.value(schema["values" if is_map else "items"], out, body, item, ns)
        out.append(
            f"{body}{target}[{key}] = {item}" if is_map else f"{body}{target}.append({item})"
        )

    def record(self, schema: Mapping[str, Any], ns: str) -> str:
        """A function `(b, pos) -> (dict, pos)` for a record: every field, as fastavro gives."""
        found = self.record_funcs.get(id(schema))
        if found is not None:
            return found
        func = self.record_funcs[id(schema)] = self.name("_record")
        inner_ns = self.register(schema, ns)
        out = [f"def {func}(b, pos):", "    size = len(b)"]
        names = []
        for field in schema.get("fields") or ():
            local = self.name("f")
            names.append((str(field["name"]), local))
            self.value(field["type"], out, "    ", local, inner_ns)
        items = ", ".join(f"{name!r}: {local}" for name, local in names)
        out.append(f"    return {{{items}}}, pos")
        self.blocks.append(out)
        return func

    def top(
        self, schema: Mapping[str, Any], compounds: Mapping[str, Mapping[str, str]], cdc: bool
    ) -> str:
        """The top-level function `(b) -> dict`: the fields that are not null, datetimes and
        dates (by `doc`) in ISO form; in a change event (`cdc`) the compounds' nested
        fields likewise (a compound with none of them set is kept as `{}`)."""
        inner_ns = self.register(schema, "")
        out = ["def _top(b):", "    pos = 0", "    size = len(b)", "    out = {}"]
        for n, field in enumerate(schema.get("fields") or ()):
            name = str(field["name"])
            local = self.name("f")
            store = f"out[{name!r}] = {local}"
            if cdc and n == 0:  # the header: a plain record
                self.value(field["type"], out, "    ", local, inner_ns)
                out.append(f"    {store}")
            elif cdc and name in compounds:
                compound = functools.partial(self.compound, kinds=compounds[name])
                self.present(field["type"], compound, out, "    ", local, store, inner_ns)
            else:
                convert = functools.partial(self.converted, kind=_kind(field))
                self.present(field["type"], convert, out, "    ", local, store, inner_ns)
        out.append("    return out")  # trailing bytes are ignored, as fastavro does
        self.blocks.append(out)
        return "_top"

    def present(
        self,
        schema: Any,
        read: Callable[..., None],
        out: list[str],
        pad: str,
        local: str,
        store: str,
        ns: str,
    ) -> None:
        """Code running `store` on a value that is not null (`read` reads one branch)."""
        if not isinstance(schema, list) or len(schema) > _ONE_BYTE_BRANCHES:
            read(schema, out=out, pad=pad, target=local, ns=ns)
            out += [f"{pad}if {local} is not None:", f"{pad}    {store}"]
            return
        out += [f"{pad}i = b[pos]", f"{pad}pos += 1"]
        nulls = [2 * n for n, branch in enumerate(schema) if branch == "null"]
        first = True
        for index, branch in enumerate(schema):
            if branch == "null":
                continue
            out.append(f"{pad}{'if' if first else 'elif'} i == {2 * index}:")
            first = False
            read(branch, out=out, pad=pad + "    ", target=local, ns=ns)
            out.append(f"{pad}    {store}")
        valid = " and ".join(f"i != {n}" for n in nulls) or "True"
        out += [f"{pad}{'if' if first else 'elif'} {valid}:", f"{pad}    raise _ShortError"]

    def converted(
        self, schema: Any, *, kind: str, out: list[str], pad: str, target: str, ns: str
    ) -> None:
        """One value; an int or long of a `DateTime`/`Date` field becomes CometD's string."""
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            schema = self.resolve(schema, ns)
        if isinstance(schema, Mapping) and schema.get("type") in ("int", "long"):
            if "logicalType" in schema:
                raise _UnsupportedError("logical types are converted by fastavro")
            schema = schema["type"]
        if isinstance(schema, list) and kind:  # a union in a union, or one too wide
            raise _UnsupportedError("a converted union outside `present`")
        self.value(schema, out, pad, target, ns)
        if kind and schema in ("int", "long"):
            func = "_iso_datetime" if kind == "DateTime" else "_iso_date"
            out.append(f"{pad}{target} = {func}({target})")

    def compound(
        self,
        schema: Any,
        *,
        kinds: Mapping[str, str],
        out: list[str],
        pad: str,
        target: str,
        ns: str,
    ) -> None:
        """One branch of a compound field: a record's nested fields that are not null,
        converted by kind; another branch is read as it is."""
        if not (isinstance(schema, Mapping) and schema.get("type") == "record"):
            self.value(schema, out, pad, target, ns)
            return
        self.register(schema, ns)
        out.append(f"{pad}{target} = {{}}")
        for field in schema.get("fields") or ():
            key = str(field["name"])
            local = self.name("g")
            convert = functools.partial(self.converted, kind=kinds.get(key, ""))
            self.present(
                field["type"], convert, out, pad, local, f"{target}[{key!r}] = {local}", ns
            )


class _ShortError(Exception):
    """Raised by generated code on bytes that do not fit the schema."""


def compile_reader(
    schema: Mapping[str, Any], compounds: Mapping[str, Mapping[str, str]]
) -> Callable[[bytes], dict[str, Any]] | None:
    """A reader of one schema's payloads (see the module doc), or None if it cannot be one.

    `compounds` maps a change event's compound field names to their nested fields' kinds
    (`SchemaPlan.nested`)."""
    fields = list(schema.get("fields") or ())
    headers = [n for n, f in enumerate(fields) if f.get("name") == "ChangeEventHeader"]
    first_type = fields[0]["type"] if fields else None
    cdc = headers == [0] and isinstance(first_type, Mapping) and first_type.get("type") == "record"
    if headers and not cdc:
        return None
    source = _Source()
    try:
        source.top(schema, compounds, cdc)
    except (_UnsupportedError, KeyError, TypeError, ValueError):
        return None
    # records are emitted after the code that first uses them; all are defined before a call
    text = "\n\n".join("\n".join(block) for block in source.blocks)
    namespace: dict[str, Any] = {
        "_ShortError": _ShortError,
        "_iso_datetime": iso_datetime,
        "_iso_date": iso_date,
        **source.consts,
    }
    exec(compile(text, f"<avro reader {schema.get('name')}>", "exec"), namespace)
    top: Callable[[bytes], dict[str, Any]] = namespace["_top"]

    def read(payload: bytes) -> dict[str, Any]:
        try:
            return top(payload)
        except (_ShortError, IndexError, UnicodeDecodeError, struct.error) as exc:
            raise ValueError("the event payload does not match its schema") from exc

    return read
