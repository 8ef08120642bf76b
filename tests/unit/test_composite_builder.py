"""Composite and composite batch: typed refs, request shapes, limits, recorded answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import salesforce_typed_std as std
from salesforce_typed import Record
from salesforce_typed.core.errors import NotFoundError, RecordError
from salesforce_typed.rest.composite import (
    BatchItem,
    BatchRequest,
    CompositeRequest,
    Ref,
    SubResponse,
    parse_composite,
)

CASSETTES = Path("fixtures/rest/cumulusci/cassettes")
PREFIX = "/services/data/v62.0"


def _composite_calls(realdata: Path, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request body, response body) of each recorded POST /composite."""
    data = yaml.safe_load(
        (realdata / CASSETTES / f"TestCompositeParallelSalesforce.{name}.yaml").read_text()
    )
    calls = []
    for item in data["interactions"]:
        if "include_file" in item or not item["request"]["uri"].endswith("/composite"):
            continue
        calls.append(
            (json.loads(item["request"]["body"]), json.loads(item["response"]["body"]["string"]))
        )
    return calls


def _replay(body: dict[str, Any]) -> CompositeRequest:
    """Our builder, fed the recorded subrequests."""
    request = CompositeRequest()
    for sub in body["compositeRequest"]:
        request.raw(sub["method"], sub["url"], ref=sub["referenceId"])
    return request


# -- refs ----------------------------------------------------------------------------------


def test_ref_rendering() -> None:
    ref: Ref[std.Account] = Ref("acc", std.Account)
    assert ref.id == "@{acc.id}"
    assert ref.field("Name") == "@{acc.Name}"
    assert ref.field("records[0].Owner.Name") == "@{acc.records[0].Owner.Name}"
    assert ref.records(0, "Id") == "@{acc.records[0].Id}"
    for bad in ("", "a b", "x}", "a.", "@{x}"):
        with pytest.raises(ValueError):
            ref.field(bad)
    with pytest.raises(ValueError):
        ref.records(-1, "Id")


def test_refs_fill_id_fields_of_later_records() -> None:
    request = CompositeRequest(all_or_none=True)
    acc = request.create(std.Account(Name="Acme"), ref="acc")
    con = request.create(std.Contact(LastName="Ng", AccountId=acc.id))
    spec = request.build("62.0")
    assert (spec.method, spec.path, spec.idempotent) == ("POST", "/composite", False)
    assert spec.json == {
        "allOrNone": True,
        "collateSubrequests": False,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{PREFIX}/sobjects/Account",
                "referenceId": "acc",
                "body": {"Name": "Acme"},
            },
            {
                "method": "POST",
                "url": f"{PREFIX}/sobjects/Contact",
                "referenceId": con.reference_id,
                "body": {"LastName": "Ng", "AccountId": "@{acc.id}"},
            },
        ],
    }


def test_every_verb_builds_an_absolute_url() -> None:
    request = CompositeRequest(collate=True)
    acc = request.create(std.Account(Name="A"), ref="acc")
    got = request.get(std.Account, acc, ["Name", "Industry"], ref="got")
    q = request.query(
        "SELECT Id FROM Contact WHERE AccountId = '" + acc.id + "' AND Name = 'a b&c'", std.Contact
    )
    request.update(std.Contact(LastName="New"), q.records(0, "Id"), ref="upd")
    request.update(std.Account(Id="001000000000001AAA", Name="own id"))
    request.upsert(std.Account(Name="U", AccountNumber="42"), "AccountNumber", "42/x")
    request.delete(std.Contact, "003000000000001AAA")
    request.delete("Lead", got.field("Id"))
    request.raw("GET", "/limits", ref="limits")
    request.raw("GET", "/services/data/v61.0/sobjects", ref="old")
    items = request.build("v62.0").json["compositeRequest"]
    assert request.build("62.0").json["collateSubrequests"] is True
    assert [(i["method"], i["url"]) for i in items] == [
        ("POST", f"{PREFIX}/sobjects/Account"),
        ("GET", f"{PREFIX}/sobjects/Account/@{{acc.id}}?fields=Name,Industry"),
        (
            "GET",
            f"{PREFIX}/query?q=SELECT+Id+FROM+Contact+WHERE+AccountId+%3D+%27@{{acc.id}}%27"
            "+AND+Name+%3D+%27a+b%26c%27",
        ),
        ("PATCH", f"{PREFIX}/sobjects/Contact/@{{{q.reference_id}.records[0].Id}}"),
        ("PATCH", f"{PREFIX}/sobjects/Account/001000000000001AAA"),
        ("PATCH", f"{PREFIX}/sobjects/Account/AccountNumber/42%2Fx"),
        ("DELETE", f"{PREFIX}/sobjects/Contact/003000000000001AAA"),
        ("DELETE", f"{PREFIX}/sobjects/Lead/@{{got.Id}}"),
        ("GET", f"{PREFIX}/limits"),
        ("GET", "/services/data/v61.0/sobjects"),
    ]
    assert items[5]["body"] == {"Name": "U"}  # the external id travels in the URL
    assert items[3]["body"] == {"LastName": "New"}
    assert "body" not in items[1]
    assert len({i["referenceId"] for i in items}) == len(items)


