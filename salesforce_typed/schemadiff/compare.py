"""One package snapshot against one org's objects -> a `DiffResult`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .changes import diff
from .report import DiffResult
from .snapshot import ObjectSnap, Snapshot, fingerprint


def compare(
    name: str,
    package: Snapshot,
    org: Mapping[str, ObjectSnap],
    *,
    source: str,
    listed: Iterable[str] = (),
    api_version: str = "",
) -> DiffResult:
    """`listed` adds object names the org has but were not described (new objects)."""
    objects = dict(org)
    for extra in listed:
        if not extra.endswith("ChangeEvent"):  # derived by the generator, never compared
            objects.setdefault(extra, ObjectSnap(name=extra, fields={}))
    theirs = Snapshot(objects=objects)
    mine = package.computed_fingerprint()
    return DiffResult(
        package=name,
        api_version=api_version or package.api_version,
        source=source,
        changes=tuple(diff(package, theirs)),
        package_fingerprint=mine,
        org_fingerprint=fingerprint(o for n, o in objects.items() if n in package.objects),
        tampered=bool(package.fingerprint) and package.fingerprint != mine,
    )
