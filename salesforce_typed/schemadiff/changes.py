"""Package vs org: every difference as a `Change`, graded by what it breaks.

The grading rule: **critical** when code that type-checks against the package can now fail
at Salesforce (a write refused, a field or object gone); **warning** when it keeps working
but may see what the package does not describe (a null, a new value); **info** when the org
only grew.

| change                                        | severity |
|-----------------------------------------------|----------|
| object removed                                | critical |
| object added (matching the package's objects) | info     |
| field removed                                 | critical |
| field added, required on insert               | critical |
| field added                                   | info     |
| type changed                                  | critical |
| length / precision shrank                     | critical |
| scale shrank (values are rounded)             | warning  |
| length / precision / scale grew               | info     |
| became required on insert (non-nillable)      | critical |
| became non-nillable, not writable             | info     |
| became nillable (reads may see null)          | warning  |
| lost createable / updateable                  | critical |
| gained createable / updateable                | info     |
| restricted picklist lost a value (or inactive)| critical |
| unrestricted picklist lost a value            | warning  |
| restricted picklist gained a value            | warning  |
| unrestricted picklist gained a value          | info     |
| picklist became restricted                    | warning  |
| picklist became unrestricted                  | info     |
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterator
from typing import Any

import attrs

from .snapshot import FieldSnap, ObjectSnap, Snapshot


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@attrs.frozen(kw_only=True, slots=True)
class Change:
    severity: Severity
    kind: str  # e.g. field-removed, type-changed, picklist-value-added
    object: str
    message: str
    field: str | None = None
    old: Any = None
    new: Any = None

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.label,
            "kind": self.kind,
            "object": self.object,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "message": self.message,
        }


_C, _W, _I = Severity.CRITICAL, Severity.WARNING, Severity.INFO


def diff(package: Snapshot, org: Snapshot) -> list[Change]:
    """What changed from `package` (what the code was generated against) to `org`.

    An org object the package lacks counts only when the package's selection (its
    `--objects` globs; none: every object) would have taken it.
    """
    changes: list[Change] = []
    for name in sorted(package.objects):
        mine = package.objects[name]
        theirs = org.objects.get(name)
        if theirs is None:
            changes.append(
                Change(severity=_C, kind="object-removed", object=name, message="object removed")
            )
            continue
        changes.extend(_object(mine, theirs))
    for name in sorted(set(org.objects) - set(package.objects)):
        if not package.selection or any(fnmatch.fnmatchcase(name, p) for p in package.selection):
            changes.append(
                Change(severity=_I, kind="object-added", object=name, message="new object")
            )
    return sorted(changes, key=lambda c: (-c.severity, c.object, c.field or "", c.kind))


def _object(mine: ObjectSnap, theirs: ObjectSnap) -> Iterator[Change]:
    obj = mine.name
    for name in sorted(mine.fields):
        new = theirs.fields.get(name)
        if new is None:
            yield Change(
                severity=_C, kind="field-removed", object=obj, field=name, message="field removed"
            )
        else:
            yield from _field(obj, mine.fields[name], new)
    for name in sorted(set(theirs.fields) - set(mine.fields)):
        f = theirs.fields[name]
        if f.required:
            yield Change(
                severity=_C,
                kind="field-added",
                object=obj,
                field=name,
                new=f.type,
                message=f"new required field ({f.type}): inserts without it fail",
            )
        else:
            yield Change(
                severity=_I,
                kind="field-added",
                object=obj,
                field=name,
                new=f.type,
                message=f"new field ({f.type})",
            )


def _field(obj: str, old: FieldSnap, new: FieldSnap) -> Iterator[Change]:
    def change(severity: Severity, kind: str, message: str, was: Any, now: Any) -> Change:
        return Change(
            severity=severity,
            kind=kind,
            object=obj,
            field=old.name,
            old=was,
            new=now,
            message=message,
        )

    if old.type != new.type:
        yield change(_C, "type-changed", f"type {old.type} -> {new.type}", old.type, new.type)
        return  # sizes and values of another type say nothing more
    for size, shrink in (("length", _C), ("precision", _C), ("scale", _W)):
        was, now = getattr(old, size), getattr(new, size)
        if now < was:
            yield change(shrink, f"{size}-shrank", f"{size} {was} -> {now}", was, now)
        elif now > was:
            yield change(_I, f"{size}-grew", f"{size} {was} -> {now}", was, now)
    if old.required != new.required and new.required:
        yield change(_C, "became-required", "now required on insert", False, True)
    elif old.nillable and not new.nillable:
        yield change(_I, "became-non-nillable", "never null now", True, False)
    if new.nillable and not old.nillable:
        yield change(_W, "became-nillable", "may be null now", False, True)
    for flag in ("createable", "updateable"):
        was, now = getattr(old, flag), getattr(new, flag)
        if was and not now:
            yield change(_C, f"lost-{flag}", f"no longer {flag}", True, False)
        elif now and not was:
            yield change(_I, f"gained-{flag}", f"now {flag}", False, True)
    yield from _picklist(change, old, new)


def _picklist(change: Any, old: FieldSnap, new: FieldSnap) -> Iterator[Change]:
    if old.restricted != new.restricted:
        if new.restricted:
            yield change(_W, "became-restricted", "picklist now restricted", False, True)
        else:
            yield change(_I, "became-unrestricted", "picklist no longer restricted", True, False)
    was, now = dict(old.picklist), dict(new.picklist)
    kind = "restricted picklist" if new.restricted else "picklist"
    lost = _C if old.restricted and new.restricted else _W
    gained = _W if new.restricted else _I
    for value in was:
        if value not in now:
            yield change(
                lost, "picklist-value-removed", f"{kind} value {value!r} removed", value, None
            )
        elif was[value] and not now[value]:
            yield change(
                lost, "picklist-value-inactive", f"{kind} value {value!r} inactive", value, value
            )
        elif now[value] and not was[value]:
            yield change(
                gained,
                "picklist-value-active",
                f"{kind} value {value!r} active again",
                value,
                value,
            )
    for value in now:
        if value not in was:
            yield change(
                gained, "picklist-value-added", f"{kind} value {value!r} added", None, value
            )