def test_read_only_composite_is_idempotent() -> None:
    request = CompositeRequest()
    request.query("SELECT Id FROM Account")
    request.get(std.Account, "001000000000001AAA")
    assert request.build("62.0").idempotent is True


# -- limits and mistakes caught while building ---------------------------------------------


def test_more_than_25_subrequests_is_refused() -> None:
    request = CompositeRequest()
    for i in range(25):
        request.get(std.Account, f"001{i:015d}")
    with pytest.raises(ValueError, match="at most 25"):
        request.create(std.Account(Name="26th"))
    assert len(request) == 25


def test_more_than_5_queries_or_collections_is_refused() -> None:
    request = CompositeRequest()
    for _ in range(3):
        request.query("SELECT Id FROM Account")
    request.raw("POST", "/composite/sobjects", {"allOrNone": False, "records": []})
    request.query("SELECT Id FROM Account", include_deleted=True)
    with pytest.raises(ValueError, match="at most 5"):
        request.raw("GET", f"{PREFIX}/query?q=SELECT+Id+FROM+Lead")
    request.get(std.Account, "001000000000001AAA")  # other kinds still fit


def test_reference_ids_are_checked() -> None:
    request = CompositeRequest()
    request.create(std.Account(Name="A"), ref="acc")
    with pytest.raises(ValueError, match="already used"):
        request.create(std.Account(Name="B"), ref="acc")
    for bad in ("1st", "has space", "a-b", ""):
        with pytest.raises(ValueError, match="referenceId"):
            request.create(std.Account(Name="B"), ref=bad)
    # auto names never collide with chosen ones
    request.create(std.Account(Name="C"), ref="Account_1")
    auto = request.create(std.Account(Name="D"))
    assert auto.reference_id not in {"acc", "Account_1"}


def test_unknown_or_forward_references_fail_at_build() -> None:
    other = CompositeRequest().create(std.Account(Name="elsewhere"), ref="ghost")
    request = CompositeRequest()
    request.create(std.Contact(LastName="x", AccountId=other.id))
    with pytest.raises(ValueError, match="ghost"):
        request.build("62.0")


def test_forbidden_headers_and_bad_urls() -> None:
    request = CompositeRequest()
    with pytest.raises(ValueError, match="Authorization"):
        request.raw("GET", "/limits", headers={"authorization": "Bearer x"})
    with pytest.raises(ValueError, match="start with"):
        request.raw("GET", "limits")
    with pytest.raises(ValueError, match="at least one"):
        request.build("62.0")
    request.raw("GET", "/limits", headers={"If-Modified-Since": "Tue, 1 Jan 2024 00:00:00 GMT"})
    (item,) = request.build("62.0").json["compositeRequest"]
    assert item["httpHeaders"] == {"If-Modified-Since": "Tue, 1 Jan 2024 00:00:00 GMT"}
    with pytest.raises(ValueError, match="API version"):
        request.build("latest")


def test_update_needs_an_id() -> None:
    with pytest.raises(ValueError, match="needs an id"):
        CompositeRequest().update(std.Account(Name="x"))


# -- recorded answers ----------------------------------------------------------------------


def test_recorded_request_shape_and_parallel_answer(realdata: Path) -> None:
    ((sent, answer),) = _composite_calls(realdata, "test_composite_parallel_salesforce")
    request = _replay(sent)
    built = request.build("62.0").json
    assert built["compositeRequest"] == sent["compositeRequest"]  # absolute urls kept as recorded
    result = request.parse(answer)
    assert result.ok and result.errors() == {}
    assert len(result) == 4
    first = result["CCI__RefId__0__"]
    assert (first.status_code, first.headers, first.method) == (200, {}, "GET")
    assert first.body["records"][0]["Id"] == "0010xACCOUNTID0000"
    named = Ref("CCI__RefId__1__", std.Account, "query")
    (acc,) = result.records(named)
    assert isinstance(acc, std.Account) and acc.Name == "Smith Corp."


