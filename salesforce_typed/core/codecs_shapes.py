"""Record decoders compiled for one key order: how a query page decodes near the JSON limit.

Salesforce sends every row of a query page with the same keys (the SELECT list), so a model
decodes a page with one straight-line function per key set instead of a per-key loop: no
plan lookup, tuple unpacking or call per field, a picklist is one dict lookup and a text
field one slot store. A record decoder checks its own row (key count, then each key by
name) and hands any other shape to `other`, so a page needs no per-row shape test. A shape
is compiled on its second sighting (a one-off record never pays for compiling) and at most
`MAX_SHAPES` are kept per class, so memory stays flat whatever shapes arrive. Strict
decoding keeps the checked loop. Compound values (addresses, locations) get the same
treatment per key order.
"""

from __future__ import annotations

import datetime as dt
import keyword
import operator
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MemberDescriptorType
from typing import Any

import attrs

from salesforce_typed.core.codecs import parse_datetime

# JSON key -> (attribute, converter, whether it takes `strict`, picklist value -> member).
Entry = tuple[str, Callable[..., Any] | None, bool, Mapping[Any, Any] | None]
Compiled = Callable[[dict[str, Any]], Any]
CompiledRows = Callable[[list[dict[str, Any]]], Iterator[Any]]

MAX_SHAPES = 32  # per class; past it, new shapes take the loop (never an unbounded cache)
MAX_SEEN = 256  # shapes counted per class before the count starts over
_KEEP_LOCK = threading.Lock()


class Shapes:
    """One class's compiled decoders by key tuple (a row's, and a page generator's), and how
    often other tuples were seen."""

    __slots__ = ("compiled", "pages", "seen")

    def __init__(self) -> None:
        self.compiled: dict[tuple[str, ...], Compiled] = {}
        self.pages: dict[tuple[str, ...], CompiledRows] = {}
        self.seen: dict[tuple[str, ...], int] = {}

    def has_room(self) -> bool:
        return len(self.compiled) < MAX_SHAPES

    def keep(self, keys: tuple[str, ...], fast: tuple[Compiled, CompiledRows]) -> Compiled:
        """Store the decoders just compiled, unless the class is full (threads compiling at
        once checked for room before any stored): the bound holds whatever the timing."""
        with _KEEP_LOCK:
            if len(self.compiled) < MAX_SHAPES and keys not in self.compiled:
                self.compiled[keys], self.pages[keys] = fast
            return self.compiled.get(keys, fast[0])

    def second_sighting(self, keys: tuple[str, ...]) -> bool:
        """True when `keys` was seen before and there is room to compile it."""
        if len(self.compiled) >= MAX_SHAPES:
            return False
        if self.seen.pop(keys, None) is not None:  # one step: threads may share a class
            return True
        if len(self.seen) >= MAX_SEEN:
            self.seen.clear()
        self.seen[keys] = 1
        return False


# parse_datetime inlined: Salesforce's own 28-character form goes straight to the C parser.
_DATETIME = """\
    if {v} is not None:
        try:
            {v} = fi({v}) if len({v}) == 28 and {v}[10] == "T" else pd({v})
        except ValueError:
            {v} = pd({v})"""


def _stores_directly(cls: type, attr: str) -> bool:
    """`o.attr = v` is the slot store itself: a plain slot and no custom __setattr__."""
    if not attr.isidentifier() or keyword.iskeyword(attr):
        return False
    if getattr(cls, "__setattr__", None) is not object.__setattr__:
        return False
    for base in cls.__mro__:
        if attr in base.__dict__:
            return isinstance(base.__dict__[attr], MemberDescriptorType)
    return False


def _store(cls: type, attr: str, expr: str) -> str:
    if _stores_directly(cls, attr):
        return f"    o.{attr} = {expr}"
    return f"    S(o, {attr!r}, {expr})"


def _start(cls: type, keys: tuple[str, ...]) -> tuple[dict[str, Any], list[str], list[str]]:
    """The namespace, the opening lines (values unpacked, the bare object made) and the
    local name of each key's value."""
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "S": object.__setattr__}
    names = [f"v{i}" for i in range(len(keys))]
    lines = ["def decode(data):"]
    if keys:
        lines.append(f"    ({', '.join(names)},) = data.values()")
    lines.append("    o = new(cls)")
    return env, lines, names


def _define(env: dict[str, Any], lines: list[str]) -> Compiled:
    lines.append("    return o")
    exec("\n".join(lines), env)  # attribute names are checked identifiers, keys repr()d
    compiled: Compiled = env["decode"]
    return compiled


