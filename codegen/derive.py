"""IR-to-IR steps: overlaying describe facts on a spec, and deriving ChangeEvent types."""

from __future__ import annotations

import attrs

from .ir import FieldDef, SchemaDef, SObjectDef

# CDC payload shape: address components arrive nested in the compound field, and a
# person's name parts nested in `Name`.
_PERSON_PARTS = frozenset({"Salutation", "FirstName", "MiddleName", "LastName", "Suffix"})


def overlay(base: SchemaDef, extra: SchemaDef) -> SchemaDef:
    """`base` (a spec) with each object `extra` (describes) knows replaced by the richer one.

    Fields only the spec lists are kept, so a model reads everything the org may send.
    """
    rich = {s.name: s for s in extra.sobjects}
    merged = []
    for obj in base.sobjects:
        better = rich.pop(obj.name, None)
        if better is None:
            merged.append(obj)
            continue
        known = {f.name for f in better.fields}
        kept = tuple(f for f in obj.fields if f.name not in known)
        merged.append(attrs.evolve(better, fields=better.fields + kept, cdc=obj.cdc or better.cdc))
    merged.extend(rich.values())
    merged.sort(key=lambda s: s.name)
    return attrs.evolve(
        base,
        sobjects=tuple(merged),
        source=f"{base.source}+{extra.source}",
        source_sha256=f"{base.source_sha256[:32]}{extra.source_sha256[:32]}",
    )


def change_event_name(name: str) -> str:
    """`Account` -> `AccountChangeEvent`; `Invoice__c` -> `Invoice__ChangeEvent`."""
    return name[:-1] + "ChangeEvent" if name.endswith("__c") else name + "ChangeEvent"


def change_event_of(obj: SObjectDef) -> SObjectDef:
    person = {"FirstName", "LastName"} <= {f.name for f in obj.fields}
    fields: list[FieldDef] = [
        FieldDef(name="ReplayId", type="string", label="Replay ID"),
        FieldDef(name="ChangeEventHeader", type="changeEventHeader", label="Header"),
    ]
    for f in obj.fields:
        # a field naming itself as its compound (Account.Name in real describes) is no part
        part = f.compound_field_name not in (None, f.name)
        if part or (person and f.name in _PERSON_PARTS):
            continue
        ftype = "personName" if person and f.name == "Name" else f.type
        fields.append(
            attrs.evolve(f, type=ftype, createable=False, updateable=False, relationship_name=None)
        )
    return SObjectDef(
        name=change_event_name(obj.name),
        label=f"{obj.label or obj.name} Change Event",
        custom=obj.custom,
        createable=False,
        updateable=False,
        deletable=False,
        searchable=False,
        triggerable=False,
        fields=tuple(fields),
    )


def with_change_events(schema: SchemaDef) -> SchemaDef:
    names = {s.name for s in schema.sobjects}
    added = [
        change_event_of(s)
        for s in schema.sobjects
        if s.cdc and change_event_name(s.name) not in names
    ]
    if not added:
        return schema
    return attrs.evolve(
        schema, sobjects=tuple(sorted(schema.sobjects + tuple(added), key=lambda s: s.name))
    )