def test_recorded_reference_ids(realdata: Path) -> None:
    calls = _composite_calls(realdata, "test_reference_ids")
    assert len(calls) == 2
    for sent, answer in calls:
        request = CompositeRequest()
        refs = {}
        for sub in sent["compositeRequest"]:
            soql = sub["url"].split("?q=", 1)[1]
            refs[sub["referenceId"]] = request.query(soql, std.Account, ref=sub["referenceId"])
        result = request.parse(answer)
        assert [r.reference_id for r in result] == list(refs)
        for ref in refs.values():
            assert result[ref].ok and result.records(ref) == []


def test_recorded_error_answer(realdata: Path) -> None:
    ((sent, answer),) = _composite_calls(realdata, "test_errors")
    request = _replay(sent)
    result = request.parse(answer)
    assert not result.ok
    sub = result["CCI__RefId__0__"]
    assert sub.status_code == 404 and not sub.ok
    err = sub.error()
    assert isinstance(err, NotFoundError)
    assert (err.error_code, err.message, err.method, err.url) == (
        "NOT_FOUND",
        "The requested resource does not exist",
        "GET",
        "/services/data/vxx.0/sobjects/Foo",
    )
    assert list(result.errors()) == ["CCI__RefId__0__"]
    with pytest.raises(NotFoundError):
        result.record(Ref("CCI__RefId__0__", Record, "get"))
    # parsing without the request works too, minus method and url
    bare = parse_composite(answer)["CCI__RefId__0__"].error()
    assert isinstance(bare, NotFoundError) and bare.method == ""


# -- typed access --------------------------------------------------------------------------


def _answer(*items: tuple[str, int, Any]) -> dict[str, Any]:
    return {
        "compositeResponse": [
            {"body": body, "httpHeaders": {}, "httpStatusCode": status, "referenceId": ref}
            for ref, status, body in items
        ]
    }


def test_created_id_and_record() -> None:
    request = CompositeRequest(all_or_none=True)
    acc = request.create(std.Account(Name="Acme"), ref="acc")
    got = request.get(std.Account, acc, ["Name"], ref="got")
    result = request.parse(
        {
            "compositeResponse": [
                {
                    "body": {"id": "001000000000001AAA", "success": True, "errors": []},
                    "httpHeaders": {"Location": f"{PREFIX}/sobjects/Account/001000000000001AAA"},
                    "httpStatusCode": 201,
                    "referenceId": "acc",
                },
                {
                    "body": {
                        "attributes": {"type": "Account", "url": "/x"},
                        "Id": "001000000000001AAA",
                        "Name": "Acme",
                    },
                    "httpHeaders": {},
                    "httpStatusCode": 200,
                    "referenceId": "got",
                },
            ]
        }
    )
    assert result.ok
    assert result.created_id(acc) == "001000000000001AAA"
    assert result[acc].headers["Location"].endswith("/001000000000001AAA")
    record = result.record(got)
    assert isinstance(record, std.Account) and record.Name == "Acme"
    with pytest.raises(ValueError, match="not a record read"):
        result.record(acc)
    with pytest.raises(ValueError, match="carries no id"):
        result.created_id(got)
    with pytest.raises(KeyError, match="nope"):
        result["nope"]


