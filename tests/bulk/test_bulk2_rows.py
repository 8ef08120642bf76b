"""Bulk API 2.0, the pure parts: request builders, JobInfo and header parsing, the polling
tables, result rows matched back to inputs, counts, and query rows decoded into models."""

from __future__ import annotations

import datetime as dt

import pytest

import salesforce_typed_std as std
from salesforce_typed import Record
from salesforce_typed.bulk2 import states
from salesforce_typed.bulk2 import wire as v2
from salesforce_typed.bulk2.rows import (
    IngestCounts,
    InputMatcher,
    RowDecoder,
    split_result_header,
)
from salesforce_typed.jobs.csv_chunks import CsvDialect
from salesforce_typed.jobs.polling import PollPolicy
from salesforce_typed.jobs.row_errors import format_sf_error, parse_sf_error


def test_builders_describe_the_wire() -> None:
    spec = v2.build_create_ingest(
        "Contact",
        "upsert",
        dialect=CsvDialect(column_delimiter="PIPE", line_ending="CRLF"),
        external_id_field="Ext__c",
    )
    assert (spec.method, spec.path, spec.idempotent) == ("POST", "/jobs/ingest", False)
    assert spec.json == {
        "object": "Contact",
        "operation": "upsert",
        "contentType": "CSV",
        "columnDelimiter": "PIPE",
        "lineEnding": "CRLF",
        "externalIdFieldName": "Ext__c",
    }
    upload = v2.build_upload("750x")
    assert (upload.method, upload.path, upload.idempotent) == (
        "PUT",
        "/jobs/ingest/750x/batches",
        False,
    )
    assert ("Content-Type", "text/csv") in upload.headers
    assert v2.build_close("750x").json == {"state": "UploadComplete"}
    assert v2.build_abort("query", "750q").path == "/jobs/query/750q"
    page = v2.build_query_results("750q", locator="MTAwMDA", page_size=10)
    assert page.params == (("locator", "MTAwMDA"), ("maxRecords", "10"))
    assert v2.build_query_results("750q").params == ()
    with pytest.raises(ValueError):
        v2.build_query_results("750q", page_size=0)
    query = v2.build_create_query("SELECT Id FROM Account", operation="queryAll")
    assert query.json is not None and query.json["operation"] == "queryAll"
    nxt = "/services/data/v62.0/jobs/ingest?queryLocator=abc"
    assert v2.build_list("ingest", nxt).path == nxt


def test_job_info_keeps_unknown_keys_and_reads_the_version_number() -> None:
    job = v2.parse_job(
        {
            "id": "750x",
            "state": "Failed",
            "object": "Account",
            "operation": "insert",
            "apiVersion": 62.0,
            "numberRecordsProcessed": 12,
            "numberRecordsFailed": "3",
            "errorMessage": "InvalidBatch : Field name not found : Nmae",
            "apexProcessingTime": 7,
        },
        "ingest",
    )
    assert job.api_version == "62.0" and job.number_records_failed == 3
    assert job.extra == {"apexProcessingTime": 7}
    assert job.decision.action is states.PollAction.PARTIAL


def test_locators_end_on_absent_empty_or_null() -> None:
    assert v2.parse_locator({"sforce-locator": "MTAwMDA"}) == "MTAwMDA"
    for headers in ({}, {"sforce-locator": ""}, {"sforce-locator": "null"}):
        assert v2.parse_locator(headers) is None
    assert v2.parse_record_count({"sforce-numberofrecords": "5"}) == 5
    assert v2.parse_record_count({"sforce-numberofrecords": "x"}) is None


def test_job_pages_take_either_next_key() -> None:
    page = v2.parse_job_page(
        {"records": [{"id": "1", "state": "Open"}], "nextRecordUrl": "/n"}, "query"
    )
    assert page.next_records_url == "/n" and page.jobs[0].kind == "query"


