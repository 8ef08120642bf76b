"""The standard catalog corrected by recorded real describes: where one exists, it wins.

The TOML catalog is written from documentation; a describe recorded from a real org is what
Salesforce actually serves (flags, defaults, picklist labels, child relationships). For each
object with a recording, its standard fields replace the TOML's: fields the org does not
have are dropped, fields the TOML missed are added. Custom (`__c`) fields are the recording
org's own and stay out (the recordings scrubbed some `custom` flags, so the name decides
too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from .errors import CodegenError
from .ir import SchemaDef, SObjectDef
from .jsonfile import read_json, want_dict, want_list
from .load_describe import sobject_from_describe

DESCRIBES = Path(__file__).resolve().parents[2] / "shared/realdata/fixtures/rest/cumulusci/describe"
FACT_OBJECTS = (
    "Account",
    "Contact",
    "Case",
    "Event",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
)


# describeGlobal entry key -> SObjectDef attribute: the object flags an entry states.
_GLOBAL_FLAGS = {
    "createable": "createable",
    "updateable": "updateable",
    "deletable": "deletable",
    "undeletable": "undeletable",
    "queryable": "queryable",
    "searchable": "searchable",
    "triggerable": "triggerable",
    "mergeable": "mergeable",
    "feedEnabled": "feed_enabled",
    "mruEnabled": "mru_enabled",
    "layoutable": "layoutable",
    "deepCloneable": "deep_cloneable",
}


@attrs.frozen
class Facts:
    """What the recordings say: whole describes, and describeGlobal's object flags."""

    describes: dict[str, SObjectDef]
    flags: dict[str, dict[str, bool]]
    sha256: dict[str, str]  # file name -> sha256, pinned in inputs.lock


def _global_flags(folder: Path, shas: dict[str, str]) -> dict[str, dict[str, bool]]:
    path = folder / "describeGlobal.json"
    doc, shas[path.name] = read_json(path)
    flags = {}
    for i, entry in enumerate(
        want_list(want_dict(doc, path.name, "$").get("sobjects"), path.name, "$.sobjects")
    ):
        entry = want_dict(entry, path.name, f"$.sobjects[{i}]")
        flags[str(entry.get("name"))] = {
            attr: entry[key]
            for key, attr in _GLOBAL_FLAGS.items()
            if isinstance(entry.get(key), bool)
        }
    return flags


def load_facts(folder: Path = DESCRIBES) -> Facts:
    """The recorded describes and describeGlobal, with each file's sha256."""
    objects: dict[str, SObjectDef] = {}
    shas: dict[str, str] = {}
    for name in FACT_OBJECTS:
        path = folder / f"{name}_describe.json"
        if not path.is_file():
            raise CodegenError("recorded describe missing", source=str(path))
        doc, sha = read_json(path)
        obj = sobject_from_describe(doc, path.name)
        if obj.name != name:
            raise CodegenError(f"describes {obj.name}, not {name}", source=path.name)
        objects[name] = obj
        shas[path.name] = sha
    return Facts(objects, _global_flags(folder, shas), shas)


def _standard(real: SObjectDef, catalog_names: set[str], cdc: bool) -> SObjectDef:
    return attrs.evolve(
        real,
        cdc=cdc,
        fields=tuple(f for f in real.fields if not f.custom and not f.name.endswith("__c")),
        child_relationships=tuple(
            c for c in real.child_relationships if c.child_sobject in catalog_names
        ),
    )


def _corrected(obj: SObjectDef, facts: Facts, names: set[str]) -> SObjectDef:
    real = facts.describes.get(obj.name)
    if real is not None:
        return _standard(real, names, obj.cdc)
    # No describe recorded: describeGlobal's flags at least (Campaign, User, ...).
    flags: dict[str, Any] = facts.flags.get(obj.name, {})
    return attrs.evolve(obj, **flags)


def with_facts(catalog: SchemaDef, facts: Facts) -> SchemaDef:
    """`catalog` with every object a recorded describe has replaced by its standard part,
    and the object flags describeGlobal states for the rest.

    An object only the recordings have joins the catalog (without a ChangeEvent type).
    """
    names = set(catalog.names()) | set(facts.describes)
    merged = [_corrected(o, facts, names) for o in catalog.sobjects]
    merged += [
        _standard(r, names, False) for n, r in facts.describes.items() if catalog.get(n) is None
    ]
    merged.sort(key=lambda s: s.name)
    return attrs.evolve(catalog, sobjects=tuple(merged))
