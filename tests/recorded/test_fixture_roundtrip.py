"""Every record and describe Salesforce really sent decodes into models and encodes back equal."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import salesforce_typed_std as std
from salesforce_typed import Record, RelatedList, SObject
from salesforce_typed.core.describe import DescribeGlobalResult, DescribeSObjectResult

REST = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "fixtures" / "rest"


def _documents() -> Iterator[tuple[str, Any]]:
    for path in sorted(REST.rglob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            yield path.name, json.loads(text)
    for path in sorted(REST.rglob("*.yaml")):
        for i, interaction in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            if "request" not in interaction:
                continue  # an include_file pointer to a recording that is not shipped
            bodies = [interaction["request"].get("body"), interaction["response"]["body"]]
            for j, body in enumerate(bodies):
                text = body.get("string") if isinstance(body, dict) else body
                if isinstance(text, str) and text.lstrip()[:1] in ("{", "["):
                    yield f"{path.name}#{i}.{j}", json.loads(text)


def _walk(value: Any) -> Iterator[Any]:
    yield value
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        yield from _walk(child)


def _model_for(record: dict[str, Any]) -> type[SObject]:
    found = getattr(std, str(record["attributes"]["type"]), None)
    return found if isinstance(found, type) and issubclass(found, SObject) else Record


def _is_record(v: Any) -> bool:
    return (
        isinstance(v, dict) and isinstance(v.get("attributes"), dict) and "type" in v["attributes"]
    )


DOCS = list(_documents())
RECORDS = [(name, v) for name, doc in DOCS for v in _walk(doc) if _is_record(v)]
DESCRIBES = [
    (name, v)
    for name, doc in DOCS
    for v in _walk(doc)
    if isinstance(v, dict) and isinstance(v.get("fields"), list) and "name" in v
]
GLOBALS = [
    (name, v)
    for name, doc in DOCS
    for v in _walk(doc)
    if isinstance(v, dict) and isinstance(v.get("sobjects"), list)
]
PAGES = [
    (name, v)
    for name, doc in DOCS
    for v in _walk(doc)
    if isinstance(v, dict) and {"totalSize", "done", "records"} <= set(v)
]


def test_the_fixtures_are_really_there() -> None:
    assert len(DOCS) >= 40
    assert len(RECORDS) >= 60
    assert len(DESCRIBES) >= 10
    assert len(GLOBALS) >= 3
    assert len(PAGES) >= 8


@pytest.mark.parametrize(("source", "record"), RECORDS, ids=[n for n, _ in RECORDS])
def test_record_round_trips(source: str, record: dict[str, Any]) -> None:
    model = _model_for(record)
    decoded = model.from_dict(record)
    assert decoded.to_dict() == record
    assert json.loads(json.dumps(decoded.to_dict())) == record


@pytest.mark.parametrize(("source", "doc"), DESCRIBES, ids=[n for n, _ in DESCRIBES])
def test_describe_round_trips(source: str, doc: dict[str, Any]) -> None:
    decoded = DescribeSObjectResult.from_dict(doc)
    assert decoded.to_dict() == doc
    assert decoded.fields and len(decoded.fields) == len(doc["fields"])
    first = doc["fields"][0]
    assert decoded.field(first["name"]).type == first["type"]


@pytest.mark.parametrize(("source", "doc"), GLOBALS, ids=[n for n, _ in GLOBALS])
def test_describe_global_round_trips(source: str, doc: dict[str, Any]) -> None:
    decoded = DescribeGlobalResult.from_dict(doc)
    assert decoded.to_dict() == doc
    assert [s.name for s in decoded.sobjects or ()] == [s["name"] for s in doc["sobjects"]]


@pytest.mark.parametrize(("source", "page"), PAGES, ids=[n for n, _ in PAGES])
def test_query_page_round_trips(source: str, page: dict[str, Any]) -> None:
    decoded = RelatedList.from_dict(page, lambda r: _model_for(r).from_dict(r))
    assert decoded.to_dict() == page
    assert len(decoded.records) == len(page["records"])


def test_organization_record_decodes_typed(realdata: Path) -> None:
    raw = json.loads(
        (realdata / "fixtures/rest/cumulusci/describe/Organization_record.json").read_text()
    )
    org = std.Organization.from_dict(raw)
    assert isinstance(org, std.Organization)
    assert org.Id == raw["Id"]
    assert isinstance(org.CreatedDate, dt.datetime)
    assert org.CreatedDate.tzinfo is not None
    assert org.to_dict() == raw


def test_parent_and_child_relationships_decode_typed(realdata: Path) -> None:
    doc = json.loads((realdata / "fixtures/rest/restforce/query_success_response.json").read_text())
    record = doc["records"][0]
    decoded = _model_for(record).from_dict(record)
    assert decoded.to_dict() == record
