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

import attrs

from .errors import CodegenError
from .ir import SchemaDef, SObjectDef
from .jsonfile import read_json
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


def load_facts(folder: Path = DESCRIBES) -> tuple[dict[str, SObjectDef], dict[str, str]]:
    """The recorded describes by object, and each file's sha256 (pinned in inputs.lock)."""
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
    return objects, shas


def _standard(real: SObjectDef, catalog_names: set[str], cdc: bool) -> SObjectDef:
    return attrs.evolve(
        real,
        cdc=cdc,
        fields=tuple(f for f in real.fields if not f.custom and not f.name.endswith("__c")),
        child_relationships=tuple(
            c for c in real.child_relationships if c.child_sobject in catalog_names
        ),
    )


def with_facts(catalog: SchemaDef, facts: dict[str, SObjectDef]) -> SchemaDef:
    """`catalog` with every object `facts` has replaced by its recorded standard part.

    An object only the recordings have joins the catalog (without a ChangeEvent type).
    """
    names = set(catalog.names()) | set(facts)
    merged = [
        _standard(facts[o.name], names, o.cdc) if o.name in facts else o for o in catalog.sobjects
    ]
    merged += [_standard(r, names, False) for n, r in facts.items() if catalog.get(n) is None]
    merged.sort(key=lambda s: s.name)
    return attrs.evolve(catalog, sobjects=tuple(merged))
