"""The fake org's schema: sObject describes by name, the way Salesforce serves them.

Describes are the one source: describe endpoints serve them, validation reads their field
flags, and the SOQL engine's schema is derived from them. Loaded from the generated
standard package, from any generated per-org package, or from describe JSON files.
"""

from __future__ import annotations

import copy
import importlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from salesforce_typed.core.models import SObject
from salesforce_typed.testing.org.describe import sobject_describe
from salesforce_typed.testing.soql import ObjectDef, Schema

STANDARD_PACKAGE = "salesforce_typed_std"
# Every key of a real describeGlobal entry but `urls` (describeGlobal.json, API 52.0).
_GLOBAL_KEYS = (
    "activateable",
    "associateEntityType",
    "associateParentEntity",
    "createable",
    "custom",
    "customSetting",
    "deepCloneable",
    "deletable",
    "deprecatedAndHidden",
    "feedEnabled",
    "hasSubtypes",
    "isInterface",
    "isSubtype",
    "keyPrefix",
    "label",
    "labelPlural",
    "layoutable",
    "mergeable",
    "mruEnabled",
    "name",
    "queryable",
    "replicateable",
    "retrieveable",
    "searchable",
    "triggerable",
    "undeletable",
    "updateable",
)
# The describe urls describeGlobal repeats (not defaultValues or the ui* pages).
_GLOBAL_URLS = frozenset(
    {"compactLayouts", "approvalLayouts", "listviews", "quickActions", "layouts"}
)


class OrgSchema:
    def __init__(self) -> None:
        self._describes: dict[str, dict[str, Any]] = {}
        self._index: dict[str, str] = {}
        self._prefixes: dict[str, str] = {}
        self._soql: Schema | None = None
        self._next_custom_prefix = 0
        self.modified_at = time.time()  # for If-Modified-Since on describes

    # -- loading ---------------------------------------------------------------------------

    def add_describe(self, describe: dict[str, Any]) -> str:
        """Add or replace one sObject describe; returns its API name."""
        doc = copy.deepcopy(describe)
        name = str(doc["name"])
        if not doc.get("keyPrefix"):
            doc["keyPrefix"] = self._custom_prefix()
        self._describes[name] = doc
        self._index[name.lower()] = name
        self._prefixes[str(doc["keyPrefix"])] = name
        self._soql = None
        self.modified_at = time.time()
        return name

    def add_model(self, model: type[SObject]) -> str:
        return self.add_describe(sobject_describe(model))

    def add_package(self, package: str) -> list[str]:
        """Every sObject model of a generated package (ChangeEvent types are not sObjects)."""
        module = importlib.import_module(package)
        added = []
        for name in getattr(module, "SOBJECTS", ()):
            model = getattr(module, name)
            if isinstance(model, type) and issubclass(model, SObject):
                if model.__sobject_type__.endswith("ChangeEvent") and hasattr(
                    model, "__sf_entity__"
                ):
                    continue
                added.append(self.add_model(model))
        return added

    def add_describe_dir(self, folder: Path) -> list[str]:
        added = []
        for path in sorted(folder.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("fields"), list) and "name" in doc:
                added.append(self.add_describe(doc))
        return added

    def _custom_prefix(self) -> str:
        while True:
            self._next_custom_prefix += 1
            prefix = f"a{self._next_custom_prefix:02d}"
            if prefix not in self._prefixes:
                return prefix

    # -- lookups ---------------------------------------------------------------------------

    def canonical(self, name: str) -> str | None:
        return self._index.get(name.lower())

    def describe(self, name: str) -> dict[str, Any] | None:
        canonical = self._index.get(name.lower())
        return None if canonical is None else self._describes[canonical]

    def by_prefix(self, prefix: str) -> str | None:
        return self._prefixes.get(prefix)

    def names(self) -> list[str]:
        return sorted(self._describes)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._describes[n] for n in sorted(self._describes))

    def fields(self, name: str) -> dict[str, dict[str, Any]]:
        """Field describes of one object by canonical field name."""
        doc = self.describe(name)
        return {} if doc is None else {str(f["name"]): f for f in doc["fields"]}

    def soql_schema(self) -> Schema:
        if self._soql is None:
            self._soql = Schema(ObjectDef.from_describe(d) for d in self._describes.values())
        return self._soql

    def global_entry(self, doc: dict[str, Any], version: str) -> dict[str, Any]:
        """The object's describeGlobal entry: describe's object flags, its list-level urls."""
        entry = {k: doc.get(k) for k in _GLOBAL_KEYS}
        name = doc["name"]
        base = f"/services/data/v{version}/sobjects/{name}"
        urls = {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}
        own = doc.get("urls")
        own = own if isinstance(own, dict) else {}
        for key in _GLOBAL_URLS & set(own):
            urls[key] = str(own[key]).replace("{version}", version)
        entry["urls"] = urls
        return entry


def standard_schema() -> OrgSchema:
    schema = OrgSchema()
    schema.add_package(STANDARD_PACKAGE)
    return schema
