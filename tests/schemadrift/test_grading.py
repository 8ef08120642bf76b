"""The grading table of schemadiff.changes, one row at a time, on hand-made snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from salesforce_typed.schemadiff import (
    FieldSnap,
    ObjectSnap,
    Severity,
    Snapshot,
    compare,
    diff,
    text,
)

C, W, N = Severity.CRITICAL, Severity.WARNING, Severity.INFO
BASE = FieldSnap(name="F__c", type="string", length=80, precision=0, scale=0)
PICK = FieldSnap(
    name="F__c", type="picklist", length=255, restricted=True, picklist=(("A", True), ("B", True))
)


def _snap(*fields: FieldSnap, name: str = "Obj__c", selection: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(
        objects={name: ObjectSnap(name=name, fields={f.name: f for f in fields})},
        selection=selection,
    )


def _one(old: FieldSnap, **new: Any) -> tuple[Severity, str]:
    changes = diff(
        _snap(old),
        _snap(FieldSnap(**{**old.as_json(), **new, "picklist": new.get("picklist", old.picklist)})),
    )
    assert len(changes) == 1, changes
    return changes[0].severity, changes[0].kind


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (BASE, {"type": "textarea"}, (C, "type-changed")),
        (BASE, {"length": 40}, (C, "length-shrank")),
        (BASE, {"length": 255}, (N, "length-grew")),
        (
            BASE.__class__(name="N", type="double", precision=18, scale=2),
            {"precision": 10},
            (C, "precision-shrank"),
        ),
        (
            BASE.__class__(name="N", type="double", precision=18, scale=2),
            {"scale": 0},
            (W, "scale-shrank"),
        ),
        (BASE, {"nillable": False}, (C, "became-required")),
        (
            BASE.__class__(name="R", type="string", createable=False, updateable=False),
            {"nillable": False},
            (N, "became-non-nillable"),
        ),
        (
            BASE.__class__(name="R", type="string", nillable=False),
            {"nillable": True},
            (W, "became-nillable"),
        ),
        (BASE, {"updateable": False}, (C, "lost-updateable")),
        (
            BASE.__class__(name="R", type="string", createable=False),
            {"createable": True},
            (N, "gained-createable"),
        ),
        (PICK, {"picklist": (("A", True),)}, (C, "picklist-value-removed")),
        (PICK, {"picklist": (("A", True), ("B", False))}, (C, "picklist-value-inactive")),
        (PICK, {"picklist": (("A", True), ("B", True), ("C", True))}, (W, "picklist-value-added")),
        (PICK, {"restricted": False}, (N, "became-unrestricted")),
    ],
)
def test_each_row_of_the_table(old: FieldSnap, new: dict[str, Any], expected: Any) -> None:
    assert _one(old, **new) == expected


def test_unrestricted_picklists_grade_one_step_lower() -> None:
    loose = FieldSnap(**{**PICK.as_json(), "restricted": False, "picklist": PICK.picklist})
    assert _one(loose, picklist=(("A", True),)) == (W, "picklist-value-removed")
    assert _one(loose, picklist=(*PICK.picklist, ("C", True))) == (N, "picklist-value-added")
    changes = diff(_snap(loose), _snap(PICK))
    assert [(c.severity, c.kind) for c in changes] == [(W, "became-restricted")]


def test_objects_and_fields_added_and_removed() -> None:
    required = FieldSnap(name="Must__c", type="string", nillable=False)
    package = _snap(BASE, selection=("Obj__c", "New*"))
    org = Snapshot(
        objects={
            "Obj__c": ObjectSnap(name="Obj__c", fields={"Must__c": required}),
            "NewThing__c": ObjectSnap(name="NewThing__c", fields={}),
            "Unselected__c": ObjectSnap(name="Unselected__c", fields={}),
        }
    )
    got = [(c.severity, c.kind, c.object, c.field) for c in diff(package, org)]
    assert got == [
        (C, "field-removed", "Obj__c", "F__c"),
        (C, "field-added", "Obj__c", "Must__c"),  # required on insert: inserts now fail
        (N, "object-added", "NewThing__c", None),
    ]
    assert [c.kind for c in diff(package, Snapshot(objects={}))] == ["object-removed"]


def test_the_same_snapshot_has_no_drift_and_one_fingerprint() -> None:
    snap = _snap(BASE, PICK.__class__(**{**PICK.as_json(), "name": "P", "picklist": PICK.picklist}))
    assert diff(snap, snap) == []
    assert (
        snap.computed_fingerprint()
        == _snap(*reversed(list(snap.objects["Obj__c"].fields.values()))).computed_fingerprint()
    )


def test_new_objects_are_one_line_of_the_text_report() -> None:
    package = _snap(BASE)
    org = Snapshot(
        objects={
            **package.objects,
            **{n: ObjectSnap(name=n, fields={}) for n in ("B__c", "A__c")},
        }
    )
    result = compare("pkg", package, org.objects, source="here")
    shown = text(result, Severity.CRITICAL).splitlines()
    assert shown[0] == "schema diff: pkg (API ?) vs here: 0 critical, 0 warning, 2 info"
    assert shown[-3:] == ["new objects (2): A__c, B__c", "", "ok (fail on critical and above)"]
    assert text(result, Severity.INFO).splitlines()[-1] == "FAIL (fail on info and above)"
