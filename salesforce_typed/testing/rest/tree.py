"""sObject Tree (`POST /composite/tree/{sObject}`, v42+): nested parent-child records created
all-or-none, answered `{hasErrors, results}`.

Limits as documented: 200 records across all trees, five record types, five levels. Records
are written level by level, one `Writer.create` per level and type (as Salesforce fires
triggers per such group), inside one store transaction: the first failing group rolls back
everything and only its failing records are reported, with their `referenceId`.
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs

from salesforce_typed.testing.org import changes
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.records import Outcome, Writer, require_index
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.org.validation import FieldError, FieldIndex

MAX_RECORDS: Final = 200
MAX_TYPES: Final = 5
MAX_DEPTH: Final = 5
MIN_VERSION: Final = 42.0
_REFERENCE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*\Z")


@attrs.define
class _Node:
    sobject: str
    reference_id: str
    values: dict[str, Any]
    level: int
    parent: _Node | None = None
    parent_field: str | None = None  # the child's lookup to `parent`
    id: str | None = None


class _RollbackError(Exception):
    def __init__(self, failures: list[tuple[_Node, Outcome]]) -> None:
        super().__init__("sObject tree rolled back")
        self.failures = failures


def _bad(message: str, code: str = "INVALID_INPUT") -> SfError:
    return SfError(400, code, message)


def _children(index: FieldIndex, state: OrgState) -> dict[str, tuple[str, str]]:
    """relationshipName (lower-cased) -> (child sObject, child field)."""
    doc = state.schema.describe(index.sobject) or {}
    out: dict[str, tuple[str, str]] = {}
    for rel in doc.get("childRelationships") or []:
        if rel.get("relationshipName"):
            out[str(rel["relationshipName"]).lower()] = (
                str(rel["childSObject"]),
                str(rel["field"]),
            )
    return out


def flatten(state: OrgState, root_type: str, body: Any) -> list[_Node]:
    """Every record of the request, parents before children; envelope errors raise 400."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise _bad("The request body must contain a records array", "JSON_PARSER_ERROR")
    nodes: list[_Node] = []

    def walk(
        items: list[Any], sobject: str, level: int, parent: _Node | None, field: str | None
    ) -> None:
        if level > MAX_DEPTH:
            raise _bad(f"An sObject tree can be at most {MAX_DEPTH} levels deep", "LIMIT_EXCEEDED")
        index = require_index(state, sobject)
        relations = _children(index, state)
        for item in items:
            if not isinstance(item, dict):
                raise _bad("Each record must be a JSON object", "JSON_PARSER_ERROR")
            attributes = item.get("attributes")
            if not isinstance(attributes, dict):
                raise _bad("Each record needs attributes with a type and a referenceId")
            ref = attributes.get("referenceId")
            kind = attributes.get("type")
            if not isinstance(ref, str) or not _REFERENCE_ID.match(ref):
                raise _bad(f"Invalid referenceId: {ref}")
            if not isinstance(kind, str) or kind.lower() != index.sobject.lower():
                raise _bad(f"The record {ref} must have type {index.sobject}, not {kind}")
            node = _Node(index.sobject, ref, {}, level, parent, field)
            nodes.append(node)
            if len(nodes) > MAX_RECORDS:
                raise _bad(
                    f"An sObject tree request can hold at most {MAX_RECORDS} records",
                    "LIMIT_EXCEEDED",
                )
            nested: list[tuple[str, str, list[Any]]] = []
            for key, value in item.items():
                if key == "attributes":
                    continue
                relation = relations.get(key.lower())
                if relation is not None and isinstance(value, dict):
                    records = value.get("records")
                    if not isinstance(records, list):
                        raise _bad(f"{key} must hold a records array", "JSON_PARSER_ERROR")
                    nested.append((relation[0], relation[1], records))
                else:
                    node.values[key] = value
            for child_type, child_field, records in nested:
                walk(records, child_type, level + 1, node, child_field)

    walk(body["records"], root_type, 1, None, None)
    if not nodes:
        raise _bad("The request must contain at least one record")
    if len({n.sobject for n in nodes}) > MAX_TYPES:
        raise _bad(
            f"An sObject tree request can hold records of at most {MAX_TYPES} types",
            "LIMIT_EXCEEDED",
        )
    return nodes


def _duplicates(nodes: list[_Node]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.reference_id] = counts.get(node.reference_id, 0) + 1
    return [
        {
            "referenceId": n.reference_id,
            "errors": [
                {
                    "statusCode": "INVALID_INPUT",
                    "message": f"Duplicate ReferenceId provided in the request: {n.reference_id}",
                    "fields": [],
                }
            ],
        }
        for n in nodes
        if counts[n.reference_id] > 1
    ]


def _groups(nodes: list[_Node]) -> list[list[_Node]]:
    """Level by level, one group per type in order of first appearance."""
    groups: dict[tuple[int, str], list[_Node]] = {}
    for node in sorted(nodes, key=lambda n: n.level):
        groups.setdefault((node.level, node.sobject), []).append(node)
    return list(groups.values())


def create_tree(req: Request, nodes: list[_Node]) -> list[_Node]:
    writer = Writer(req.org, changes.origin_of(req))
    ordered: list[_Node] = []
    with store(req.org).transaction():
        for group in _groups(nodes):
            bodies = []
            for node in group:
                values = dict(node.values)
                if node.parent is not None and node.parent_field is not None:
                    values[node.parent_field] = node.parent.id
                bodies.append(values)
            try:
                outcomes = writer.create(group[0].sobject, bodies)
            except SfError as exc:  # a body that cannot be read fails its record
                raise _RollbackError(_unreadable(writer, group, bodies, exc)) from None
            failures = [(n, o) for n, o in zip(group, outcomes, strict=True) if not o.success]
            if failures:
                raise _RollbackError(failures)
            for node, outcome in zip(group, outcomes, strict=True):
                node.id = outcome.id
            ordered.extend(group)
    return ordered


def _unreadable(
    writer: Writer, group: list[_Node], bodies: list[dict[str, Any]], exc: SfError
) -> list[tuple[_Node, Outcome]]:
    index = require_index(writer.state, group[0].sobject)
    for node, body in zip(group, bodies, strict=True):
        try:
            writer.normalize(index, body)
        except SfError as bad:
            entry = bad.entry()
            return [(node, Outcome(errors=[FieldError(entry["errorCode"], entry["message"])]))]
    entry = exc.entry()
    return [(group[0], Outcome(errors=[FieldError(entry["errorCode"], entry["message"])]))]


async def tree(req: Request) -> Response:
    if float(req.api_version) < MIN_VERSION:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    index = require_index(req.org, req.params["sobject"])
    nodes = flatten(req.org, index.sobject, req.json())
    duplicates = _duplicates(nodes)
    if duplicates:
        return Response.json({"hasErrors": True, "results": duplicates}, status=400)
    try:
        created = create_tree(req, nodes)
    except _RollbackError as exc:
        failed: list[dict[str, Any]] = [
            {"referenceId": n.reference_id, "errors": [e.collection() for e in o.errors]}
            for n, o in exc.failures
        ]
        return Response.json({"hasErrors": True, "results": failed}, status=400)
    results: list[dict[str, Any]] = [{"referenceId": n.reference_id, "id": n.id} for n in created]
    return Response.json({"hasErrors": False, "results": results}, status=201)


ROUTES: Final = (("POST", "/services/data/v{version}/composite/tree/{sobject}", tree),)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)