def test_poll_table_covers_every_state_and_waits_on_unknown_ones() -> None:
    assert set(states.POLL_TABLE) == set(states.JobState)
    assert states.decide("InProgress").action is states.PollAction.WAIT
    assert states.decide("Open").action is states.PollAction.NOT_CLOSED
    assert states.decide("SomethingNew").action is states.PollAction.WAIT
    assert {states.JobState(s) for s in ("JobComplete", "Failed", "Aborted")} == states.TERMINAL
    policy = PollPolicy(initial=1, factor=2, maximum=5)
    assert [policy.interval(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


@pytest.mark.parametrize(
    ("text", "code", "message", "fields"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            ("LastName",),
        ),
        (
            "INVALID_FIELD:Foreign key external ID: A-1 not found for field Ext__c:--",
            "INVALID_FIELD",
            "Foreign key external ID: A-1 not found for field Ext__c",
            (),
        ),
        ("DUPLICATE_VALUE:dup:Name,Phone --", "DUPLICATE_VALUE", "dup", ("Name", "Phone")),
        ("odd text", "", "odd text", ()),
    ],
)
def test_sf_error_text(text: str, code: str, message: str, fields: tuple[str, ...]) -> None:
    error = parse_sf_error(text)
    assert (error.code, error.message, error.fields) == (code, message, fields)
    if code:
        assert format_sf_error(code, message, fields) == text


def test_result_header_split() -> None:
    marks, columns = split_result_header(["sf__Id", "sf__Error", "Name", "Phone"])
    assert marks == {"sf__Id": 0, "sf__Error": 1} and columns == ["Name", "Phone"]


def test_matcher_pairs_by_content_and_order() -> None:
    inputs = [["a"], ["b"], ["a"], ["c"], ["d"]]
    matcher = InputMatcher(inputs, start=100)
    # results out of order, with a duplicate row told apart by order, and one row missing
    assert matcher.match(["c"]) == 103
    assert matcher.match(["a"]) == 100
    assert matcher.match(["a"]) == 102
    assert matcher.match(["b"]) == 101
    assert matcher.match(["zzz"]) is None


def test_matcher_memory_is_a_window() -> None:
    inputs = [[str(i)] for i in range(1000)]
    matcher = InputMatcher(inputs, window=10)
    assert matcher.match(["999"]) == 999  # 999 rows skipped, only the last 10 kept
    assert matcher.match(["995"]) == 995
    assert matcher.match(["3"]) is None  # too far out of order: unmatched, not wrong


def test_counts_reconcile() -> None:
    counts = IngestCounts(processed=8, failed=3, unprocessed=2, uploaded=10)
    assert (counts.successful, counts.total, counts.reconciles) == (5, 10, True)
    assert not IngestCounts(processed=8, failed=3, unprocessed=0, uploaded=10).reconciles


def test_query_rows_decode_into_typed_models() -> None:
    header = ["Id", "Name", "NumberOfEmployees", "AnnualRevenue", "CreatedDate", "Owner.Name"]
    decoder = RowDecoder(std.Account, header)
    row = ["001x", "Acme", "12", "1.5", "2024-01-01T10:00:00.000Z", "Ada"]
    acc = decoder.decode(row)
    assert isinstance(acc, std.Account)
    assert acc.NumberOfEmployees == 12 and acc.AnnualRevenue == 1.5
    assert acc.CreatedDate == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert isinstance(acc.Owner, std.User) and acc.Owner.Name == "Ada"
    empty = decoder.decode(["001y", "B", "", "", "", ""])
    assert empty.NumberOfEmployees is None and empty.Owner is None
    contact = RowDecoder(std.Contact, ["IsEmailBounced", "Birthdate"]).decode(
        ["true", "2000-02-29"]
    )
    assert contact.IsEmailBounced is True and contact.Birthdate == dt.date(2000, 2, 29)
    loose = RowDecoder(Record, ["Id", "Custom__c"]).decode(["a01x", "v"])
    assert loose["Custom__c"] == "v"
