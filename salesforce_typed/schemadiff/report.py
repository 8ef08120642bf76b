"""A diff as text (grouped by object, most severe first) or JSON, and the CI exit status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from .changes import Change, Severity


@attrs.frozen(kw_only=True, slots=True)
class DiffResult:
    package: str
    api_version: str
    source: str  # where the org side came from: an instance URL or a folder
    changes: tuple[Change, ...]
    package_fingerprint: str
    org_fingerprint: str
    tampered: bool = False  # the package's facts no longer match its recorded fingerprint

    def counts(self) -> dict[str, int]:
        return {s.label: sum(c.severity is s for c in self.changes) for s in reversed(Severity)}

    def fails(self, fail_on: Severity) -> bool:
        """True when any change is at or above `fail_on` (exit status 1)."""
        return any(c.severity >= fail_on for c in self.changes)


def as_json(result: DiffResult, fail_on: Severity) -> dict[str, Any]:
    return {
        "package": result.package,
        "api_version": result.api_version,
        "source": result.source,
        "fingerprint": {"package": result.package_fingerprint, "org": result.org_fingerprint},
        "package_edited": result.tampered,
        "fail_on": fail_on.label,
        "drift": result.fails(fail_on),
        "summary": result.counts(),
        "changes": [c.as_json() for c in result.changes],
    }


def json_text(result: DiffResult, fail_on: Severity) -> str:
    return json.dumps(as_json(result, fail_on), indent=2) + "\n"


def text(result: DiffResult, fail_on: Severity) -> str:
    """Readable lines: a summary, then each object's changes, most severe object first."""
    counts = result.counts()
    head = (
        f"schema diff: {result.package} (API {result.api_version or '?'}) vs {result.source}: "
        + ", ".join(f"{n} {label}" for label, n in counts.items())
    )
    lines = [head]
    if result.tampered:
        lines.append(
            "note: the package's models no longer match its recorded fingerprint (edited by hand?)"
        )
    if not result.changes:
        lines.append("no drift")
    new = [c.object for c in result.changes if c.kind == "object-added"]
    rest = [c for c in result.changes if c.kind != "object-added"]
    for obj, group in _by_object(rest):
        lines.append("")
        lines.append(obj)
        for c in group:
            where = f"{c.field}: " if c.field else ""
            lines.append(f"  {c.severity.label.upper():8} {where}{c.message}")
    if new:  # one line: an org can have hundreds of objects the package never selected
        lines += ["", f"new objects ({len(new)}): {', '.join(new)}"]
    verdict = "FAIL" if result.fails(fail_on) else "ok"
    lines.append("")
    lines.append(f"{verdict} (fail on {fail_on.label} and above)")
    return "\n".join(lines) + "\n"


def _by_object(changes: Sequence[Change]) -> list[tuple[str, list[Change]]]:
    groups: dict[str, list[Change]] = {}
    for c in changes:
        groups.setdefault(c.object, []).append(c)
    return sorted(groups.items(), key=lambda g: (-max(c.severity for c in g[1]), g[0]))
