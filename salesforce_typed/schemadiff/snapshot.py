"""The facts schema drift is judged on, one small frozen record per field and per object.

Both sides of a diff are reduced to these: a generated package (its FieldInfo tables) and a
live org or saved describes (through the generator's IR, so both read describe alike). The
fingerprint hashes exactly these facts, so a package and an org with equal fingerprints have
no drift at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs


@attrs.frozen(kw_only=True, slots=True)
class FieldSnap:
    name: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    restricted: bool = False
    # (value, active) in describe order; only for picklists and multipicklists.
    picklist: tuple[tuple[str, bool], ...] = ()

    @property
    def required(self) -> bool:
        """Inserts must set it: not nillable, createable, no default (checkboxes default)."""
        return (
            not self.nillable
            and self.createable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )

    def as_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data["picklist"] = [list(p) for p in self.picklist]
        return data


@attrs.frozen(kw_only=True, slots=True)
class ObjectSnap:
    name: str
    fields: Mapping[str, FieldSnap]


@attrs.frozen(kw_only=True, slots=True)
class Snapshot:
    """Objects by API name; `api_version` and `selection` come from a package's _schema."""

    objects: Mapping[str, ObjectSnap]
    api_version: str = ""
    selection: tuple[str, ...] = ()
    fingerprint: str = ""  # as recorded (a package); empty when computed on demand

    def computed_fingerprint(self) -> str:
        return fingerprint(self.objects.values())


def _skipped(name: str) -> bool:
    """Change events are derived from their entity by the generator: never compared."""
    return name.endswith("ChangeEvent")


def fingerprint(objects: Iterable[ObjectSnap]) -> str:
    """sha256 of the compared facts in a canonical order (names sorted)."""
    canon = {
        o.name: {n: o.fields[n].as_json() for n in sorted(o.fields)}
        for o in sorted(objects, key=lambda o: o.name)
    }
    text = json.dumps(canon, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _field(f: Any, values: Iterable[tuple[str, bool]]) -> FieldSnap:
    """A FieldDef or a FieldInfo (the same attribute names) with its (value, active) pairs."""
    return FieldSnap(
        name=f.name,
        type=f.type,
        length=f.length,
        precision=f.precision,
        scale=f.scale,
        nillable=f.nillable,
        createable=f.createable,
        updateable=f.updateable,
        defaulted_on_create=f.defaulted_on_create,
        restricted=f.restricted_picklist,
        picklist=tuple(values) if f.type in ("picklist", "multipicklist") else (),
    )


def objects_from_ir(sobjects: Iterable[Any]) -> dict[str, ObjectSnap]:
    """The generator's IR (codegen.ir.SObjectDef, duck-typed: the runtime never imports
    codegen) -> snapshots; change events left out."""
    found: dict[str, ObjectSnap] = {}
    for obj in sobjects:
        if _skipped(obj.name):
            continue
        fields = {}
        for f in obj.fields:
            values = ((p.value, p.active) for p in f.picklist_values)
            fields[f.name] = _field(f, values)
        found[obj.name] = ObjectSnap(name=obj.name, fields=fields)
    return found


def objects_from_models(models: Iterable[Any]) -> dict[str, ObjectSnap]:
    """Generated model classes (their `__sf_fields__` FieldInfo tables) -> snapshots."""
    found: dict[str, ObjectSnap] = {}
    for model in models:
        name = str(model.__sobject_type__)
        if _skipped(name):
            continue
        fields = {}
        for f in model.__sf_fields__:
            inactive = set(f.inactive_picklist_values)
            values = ((v, v not in inactive) for v in f.picklist_values)
            fields[f.name] = _field(f, values)
        found[name] = ObjectSnap(name=name, fields=fields)
    return found