def compile_shape(
    cls: type, keys: tuple[str, ...], plan: Mapping[str, Entry], other: Compiled
) -> tuple[Compiled, CompiledRows]:
    """A function decoding a dict whose keys are exactly `keys` (in any order) as `cls`
    (loose mode): what the per-key loop of `SObject.from_dict` does, unrolled. A dict with
    other keys goes to `other`, so a whole page can be mapped over it unchecked. With it, the
    same code as a generator over a page's rows (`_rows_form`): a query's iterator steps it
    instead of calling the row function per row (no call frame made and freed per row)."""
    names = [f"v{i}" for i in range(len(keys))]
    env: dict[str, Any] = {"new": object.__new__, "cls": cls, "S": object.__setattr__}
    env["fi"], env["other"] = dt.datetime.fromisoformat, other
    lines = ["def decode(data):", f"    if len(data) != {len(keys)}:", "        return other(data)"]
    if len(keys) > 1:  # one C call fetches every value: less than a lookup per field
        env["values_of"] = operator.itemgetter(*keys)
        lines += ["    try:", f"        ({', '.join(names)},) = values_of(data)"]
        lines += ["    except KeyError:", "        return other(data)"]
    elif keys:
        lines += ["    try:", f"        {names[0]} = data[{keys[0]!r}]"]
        lines += ["    except KeyError:", "        return other(data)"]
    lines.append("    o = new(cls)")
    extra: list[str] = []
    later: list[tuple[str, str]] = []

    def store(attr: str, expr: str) -> None:
        lines.append(_store(cls, attr, expr))

    for i, (key, v) in enumerate(zip(keys, names, strict=True)):
        entry = plan.get(key)
        if entry is None:
            if key == "attributes":
                store("attributes", v)
            else:
                extra.append(f"{key!r}: {v}")
            continue
        attr, decode, with_strict, members = entry
        if members is not None:  # null and unknown values map to themselves
            env[f"g{i}"] = members.get
            store(attr, f"g{i}({v}, {v})")
        elif decode is None:
            store(attr, v)
        elif decode is parse_datetime and _stores_directly(cls, attr):
            later.append((attr, v))  # parsed on first read
        elif decode is parse_datetime:  # its fast path, without the call
            env["pd"] = parse_datetime
            lines.append(_DATETIME.format(v=v))
            store(attr, v)
        else:
            env[f"d{i}"] = decode
            call = f"d{i}({v}, False)" if with_strict else f"d{i}({v})"
            store(attr, f"None if {v} is None else {call}")
    if later:
        lines += _lazy_datetimes(later)
    if extra:  # else `extra_fields` is made on first read (SObject.__getattr__)
        store("extra_fields", "{" + ", ".join(extra) + "}")
    decode = _define(env, lines)
    exec(_rows_form(lines), env)  # the same lines: nothing in them but what was vetted above
    rows: CompiledRows = env["decode_rows"]
    return decode, rows


def _rows_form(lines: list[str]) -> str:
    """The row function's source as a generator over `rows`: each `return X` yields X (the
    fallback to `other` then goes on to the next row)."""
    out = ["def decode_rows(rows):", "    for data in rows:"]
    for line in lines[1:]:
        text = line.lstrip()
        pad = " " * (len(line) - len(text) + 4)
        if text.startswith("return "):
            out.append(f"{pad}yield {text[len('return ') :]}")
            if text != "return o":
                out.append(f"{pad}continue")
        else:
            out.append(line and "    " + line)
    return "\n".join(out)


def _lazy_datetimes(later: list[tuple[str, str]]) -> list[str]:
    """Datetimes are kept as sent and parsed on first read (`SObject.__getattr__`): most
    reads of a query never look at CreatedDate. No test of the value here (a null, another
    ISO form, a malformed string): that is the reader's work, so a row pays two slot
    stores, and one value is stored bare, not in a tuple (`models._Pending`)."""
    names = tuple(attr for attr, _ in later)
    values = later[0][1] if len(later) == 1 else f"({', '.join(v for _, v in later)},)"
    return [f"    o._pending_attrs = {names!r}", f"    o._pending_values = {values}"]


_COMPOUND_BOOKKEEPING = frozenset({"extra_fields", "_present", "_capitalized"})


def compound_decoder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """`cls.from_dict` for a compound value (Address, Location), compiled per key order.

    A query of 2,000 Accounts decodes 4,000 addresses, all with the same keys: the first
    decodes the usual way and serves as the pattern (which components are set, the casing
    read), the others are slot stores. Shapes with keys the class does not name stay on
    `from_dict`.
    """
    names = frozenset(a.name for a in attrs.fields(cls)) - _COMPOUND_BOOKKEEPING
    compiled: dict[tuple[str, ...], Compiled] = {}
    from_dict = cls.from_dict  # type: ignore[attr-defined]

    def decode(value: dict[str, Any]) -> Any:
        if type(value) is dict:
            keys = tuple(value)
            fast = compiled.get(keys)
            if fast is not None:
                return fast(value)
            if len(compiled) < MAX_SHAPES and names.issuperset(keys):
                example = from_dict(value)
                pattern = _compile_compound(cls, keys, names, example)
                if pattern is not None:
                    compiled[keys] = pattern
                return example
        return from_dict(value)

    return decode


def _compile_compound(
    cls: type, keys: tuple[str, ...], names: frozenset[str], example: Any
) -> Compiled | None:
    absent = sorted(names.difference(keys))
    if example.extra_fields or any(getattr(example, n) is not None for n in absent):
        return None  # not the plain shape this pattern copies
    env, lines, values = _start(cls, keys)
    env["P"], env["C"] = example._present, example._capitalized
    stores = [*zip(keys, values, strict=True), *((n, "None") for n in absent)]
    stores += [("extra_fields", "{}"), ("_present", "P"), ("_capitalized", "C")]
    lines += [_store(cls, attr, expr) for attr, expr in stores]
    return _define(env, lines)
