"""Schema drift: a generated package against a live org or saved describes, graded.

`package_snapshot` reads what the package was generated against, `diff` grades what
changed (the table is in changes.py), `report` prints it for people and CI.
"""

from __future__ import annotations

from .changes import Change, Severity, diff
from .compare import compare
from .package import import_package, package_snapshot
from .report import DiffResult, json_text, text
from .snapshot import FieldSnap, ObjectSnap, Snapshot, fingerprint, objects_from_ir

__all__ = [
    "Change",
    "DiffResult",
    "FieldSnap",
    "ObjectSnap",
    "Severity",
    "Snapshot",
    "compare",
    "diff",
    "fingerprint",
    "import_package",
    "json_text",
    "objects_from_ir",
    "package_snapshot",
    "text",
]
