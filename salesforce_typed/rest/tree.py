"""sObject Tree (`POST /composite/tree/{Type}`): typed model instances and their nested
children created in one all-or-none call.

Children come from the model's child relationships (`Account(Contacts=RelatedList(records=
[Contact(...)]))`); each record gets a generated `referenceId`, and `TreeResult` maps them
(and the instances themselves) to the new ids. Salesforce's limits are checked while
building: 200 records in all, five types, five levels; one tree's root records share a type.
A failed tree raises the error tree's exception for the first failing record's errorCode,
every failing record's errors (with their `referenceId`) on `.errors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import quote

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import RelatedList, SObject
from salesforce_typed.rest.collections import record_payload, sobject_type_of

__all__ = ["MAX_TREE_DEPTH", "MAX_TREE_RECORDS", "MAX_TREE_TYPES", "SObjectTree", "TreeResult"]

MAX_TREE_RECORDS: Final = 200
MAX_TREE_TYPES: Final = 5
MAX_TREE_DEPTH: Final = 5


def _children(record: SObject) -> Iterator[tuple[str, list[SObject]]]:
    """(relationship name, child records) of each child relationship the record carries."""
    for child in type(record).__sf_children__:
        value = getattr(record, child.name, None)
        if isinstance(value, RelatedList) and value.records:
            yield child.name, list(value.records)


class SObjectTree:
    """Root records of one type (with nested children) for one sObject Tree request."""

    def __init__(self, *records: SObject) -> None:
        self._roots: list[SObject] = []
        self._refs: dict[int, str] = {}  # id(instance) -> referenceId
        self._records: list[SObject] = []
        self._types: set[str] = set()
        for record in records:
            self.add(record)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def sobject_type(self) -> str:
        if not self._roots:
            raise UsageError("an sObject tree needs at least one root record")
        return sobject_type_of(self._roots[0])

    def add(self, record: SObject) -> str:
        """Add a root record (and its nested children); returns its referenceId."""
        if self._roots and sobject_type_of(record) != self.sobject_type:
            raise UsageError(
                f"tree roots must share one type: {self.sobject_type}, not "
                f"{sobject_type_of(record)}"
            )
        self._walk(record, 1)
        self._roots.append(record)
        return self._refs[id(record)]

    def _walk(self, record: SObject, level: int) -> None:
        if level > MAX_TREE_DEPTH:
            raise UsageError(f"an sObject tree is at most {MAX_TREE_DEPTH} levels deep")
        if id(record) in self._refs:
            raise UsageError("the same record instance appears twice in the tree")
        if len(self._records) >= MAX_TREE_RECORDS:
            raise UsageError(f"an sObject tree request holds at most {MAX_TREE_RECORDS} records")
        kind = sobject_type_of(record)
        if kind not in self._types and len(self._types) >= MAX_TREE_TYPES:
            raise UsageError(f"an sObject tree holds records of at most {MAX_TREE_TYPES} types")
        self._types.add(kind)
        self._refs[id(record)] = f"ref{len(self._records) + 1}"
        self._records.append(record)
        for _, children in _children(record):
            for child in children:
                self._walk(child, level + 1)

    def reference_id(self, record: SObject) -> str:
        try:
            return self._refs[id(record)]
        except KeyError:
            raise KeyError("record is not part of this tree") from None

    def _node(self, record: SObject) -> dict[str, Any]:
        body: dict[str, Any] = {
            "attributes": {
                "type": sobject_type_of(record),
                "referenceId": self._refs[id(record)],
            }
        }
        body.update(record_payload(record, "create"))
        for name, children in _children(record):
            body[name] = {"records": [self._node(c) for c in children]}
        return body

    def build(self) -> RequestSpec:
        """POST `/composite/tree/{Type}` with every tree nested as Salesforce expects."""
        return RequestSpec(
            method="POST",
            path=f"/composite/tree/{quote(self.sobject_type, safe='')}",
            json={"records": [self._node(r) for r in self._roots]},
            idempotent=False,
        )

    def parse(self, data: Any) -> TreeResult:
        result = parse_tree(data)
        by_instance = {
            id(r): result.ids[self._refs[id(r)]]
            for r in self._records
            if self._refs[id(r)] in result.ids
        }
        return attrs.evolve(result, by_instance=by_instance)


@attrs.frozen(kw_only=True, slots=True)
class TreeResult(Mapping[str, str]):
    """referenceId -> new record id, in answer order; `id_of(record)` by instance."""

    ids: dict[str, str]
    by_instance: dict[int, str] = attrs.field(factory=dict, repr=False)

    def __getitem__(self, reference_id: str) -> str:
        return self.ids[reference_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def id_of(self, record: SObject) -> str:
        """The id the tree gave `record` (an instance passed to the tree)."""
        try:
            return self.by_instance[id(record)]
        except KeyError:
            raise KeyError("record is not part of this tree") from None


def parse_tree(data: Any) -> TreeResult:
    """A successful `{hasErrors: false, results: [{referenceId, id}]}` answer."""
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, list):
        raise UsageError("not an sObject tree response: no results array")
    ids = {
        str(r["referenceId"]): str(r["id"])
        for r in results
        if isinstance(r, Mapping) and isinstance(r.get("id"), str)
    }
    return TreeResult(ids=ids)
