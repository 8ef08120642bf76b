"""sObject Collections builders and parsers: request shapes, chunking, results as values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import salesforce_typed_std as std
from salesforce_typed import Record
from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.rest.collections import (
    RecordErrorInfo,
    RecordResult,
    build_create_many,
    build_delete_many,
    build_retrieve_many,
    build_update_many,
    build_upsert_many,
    chunk,
    parse_retrieve_many,
    parse_save_results,
    sobject_type_of,
)

CASSETTES = Path("fixtures/rest/cumulusci/cassettes")


def _interactions(realdata: Path, name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((realdata / CASSETTES / name).read_text())
    return [i for i in data["interactions"] if "include_file" not in i]


def _fake_answer(spec: RequestSpec, first_id: int) -> list[dict[str, Any]]:
    """What Salesforce answers for one create chunk: an id per record, in order."""
    return [
        {"id": f"001{first_id + i:015d}", "success": True, "errors": []}
        for i in range(len(spec.json["records"]))
    ]


# -- chunk ---------------------------------------------------------------------------------


def test_chunk_keeps_order_and_sizes() -> None:
    parts = list(chunk(list(range(450))))
    assert [len(p) for p in parts] == [200, 200, 50]
    assert [x for p in parts for x in p] == list(range(450))
    assert list(chunk([], 200)) == []
    with pytest.raises(ValueError):
        list(chunk([1], 0))


# -- create --------------------------------------------------------------------------------


def test_create_450_records_is_three_requests_in_order() -> None:
    records = [std.Account(Name=f"Acme {i}") for i in range(450)]
    specs = build_create_many(records, all_or_none=True)
    assert [len(s.json["records"]) for s in specs] == [200, 200, 50]
    for spec in specs:
        assert (spec.method, spec.path, spec.idempotent) == ("POST", "/composite/sobjects", False)
        assert spec.json["allOrNone"] is True
    sent = [r for s in specs for r in s.json["records"]]
    assert sent[0] == {"attributes": {"type": "Account"}, "Name": "Acme 0"}
    assert [r["Name"] for r in sent] == [f"Acme {i}" for i in range(450)]

    results: list[RecordResult] = []
    offset = 0
    for spec in specs:  # what a client does: send each chunk, concatenate its results
        results += parse_save_results(_fake_answer(spec, offset))
        offset += len(spec.json["records"])
    assert len(results) == 450
    assert [r.id for r in results] == [f"001{i:015d}" for i in range(450)]
    assert all(r.success and r.created is None and r.errors == () for r in results)


def test_create_sends_only_createable_set_fields() -> None:
    (spec,) = build_create_many([std.Account(Name="A", Industry=None, Id="001000000000000AAA")])
    assert spec.json == {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Account"}, "Name": "A", "Industry": None}],
    }


def test_create_from_pairs_and_untyped_records() -> None:
    pairs = ("Thing__c", {"attributes": {"type": "Wrong"}, "Name": "x", "Qty__c": 2})
    untyped = Record(attributes={"type": "Widget__c"}, extra_fields={"Size__c": 3})
    (spec,) = build_create_many([pairs, untyped])
    assert spec.json["records"] == [
        {"attributes": {"type": "Thing__c"}, "Name": "x", "Qty__c": 2},
        {"attributes": {"type": "Widget__c"}, "Size__c": 3},
    ]


def test_record_without_a_type_is_refused() -> None:
    with pytest.raises(ValueError, match="sObject type"):
        build_create_many([Record(extra_fields={"Name": "x"})])


def test_mixed_types_never_exceed_ten_runs_per_request() -> None:
    records: list[Any] = []
    for i in range(12):  # 12 runs of one record each, alternating types
        records.append(std.Account(Name=f"a{i}") if i % 2 == 0 else std.Contact(LastName=f"c{i}"))
    specs = build_create_many(records)
    assert [len(s.json["records"]) for s in specs] == [10, 2]
    names = [r.get("Name") or r.get("LastName") for s in specs for r in s.json["records"]]
    assert names == [f"{'a' if i % 2 == 0 else 'c'}{i}" for i in range(12)]
    # long runs of one type are not split by the rule
    same = [std.Account(Name=str(i)) for i in range(150)] + [std.Contact(LastName="x")] * 150
    assert [len(s.json["records"]) for s in build_create_many(same)] == [200, 100]


def test_empty_input_sends_nothing() -> None:
    assert build_create_many([]) == []
    assert build_update_many([]) == []
    assert build_delete_many([]) == []


# -- update --------------------------------------------------------------------------------


def test_update_includes_id_and_only_updateable_fields() -> None:
    acc = std.Account(Id="001000000000001AAA", Name="New", BillingCity=None)
    (spec,) = build_update_many([acc, ("Thing__c", {"Id": "a00000000000001AAA", "X__c": 1})])
    assert (spec.method, spec.path, spec.idempotent) == ("PATCH", "/composite/sobjects", True)
    assert spec.json["records"] == [
        {
            "attributes": {"type": "Account"},
            "Id": "001000000000001AAA",
            "Name": "New",
            "BillingCity": None,
        },
        {"attributes": {"type": "Thing__c"}, "Id": "a00000000000001AAA", "X__c": 1},
    ]


def test_update_without_id_names_the_record() -> None:
    records = [std.Account(Id=f"001{i:015d}", Name="x") for i in range(205)]
    records[203] = std.Account(Name="no id")
    with pytest.raises(ValueError, match="record 203 has no Id"):
        build_update_many(records)


# -- upsert --------------------------------------------------------------------------------


def test_upsert_matches_the_recorded_request(realdata: Path) -> None:
    recorded = next(
        i["request"]
        for i in _interactions(realdata, "TestUpsert.test_upsert__rest.yaml")
        if i["request"]["method"] == "PATCH"
    )
    body = json.loads(recorded["body"])
    records = [
        std.Contact(FirstName=r["FirstName"], LastName=r["LastName"], Email=r["Email"])
        for r in body["records"]
    ]
    (spec,) = build_upsert_many(std.Contact, "Email", records, all_or_none=False)
    assert recorded["uri"].endswith("/services/data/vxx.0" + spec.path)
    assert spec.method == recorded["method"] and spec.idempotent
    assert spec.json == body


def test_upsert_on_id_sends_null_for_new_records(realdata: Path) -> None:
    recorded = next(
        i["request"]
        for i in _interactions(
            realdata, "TestUpsert.test_upsert_complex_external_id_field__rest.yaml"
        )
        if i["request"]["uri"].endswith("/composite/sobjects/Account/Id")
    )
    (spec,) = build_upsert_many(
        "Account", "Id", [std.Account(Name="Sitwell-Bluth", AccountNumber="420")]
    )
    assert spec.path == "/composite/sobjects/Account/Id"
    assert spec.json == json.loads(recorded["body"])


def test_upsert_checks_type_and_field() -> None:
    with pytest.raises(ValueError, match="record 1 is a Contact, not a Account"):
        build_upsert_many(std.Account, "Id", [std.Account(Name="a"), std.Contact(LastName="c")])
    with pytest.raises(ValueError, match="no field 'Ext_Id__c'"):
        build_upsert_many(std.Account, "Ext_Id__c", [std.Account(Name="a")])
    with pytest.raises(ValueError, match="record 0 has no Ext_Id__c"):
        build_upsert_many("Account", "Ext_Id__c", [("Account", {"Name": "a"})])
    (spec,) = build_upsert_many("Account", "Ext Id__c", [("Account", {"Ext Id__c": "a/b"})])
    assert spec.path == "/composite/sobjects/Account/Ext%20Id__c"


def test_upsert_chunks_preserve_order() -> None:
    records = [("Account", {"Ext__c": f"k{i}"}) for i in range(401)]
    specs = build_upsert_many("Account", "Ext__c", records, all_or_none=True)
    assert [len(s.json["records"]) for s in specs] == [200, 200, 1]
    keys = [r["Ext__c"] for s in specs for r in s.json["records"]]
    assert keys == [f"k{i}" for i in range(401)]


# -- delete and retrieve -------------------------------------------------------------------


def test_delete_chunks_ids_in_the_query_string() -> None:
    ids = [f"001{i:015d}" for i in range(450)]
    specs = build_delete_many(ids, all_or_none=True)
    assert len(specs) == 3
    for spec in specs:
        assert (spec.method, spec.path, spec.idempotent, spec.json) == (
            "DELETE",
            "/composite/sobjects",
            True,
            None,
        )
        assert dict(spec.params)["allOrNone"] == "true"
    sent = [x for s in specs for x in dict(s.params)["ids"].split(",")]
    assert sent == ids
    assert dict(build_delete_many(ids[:1])[0].params) == {"ids": ids[0], "allOrNone": "false"}
    with pytest.raises(ValueError, match="not a record id"):
        build_delete_many(["001A,001B"])
    with pytest.raises(ValueError, match="not a record id"):
        build_delete_many([""])


def test_retrieve_shape_and_parse() -> None:
    (spec,) = build_retrieve_many(std.Account, ["001A", "001B"], ["Id", "Name"])
    assert (spec.method, spec.path, spec.idempotent) == ("GET", "/composite/sobjects/Account", True)
    assert spec.params == (("ids", "001A,001B"), ("fields", "Id,Name"))
    with pytest.raises(ValueError, match="at least one field"):
        build_retrieve_many("Account", ["001A"], [])
    rows = parse_retrieve_many(
        std.Account,
        [{"attributes": {"type": "Account"}, "Id": "001A", "Name": "Acme"}, None],
    )
    assert rows[1] is None
    assert rows[0] is not None and rows[0].Name == "Acme"
    assert len(build_retrieve_many("Account", [f"001{i}" for i in range(201)], ["Id"])) == 2


# -- parsing -------------------------------------------------------------------------------


def test_parse_recorded_collection_answers(realdata: Path) -> None:
    found = 0
    for name in (
        "TestUpsert.test_upsert__rest.yaml",
        "TestUpsert.test_upsert_complex_external_id_field__rest.yaml",
        "TestUpsert.test_upsert_complex_external_id_field_rest__duplicate_error.yaml",
    ):
        for item in _interactions(realdata, name):
            if "/composite/sobjects" not in item["request"]["uri"]:
                continue
            sent = json.loads(item["request"]["body"])["records"]
            data = json.loads(item["response"]["body"]["string"])
            results = parse_save_results(data)
            assert len(results) == len(sent)
            for raw, result in zip(data, results, strict=True):
                assert result.id == raw["id"] and result.success is raw["success"]
                assert result.created is raw.get("created")
            found += 1
    assert found >= 6


def test_upsert_created_flags_from_the_recording(realdata: Path) -> None:
    answers = [
        json.loads(i["response"]["body"]["string"])
        for i in _interactions(realdata, "TestUpsert.test_upsert__rest.yaml")
        if i["request"]["uri"].endswith("/composite/sobjects/Contact/Email")
    ]
    second = parse_save_results(answers[1])
    assert [r.created for r in second] == [False, False, False, True]
    assert second[3].id == "0037e00001WZ316AAD"


def test_per_record_failures_are_values() -> None:
    data = [
        {"id": "001000000000001AAA", "success": True, "errors": []},
        {
            "id": None,
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Name]",
                    "fields": ["Name"],
                }
            ],
        },
        {
            "id": None,
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the "
                    "request was using AllOrNone header",
                    "fields": [],
                }
            ],
        },
    ]
    ok, bad, rolled = parse_save_results(data)
    assert ok == RecordResult(id="001000000000001AAA", success=True)
    assert bad.success is False and bad.id is None
    assert bad.errors == (
        RecordErrorInfo(
            status_code="REQUIRED_FIELD_MISSING",
            message="Required fields are missing: [Name]",
            fields=("Name",),
        ),
    )
    assert rolled.errors[0].status_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def test_delete_answer_shape() -> None:
    (result,) = parse_save_results(
        [
            {
                "id": "001000000000001AAA",
                "success": False,
                "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}],
            }
        ]
    )
    assert result.id == "001000000000001AAA" and not result.success
    assert result.errors[0].fields == ()


def test_results_are_frozen() -> None:
    result = RecordResult(id="x", success=True)
    with pytest.raises(AttributeError):
        result.success = False  # type: ignore[misc]


@pytest.mark.parametrize("data", [{"errors": []}, None, "oops", [1]])
def test_malformed_answers_are_refused(data: Any) -> None:
    with pytest.raises(ValueError):
        parse_save_results(data)


def test_sobject_type_of() -> None:
    assert sobject_type_of(std.Account) == "Account"
    assert sobject_type_of(std.Contact(LastName="x")) == "Contact"
    assert sobject_type_of(("Thing__c", {})) == "Thing__c"
    assert sobject_type_of("Lead") == "Lead"


def test_public_surface() -> None:
    from salesforce_typed.rest import collections

    assert sorted(collections.__all__) == sorted(
        [
            "MAX_RECORDS",
            "MAX_TYPE_RUNS",
            "RecordErrorInfo",
            "RecordInput",
            "RecordResult",
            "build_create_many",
            "build_delete_many",
            "build_retrieve_many",
            "build_update_many",
            "build_upsert_many",
            "chunk",
            "parse_retrieve_many",
            "parse_save_results",
            "record_payload",
            "sobject_type_of",
        ]
    )
    assert all(hasattr(collections, name) for name in collections.__all__)
