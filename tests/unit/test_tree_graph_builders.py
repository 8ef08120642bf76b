"""The sObject Tree and composite graph builders: request bodies, limits checked while
building, and the parsers, with no server."""

from __future__ import annotations

import pytest

import salesforce_typed_std as std
from salesforce_typed import CompositeGraph, SObjectTree
from salesforce_typed.core.errors import RecordError, UsageError, error_from_response
from salesforce_typed.core.models import RelatedList
from salesforce_typed.rest import listviews
from salesforce_typed.rest.graph import MAX_GRAPHS, MAX_NODES, parse_graph


def test_tree_body_nests_children_with_reference_ids() -> None:
    contact = std.Contact(LastName="Smith")
    acme = std.Account(Name="Acme", Contacts=RelatedList(records=[contact]))
    tree = SObjectTree(acme)
    spec = tree.build()
    assert (spec.method, spec.path, spec.idempotent) == ("POST", "/composite/tree/Account", False)
    assert spec.json == {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "ref1"},
                "Name": "Acme",
                "Contacts": {
                    "records": [
                        {
                            "attributes": {"type": "Contact", "referenceId": "ref2"},
                            "LastName": "Smith",
                        }
                    ]
                },
            }
        ]
    }
    result = tree.parse(
        {
            "hasErrors": False,
            "results": [
                {"referenceId": "ref1", "id": "001A"},
                {"referenceId": "ref2", "id": "003B"},
            ],
        }
    )
    assert dict(result) == {"ref1": "001A", "ref2": "003B"}
    assert result.id_of(contact) == "003B" and result.id_of(acme) == "001A"
    with pytest.raises(KeyError):
        result.id_of(std.Contact(LastName="elsewhere"))


def test_tree_limits_are_checked_while_building() -> None:
    tree = SObjectTree(*[std.Account(Name=str(i)) for i in range(200)])
    assert len(tree) == 200
    with pytest.raises(UsageError, match="200"):
        tree.add(std.Account(Name="one too many"))
    with pytest.raises(UsageError, match="share one type"):
        SObjectTree(std.Account(Name="a"), std.Contact(LastName="b"))
    with pytest.raises(UsageError, match="at least one"):
        SObjectTree().build()
    deep = std.Account(Name="0")
    node = deep
    for level in range(1, 6):
        child = std.Account(Name=str(level))
        node.ChildAccounts = RelatedList(records=[child])
        node = child
    with pytest.raises(UsageError, match="levels"):
        SObjectTree(deep)
    shared = std.Contact(LastName="twice")
    twice = std.Account(Name="t", Contacts=RelatedList(records=[shared, shared]))
    with pytest.raises(UsageError, match="twice"):
        SObjectTree(twice)


def test_tree_error_body_maps_to_the_error_tree() -> None:
    body = {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "ref2",
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [LastName]",
                        "fields": ["LastName"],
                    }
                ],
            }
        ],
    }
    err = error_from_response(400, body)
    assert isinstance(err, RecordError)
    assert err.error_code == "REQUIRED_FIELD_MISSING" and err.fields == ("LastName",)
    assert err.errors[0]["referenceId"] == "ref2"


def test_graph_body_and_references() -> None:
    request = CompositeGraph()
    first = request.graph()
    acc = first.create(std.Account(Name="A"), ref="acc")
    first.create(std.Contact(LastName="C", AccountId=acc.id), ref="con")
    second = request.graph("two")
    second.get(std.Account, "001000000000001AAA", ref="read")
    spec = request.build("62.0")
    assert (spec.path, spec.idempotent) == ("/composite/graph", False)
    graphs = spec.json["graphs"]
    assert [g["graphId"] for g in graphs] == ["graph1", "two"]
    nodes = graphs[0]["compositeRequest"]
    assert nodes[0]["url"] == "/services/data/v62.0/sobjects/Account"
    assert nodes[1]["body"] == {"LastName": "C", "AccountId": "@{acc.id}"}
    assert graphs[1]["compositeRequest"][0]["method"] == "GET"


def test_graph_limits_are_checked_while_building() -> None:
    request = CompositeGraph()
    big = request.graph("big")
    for i in range(MAX_NODES):
        big.raw("GET", "/limits", ref=f"n{i}")
    with pytest.raises(UsageError, match=str(MAX_NODES)):
        big.raw("GET", "/limits")
    other = request.graph("other")
    other.raw("GET", "/limits")
    with pytest.raises(UsageError, match="nodes per request"):
        request.build("62.0")
    with pytest.raises(UsageError, match="already used"):
        request.graph("big")
    many = CompositeGraph()
    for _ in range(MAX_GRAPHS):
        many.graph()
    with pytest.raises(UsageError, match=str(MAX_GRAPHS)):
        many.graph()
    with pytest.raises(UsageError, match="non-empty"):
        CompositeGraph().build("62.0")
    dangling = CompositeGraph()
    dangling.graph().create(std.Contact(LastName="x", AccountId="@{missing.id}"))
    with pytest.raises(UsageError, match="missing"):
        dangling.build("62.0")


def test_graph_parse_keeps_each_graph() -> None:
    halted = {"errorCode": "PROCESSING_HALTED", "message": "rolled back"}
    data = {
        "graphs": [
            {
                "graphId": "1",
                "graphResponse": {
                    "compositeResponse": [
                        {
                            "body": {"id": "001X", "success": True, "errors": []},
                            "httpHeaders": {},
                            "httpStatusCode": 201,
                            "referenceId": "a",
                        }
                    ]
                },
                "isSuccessful": True,
            },
            {
                "graphId": "2",
                "graphResponse": {
                    "compositeResponse": [
                        {
                            "body": [halted],
                            "httpHeaders": {},
                            "httpStatusCode": 400,
                            "referenceId": "b",
                        }
                    ]
                },
                "isSuccessful": False,
            },
        ]
    }
    result = parse_graph(data)
    assert list(result) == ["1", "2"] and result.failed() == ["2"] and not result.ok
    assert result["1"].created_id("a") == "001X"
    assert result["2"]["b"].is_rollback_marker
    with pytest.raises(UsageError):
        parse_graph({"nope": []})


def test_list_view_and_count_parsers() -> None:
    spec = listviews.build_record_counts([std.Account, "Contact"])
    assert spec.params == (("sObjects", "Account,Contact"),)
    assert listviews.build_record_counts([]).params == ()
    counts = {"sObjects": [{"count": 3, "name": "Account"}, {"count": 10, "name": "Contact"}]}
    assert listviews.parse_record_counts(counts) == {"Account": 3, "Contact": 10}
    with pytest.raises(UsageError):
        listviews.build_recent(0)
    results = listviews.parse_list_view_results(
        {
            "columns": [
                {
                    "fieldNameOrPath": "Id",
                    "label": "ID",
                    "type": "id",
                    "hidden": True,
                    "sortable": False,
                }
            ],
            "records": [{"columns": [{"fieldNameOrPath": "Id", "value": "001A"}]}],
            "done": True,
            "id": "00B",
            "label": "All",
            "developerName": "All",
            "size": 1,
        }
    )
    assert results.ids() == ["001A"] and results.columns[0].hidden
