"""Bind placeholders (`:name`): which a query holds, and the query with stand-in literals.

The client binds `:name` from `params` before sending (`rest.soql.bind`), so the parser never
sees one; to parse the text the checker puts a literal of the right shape in each place
(`('')` after IN/INCLUDES/EXCLUDES, `1` after LIMIT/OFFSET, `''` elsewhere) and keeps a map
back to the original columns.
"""

from __future__ import annotations

import bisect
import re

import attrs

from salesforce_typed.rest.soql import _placeholders

_BEFORE = re.compile(r"(\w+)\s*$")
_LISTS = frozenset({"IN", "INCLUDES", "EXCLUDES"})
_INTS = frozenset({"LIMIT", "OFFSET"})


@attrs.frozen
class Bound:
    """`text` with stand-ins; `names` in order of first use; offsets map back to `original`."""

    original: str
    text: str
    names: tuple[str, ...]
    firsts: tuple[tuple[int, int], ...]  # 1-based (line, column) of each name's first use
    # (offset in text just past a stand-in, how much longer the text is from there on)
    shifts: tuple[tuple[int, int], ...]
    # 1-based (line, column) in `text` of each stand-in literal: its value is not known
    stand_ins: frozenset[tuple[int, int]] = frozenset()

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """1-based (line, column) in `text` -> the same place in `original`."""
        starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        offset = starts[min(line, len(starts)) - 1] + column - 1
        index = bisect.bisect_right([end for end, _ in self.shifts], offset)
        if index:
            offset -= self.shifts[index - 1][1]
        before = self.original[: max(offset, 0)]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def stand_in(text_before: str) -> str:
    match = _BEFORE.search(text_before)
    word = match.group(1).upper() if match else ""
    if word in _LISTS:
        return "('')"
    if word in _INTS:
        return "1"
    return "''"


def substitute(soql: str) -> Bound:
    """The placeholders of `soql` and a parseable copy of it."""
    out: list[str] = []
    shifts: list[tuple[int, int]] = []
    names: list[str] = []
    firsts: list[tuple[int, int]] = []
    stand_ins: set[tuple[int, int]] = set()
    last = 0
    delta = 0
    for match in _placeholders(soql, strict=False):
        out.append(soql[last : match.start()])
        literal = stand_in(soql[: match.start()])
        done = "".join(out) + ("(" if literal.startswith("(") else "")
        stand_ins.add((done.count("\n") + 1, len(done) - (done.rfind("\n") + 1) + 1))
        out.append(literal)
        delta += len(literal) - len(match.group())
        shifts.append((match.start() + delta + len(match.group()), delta))
        last = match.end()
        name = match.group("name")
        if name not in names:
            names.append(name)
            before = soql[: match.start()]
            firsts.append((before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1))
    out.append(soql[last:])
    text = "".join(out)
    return Bound(soql, text, tuple(names), tuple(firsts), tuple(shifts), frozenset(stand_ins))