def test_all_or_none_rollback_keeps_every_item_as_a_value() -> None:
    request = CompositeRequest(all_or_none=True)
    acc = request.create(std.Account(Name="Acme"), ref="acc")
    con = request.create(std.Contact(LastName="", AccountId=acc.id), ref="con")
    halted = [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the same "
            "transaction failed.",
        }
    ]
    missing = [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    result = request.parse(_answer(("acc", 400, halted), ("con", 400, missing)))
    assert not result.ok
    assert list(result.errors()) == ["acc", "con"]
    roots = result.errors(include_rollback=False)
    assert list(roots) == ["con"]
    assert isinstance(roots["con"], RecordError) and roots["con"].fields == ("LastName",)
    assert result[acc].is_rollback_marker and not result[con].is_rollback_marker
    with pytest.raises(RecordError, match="Required fields"):
        result.created_id(con)


def test_sub_response_success_has_no_error() -> None:
    sub = SubResponse(status_code=204, body=None, reference_id="u")
    assert sub.ok and sub.error() is None and not sub.is_rollback_marker
    sub.raise_for_status()


@pytest.mark.parametrize("data", [{}, [], {"compositeResponse": {}}, {"compositeResponse": [1]}])
def test_malformed_composite_answers(data: Any) -> None:
    with pytest.raises(ValueError):
        parse_composite(data)


# -- composite batch -----------------------------------------------------------------------


def test_batch_shape() -> None:
    batch = BatchRequest(halt_on_error=True)
    assert batch.update(std.Account(Name="X"), "001000000000001AAA") == 0
    assert batch.get(std.Account, "001000000000001AAA", ["Name"]) == 1
    assert batch.create(std.Contact(LastName="Ng")) == 2
    assert batch.query("SELECT Id FROM Account LIMIT 1") == 3
    assert batch.delete("Lead", "00Q000000000001AAA") == 4
    assert batch.upsert(std.Account(Name="U"), "AccountNumber", "7") == 5
    assert batch.raw("GET", "/services/data/v61.0/limits") == 6
    spec = batch.build("62.0")
    assert (spec.method, spec.path, spec.idempotent) == ("POST", "/composite/batch", False)
    assert spec.json == {
        "haltOnError": True,
        "batchRequests": [
            {
                "method": "PATCH",
                "url": "v62.0/sobjects/Account/001000000000001AAA",
                "richInput": {"Name": "X"},
            },
            {"method": "GET", "url": "v62.0/sobjects/Account/001000000000001AAA?fields=Name"},
            {"method": "POST", "url": "v62.0/sobjects/Contact", "richInput": {"LastName": "Ng"}},
            {"method": "GET", "url": "v62.0/query?q=SELECT+Id+FROM+Account+LIMIT+1"},
            {"method": "DELETE", "url": "v62.0/sobjects/Lead/00Q000000000001AAA"},
            {
                "method": "PATCH",
                "url": "v62.0/sobjects/Account/AccountNumber/7",
                "richInput": {"Name": "U"},
            },
            {"method": "GET", "url": "v61.0/limits"},
        ],
    }


def test_batch_limits_and_no_references() -> None:
    batch = BatchRequest()
    for i in range(25):
        batch.delete("Account", f"001{i:015d}")
    with pytest.raises(ValueError, match="at most 25"):
        batch.delete("Account", "001000000000099AAA")
    ref: Ref[std.Account] = Ref("acc", std.Account)
    with pytest.raises(ValueError, match="no references"):
        BatchRequest().create(std.Contact(LastName="x", AccountId=ref.id))
    with pytest.raises(ValueError, match="no references"):
        BatchRequest().delete("Account", ref.id)
    with pytest.raises(ValueError, match="at least one"):
        BatchRequest().build("62.0")


def test_batch_parse() -> None:
    batch = BatchRequest(halt_on_error=True)
    batch.update(std.Account(Name="X"), "001000000000001AAA")
    batch.get(std.Account, "001000000000001AAA")
    batch.delete("Account", "001000000000002AAA")
    items = batch.parse(
        {
            "hasErrors": True,
            "results": [
                {"statusCode": 204, "result": None},
                {"statusCode": 404, "result": [{"errorCode": "NOT_FOUND", "message": "gone"}]},
                {
                    "statusCode": 412,
                    "result": [
                        {
                            "errorCode": "BATCH_PROCESSING_HALTED",
                            "message": "Batch processing halted per request",
                        }
                    ],
                },
            ],
        }
    )
    assert [tuple(i) for i in items] == [
        (204, None),
        (404, [{"errorCode": "NOT_FOUND", "message": "gone"}]),
        (412, items[2].result),
    ]
    status, result = items[0]
    assert (status, result) == (204, None) and items[0].ok and items[0].error() is None
    assert isinstance(items[1], BatchItem) and isinstance(items[1].error(), NotFoundError)
    halted = items[2].error()
    assert halted is not None and halted.error_code == "BATCH_PROCESSING_HALTED"
    with pytest.raises(ValueError):
        batch.parse({"hasErrors": False})


def test_public_surface() -> None:
    from salesforce_typed.rest import composite

    assert sorted(composite.__all__) == sorted(
        [
            "MAX_QUERIES",
            "MAX_SUBREQUESTS",
            "ROLLBACK_MARKERS",
            "BatchItem",
            "BatchRequest",
            "CompositeRequest",
            "CompositeResult",
            "Ref",
            "SubResponse",
            "parse_batch",
            "parse_composite",
        ]
    )
    assert all(hasattr(composite, name) for name in composite.__all__)
