"""The REST endpoints added for fidelity, server and client: recordCount, recent, list views
and their results, sObject Tree, composite graph, and 410 for a retired API version.

Each client test runs on both faces against a real fake org over sockets; the raw-HTTP tests
pin the wire shapes and error bodies the client relies on (docs/fidelity/rest.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from faces import Face

import salesforce_typed_std as std
from salesforce_typed import CompositeGraph, RefreshTokenGrant, Salesforce, SObjectTree
from salesforce_typed.core.errors import APIStatusError, NotFoundError
from salesforce_typed.core.models import RelatedList
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"


@pytest.fixture
def sf(fake_org: FakeOrg, face: Face) -> Iterator[Salesforce]:
    c = fake_org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
    with face.salesforce(auth=grant) as client:
        yield client


# -- client, both faces --------------------------------------------------------------------


def test_record_counts_follow_writes_and_deletes(sf: Salesforce) -> None:
    before = sf.record_counts(std.Account, "Contact", "NoSuchObject__c")
    assert set(before) == {"Account", "Contact"}
    ids = [sf.create(std.Account(Name=f"A{i}")).id for i in range(3)]
    sf.delete(std.Account, ids[0])
    after = sf.record_counts(std.Account)
    assert after == {"Account": before["Account"] + 2}
    assert "Account" in sf.record_counts() and "Lead" in sf.record_counts()


def test_recent_lists_viewed_records_newest_first(sf: Salesforce) -> None:
    a = sf.create(std.Account(Name="Viewed A")).id
    b = sf.create(std.Contact(LastName="Viewed B")).id
    assert sf.recent() == []  # created, not viewed
    sf.get(std.Account, a)
    sf.get(std.Contact, b)
    recent = sf.recent()
    assert [r["Id"] for r in recent] == [b, a]
    assert isinstance(recent[0], std.Contact) and isinstance(recent[1], std.Account)
    assert recent[1].Name == "Viewed A"
    assert [r["Id"] for r in sf.recent(limit=1)] == [b]
    sf.delete(std.Contact, b)
    assert [r["Id"] for r in sf.recent()] == [a]


def test_list_views_and_results(sf: Salesforce) -> None:
    for name in ("Beta", "Alpha", "Gamma"):
        sf.create(std.Account(Name=name, Phone="555"))
    views = sf.list_views(std.Account)
    assert [v.label for v in views] == ["All Accounts", "Recently Viewed Accounts"]
    assert all(v.id.startswith("00B") and len(v.id) == 18 for v in views)
    everything = sf.list_view_results(std.Account, views[0].id)
    assert [r["Name"] for r in everything.rows] == ["Alpha", "Beta", "Gamma"]
    assert [c.field for c in everything.columns][:1] == ["Name"]
    assert all(i.startswith("001") for i in everything.ids())
    page = sf.list_view_results(std.Account, views[0].id, limit=2, offset=1)
    assert [r["Name"] for r in page.rows] == ["Beta", "Gamma"]
    assert sf.list_view_results(std.Account, views[1].id).rows == ()
    sf.get(std.Account, everything.ids()[2])
    assert sf.list_view_results(std.Account, views[1].id).ids() == [everything.ids()[2]]
    with pytest.raises(NotFoundError):
        sf.list_view_results(std.Account, "00B000000000000AAA")


def test_tree_creates_nested_records(sf: Salesforce) -> None:
    smith, evans = std.Contact(LastName="Smith"), std.Contact(LastName="Evans")
    acme = std.Account(Name="Acme", Contacts=RelatedList(records=[smith, evans]))
    solo = std.Account(Name="Solo")
    tree = SObjectTree(acme, solo)
    result = sf.create_tree(tree)
    assert len(result) == 4 and tree.reference_id(acme) in result
    acme_id = result.id_of(acme)
    assert sf.get(std.Contact, result.id_of(smith)).AccountId == acme_id
    assert sf.get(std.Contact, result.id_of(evans)).AccountId == acme_id
    assert sf.get(std.Account, result.id_of(solo)).Name == "Solo"


def test_tree_failure_rolls_back_and_raises_the_record_error(sf: Salesforce) -> None:
    before = sf.record_counts(std.Account, std.Contact)
    bad = std.Contact(FirstName="No last name")
    tree = SObjectTree(std.Account(Name="Rolled back", Contacts=RelatedList(records=[bad])))
    with pytest.raises(APIStatusError) as err:
        sf.create_tree(tree)
    assert err.value.status_code == 400 and err.value.error_code == "REQUIRED_FIELD_MISSING"
    assert err.value.errors[0]["referenceId"] == tree.reference_id(bad)
    assert sf.record_counts(std.Account, std.Contact) == before


def test_graph_commits_each_graph_alone(sf: Salesforce) -> None:
    request = CompositeGraph()
    good = request.graph("good")
    acc = good.create(std.Account(Name="Graph ok"))
    con = good.create(std.Contact(LastName="Ok", AccountId=acc.id))
    bad = request.graph("bad")
    bad.create(std.Account(Name="Graph rolled back"))
    bad.create(std.Contact(FirstName="No last name"))
    before = sf.record_counts(std.Account)["Account"]
    result = sf.composite_graph(request)
    assert result.failed() == ["bad"] and not result.ok
    assert sf.get(std.Contact, result["good"].created_id(con)).AccountId == result[
        "good"
    ].created_id(acc)
    errors = result["bad"].errors(include_rollback=False)
    assert [e.error_code for e in errors.values()] == ["REQUIRED_FIELD_MISSING"]
    assert sf.record_counts(std.Account)["Account"] == before + 1


# -- wire shapes and error bodies ----------------------------------------------------------


def test_retired_version_is_410_and_not_listed(api: httpx.Client) -> None:
    for version in ("20.0", "30.0"):
        answer = api.get(f"/services/data/v{version}/sobjects")
        assert answer.status_code == 410, answer.text
        assert answer.json()[0]["errorCode"] == "GONE"
    assert api.get("/services/data/v99.0/sobjects").status_code == 404
    listed = [float(v["version"]) for v in api.get("/services/data").json()]
    assert min(listed) == 31.0 and 30.0 not in listed


def test_retired_version_on_bulk_and_soap_answers_their_own_way(api: httpx.Client) -> None:
    """Salesforce's retirement notes: REST 410 GONE, SOAP 500 UNSUPPORTED_API_VERSION, Bulk
    400 InvalidVersion."""
    bulk = api.post(
        "/services/async/30.0/job", content=b"<x/>", headers={"Content-Type": "application/xml"}
    )
    assert bulk.status_code == 400, bulk.text
    assert "<exceptionCode>InvalidVersion</exceptionCode>" in bulk.text
    soap = api.post(
        "/services/Soap/u/30.0",
        content=b"<x/>",
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    assert soap.status_code == 500, soap.text
    assert "<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>" in soap.text


def test_tree_limits_and_malformed_bodies(api: httpx.Client) -> None:
    def account(i: int) -> dict[str, object]:
        return {"attributes": {"type": "Account", "referenceId": f"r{i}"}, "Name": f"N{i}"}

    over = api.post(
        V + "/composite/tree/Account", json={"records": [account(i) for i in range(201)]}
    )
    assert over.status_code == 400 and over.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    dup = api.post(V + "/composite/tree/Account", json={"records": [account(1), account(1)]})
    assert dup.status_code == 400 and dup.json()["hasErrors"] is True
    assert [r["referenceId"] for r in dup.json()["results"]] == ["r1", "r1"]
    for body in (b"{", b"[]", b'{"records": 3}', b'{"records": [1]}'):
        answer = api.post(
            V + "/composite/tree/Account",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    wrong = api.post(
        V + "/composite/tree/Account",
        json={"records": [{"attributes": {"type": "Contact", "referenceId": "x"}}]},
    )
    assert wrong.status_code == 400 and wrong.json()[0]["errorCode"] == "INVALID_INPUT"
    unknown = api.post(
        V + "/composite/tree/Account",
        json={"records": [{**account(1), "NoSuchField__c": 1}]},
    )
    assert unknown.status_code == 400 and unknown.json()["hasErrors"] is True
    assert unknown.json()["results"][0]["errors"][0]["statusCode"] == "INVALID_FIELD"


def test_graph_limits_and_malformed_bodies(api: httpx.Client) -> None:
    def node(i: int) -> dict[str, object]:
        return {"method": "GET", "url": V + "/limits", "referenceId": f"n{i}"}

    big = {"graphs": [{"graphId": "g", "compositeRequest": [node(i) for i in range(501)]}]}
    assert api.post(V + "/composite/graph", json=big).json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    split = {
        "graphs": [
            {"graphId": f"g{g}", "compositeRequest": [node(i) for i in range(100)]}
            for g in range(6)
        ]
    }
    assert api.post(V + "/composite/graph", json=split).status_code == 400
    many = {"graphs": [{"graphId": f"g{g}", "compositeRequest": [node(0)]} for g in range(76)]}
    assert api.post(V + "/composite/graph", json=many).status_code == 400
    for body in (b"{", b"[]", b'{"graphs": []}', b'{"graphs": [1]}'):
        answer = api.post(
            V + "/composite/graph", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, (body, answer.text)
    ok = api.post(
        V + "/composite/graph", json={"graphs": [{"graphId": "1", "compositeRequest": [node(0)]}]}
    )
    graph = ok.json()["graphs"][0]
    assert ok.status_code == 200 and graph["isSuccessful"] is True and graph["graphId"] == "1"
    assert graph["graphResponse"]["compositeResponse"][0]["httpStatusCode"] == 200


def test_graph_halts_after_fourteen_failed_graphs(api: httpx.Client) -> None:
    failing = {"method": "POST", "url": V + "/sobjects/Contact", "body": {}, "referenceId": "c"}
    body = {"graphs": [{"graphId": f"g{g}", "compositeRequest": [failing]} for g in range(16)]}
    graphs = api.post(V + "/composite/graph", json=body).json()["graphs"]
    codes = [g["graphResponse"]["compositeResponse"][0]["body"][0]["errorCode"] for g in graphs]
    assert codes[:15] == ["REQUIRED_FIELD_MISSING"] * 15 and codes[15] == "PROCESSING_HALTED"
    assert not any(g["isSuccessful"] for g in graphs)


def test_list_view_describe_and_bad_arguments(api: httpx.Client) -> None:
    views = api.get(V + "/sobjects/Contact/listviews").json()
    assert views["sobjectType"] == "Contact" and views["size"] == 2
    described = api.get(views["listviews"][0]["describeUrl"]).json()
    assert described["query"].startswith("SELECT ") and described["scope"] == "everything"
    bad = api.get(views["listviews"][0]["resultsUrl"] + "?limit=x")
    assert bad.status_code == 400
    assert api.get(V + "/recent?limit=-1").status_code == 400
    assert api.get(V + "/sobjects/Nope__c/listviews").status_code == 404


def test_for_view_and_for_reference_queries_join_recent(api: httpx.Client) -> None:
    ids = [api.post(V + "/sobjects/Account", json={"Name": n}).json()["id"] for n in "ABC"]
    quoted = api.get(V + "/query", params={"q": "SELECT Id FROM Account WHERE Name = 'FOR VIEW'"})
    assert quoted.status_code == 200 and api.get(V + "/recent").json() == []
    viewed = f"SELECT Id, Name FROM Account WHERE Id = '{ids[0]}' FOR VIEW"
    assert api.get(V + "/query", params={"q": viewed}).status_code == 200
    referenced = (
        f"SELECT Id FROM Account WHERE Id IN ('{ids[1]}', '{ids[2]}') ORDER BY Name FOR REFERENCE"
    )
    assert api.get(V + "/query", params={"q": referenced}).status_code == 200
    recent = api.get(V + "/recent").json()
    assert [r["Id"] for r in recent] == [ids[1], ids[2], ids[0]]
    assert recent[2] == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{ids[0]}"},
        "Id": ids[0],
        "Name": "A",
    }


_TREE_BODIES = (
    b"null",
    b"1",
    b"{}",
    b'{"records": [null]}',
    b'{"records": [{"attributes": []}]}',
    b'{"records": [{"attributes": {"type": "Account", "referenceId": 1}}]}',
    b'{"records": [{"attributes": {"type": "Account", "referenceId": "r"}, "Contacts": [1]}]}',
    b'{"records": [{"attributes": {"type": "Account", "referenceId": "r"}, "Name": [1, 2]}]}',
    b'{"records": [{"attributes": {"type": "Account", "referenceId": "r"},'
    b' "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "c"},'
    b' "LastName": {"a": 1}}]}}]}',
)
_GRAPH_BODIES = (
    b"null",
    b'{"graphs": null}',
    b'{"graphs": [null]}',
    b'{"graphs": [{"graphId": 1, "compositeRequest": []}]}',
    b'{"graphs": [{"graphId": "g", "compositeRequest": [null]}]}',
    b'{"graphs": [{"graphId": "g", "compositeRequest": [{"method": "GET", "url": "/x"}]}]}',
)


def test_hostile_input_gets_salesforce_errors_not_500(api: httpx.Client) -> None:
    answers = [api.post(V + "/composite/tree/Account", content=b) for b in _TREE_BODIES]
    answers += [api.post(V + "/composite/graph", content=b) for b in _GRAPH_BODIES]
    views = api.get(V + "/sobjects/Account/listviews").json()["listviews"]
    huge = "9" * 5000
    answers += [
        api.get(V + "/recent", params={"limit": huge}),
        api.get(views[0]["resultsUrl"], params={"offset": huge, "limit": huge}),
        api.get(V + "/limits/recordCount", params={"sObjects": ",,\x00"}),
        api.post("/services/data/v41.0/composite/tree/Account", json={}),
        api.post("/services/data/v49.0/composite/graph", json={}),
    ]
    assert [a.status_code for a in answers if a.status_code >= 500] == []
    assert all(isinstance(a.json(), list | dict) for a in answers)
    assert answers[-1].status_code == 404 and answers[-2].status_code == 404


def test_graph_refuses_more_than_fifteen_different_nodes(api: httpx.Client) -> None:
    names = [s["name"] for s in api.get(V + "/sobjects").json()["sobjects"]][:16]
    assert len(names) == 16

    def node(i: int, name: str) -> dict[str, str]:
        return {"method": "GET", "url": f"{V}/sobjects/{name}/describe", "referenceId": f"n{i}"}

    def graph(count: int) -> dict[str, object]:
        nodes = [node(i, n) for i, n in enumerate(names[:count])]
        return {"graphs": [{"graphId": "g", "compositeRequest": nodes}]}

    refused = api.post(V + "/composite/graph", json=graph(16))
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    accepted = api.post(V + "/composite/graph", json=graph(15))
    assert accepted.status_code == 200 and accepted.json()["graphs"][0]["isSuccessful"] is True
