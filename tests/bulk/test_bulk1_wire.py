"""Bulk API 1.0 on the wire, without a transport: building, parsing, splitting, streaming.

The recorded JobInfo/BatchInfo templates (CumulusCI cassettes, shared/realdata) are rendered
with the cassette's own variables and parsed; the request bodies the cassette recorded are
compared with ours byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import salesforce_typed_std as std
from salesforce_typed.bulk1 import wire as v1
from salesforce_typed.bulk1.batches import BatchLimits, BatchSplitter, csv_cell, row_payload
from salesforce_typed.bulk1.results import (
    CsvRowStream,
    ResultRow,
    decode_record,
    parse_query_records,
    parse_results,
)
from salesforce_typed.bulk1.wire import NS, UnsafeXmlError
from salesforce_typed.core.errors import (
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    ServerError,
)
from salesforce_typed.core.unset import UNSET
from salesforce_typed.jobs.row_errors import RowError, parse_sf_error

CASSETTES = Path("fixtures/rest/cumulusci/cassettes")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")


def render_template(realdata: Path, name: str, variables: dict[str, str]) -> bytes:
    """The cassette's own template language: `{name}` or `{name:default}`."""
    text = (realdata / CASSETTES / name).read_text(encoding="utf-8")
    return _PLACEHOLDER.sub(lambda m: variables.get(m[1], m[2] or ""), text).encode()


def response(
    body: bytes | str,
    *,
    status: int = 200,
    ctype: str = "application/xml",
    method: str = "GET",
    path: str = "/services/async/62.0/job/750x",
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    request = httpx.Request(method, f"https://org.example.com{path}")
    return httpx.Response(status, content=content, headers={"content-type": ctype}, request=request)


# -- the recorded templates -------------------------------------------------------------------


def test_recorded_job_info_template_parses(realdata: Path) -> None:
    body = render_template(
        realdata,
        "jobInfo_insert_xml.tpl",
        {
            "id": "750P0000006HoSQIA0",
            "object": "Contact",
            "creator": "005P000000AyPpYIAV",
            "cdate": "2022-10-20T16:46:32.000Z",
            "smts": "2022-10-20T16:46:34.000Z",
            "state": "Closed",
            "numbatchcomp": "1",
            "numrecsprocc": "16",
            "tpt": "529",
            "apipt": "378",
        },
    )
    job = v1.parse_job_info(response(body))
    assert job.id == "750P0000006HoSQIA0" and job.operation == "insert"
    assert (job.object, job.state, job.contentType) == ("Contact", "Closed", "CSV")
    assert job.concurrencyMode == "Parallel" and job.createdById == "005P000000AyPpYIAV"
    assert job.createdDate == dt.datetime(2022, 10, 20, 16, 46, 32, tzinfo=dt.UTC)
    assert job.systemModstamp == dt.datetime(2022, 10, 20, 16, 46, 34, tzinfo=dt.UTC)
    assert (job.numberBatchesCompleted, job.numberBatchesTotal) == (1, 1)
    assert (job.numberRecordsProcessed, job.numberRecordsFailed) == (16, 0)
    assert (job.totalProcessingTime, job.apiActiveProcessingTime) == (529, 378)
    assert job.numberBatchesQueued == 0  # the template leaves it empty
    assert job.apiVersion == "xx.0"  # sanitized in the recording, kept as sent
    assert job.extra == {}


def test_recorded_batch_info_template_parses(realdata: Path) -> None:
    body = render_template(
        realdata,
        "batchInfo_xml.tpl",
        {
            "id": "751P0000007qkh8IAA",
            "jobId": "750P0000006HoSQIA0",
            "state": "Queued",
            "cdate": "2022-10-20T16:46:33.000Z",
            "smts": "2022-10-20T16:46:33.000Z",
        },
    )
    batch = v1.parse_batch_info(response(body))
    assert (batch.id, batch.jobId, batch.state) == (
        "751P0000007qkh8IAA",
        "750P0000006HoSQIA0",
        "Queued",
    )
    assert batch.createdDate == dt.datetime(2022, 10, 20, 16, 46, 33, tzinfo=dt.UTC)
    assert batch.numberRecordsProcessed == 0 and not batch.done
    assert batch.stateMessage is None


def test_recorded_empty_batch_list_and_request_bodies() -> None:
    empty = f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList\n   xmlns="{NS}" />'
    assert v1.parse_batch_list(response(empty)) == []
    # The cassette's job create and close bodies, byte for byte (after our XML prolog).
    create = v1.build_create_job("vxx.0", "upsert", "Contact", "CSV", external_id_field="Id")
    prolog = b'<?xml version="1.0" encoding="UTF-8"?>'
    assert create.content == prolog + (
        b'<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><operation>upsert'
        b"</operation><object>Contact</object><externalIdFieldName>Id</externalIdFieldName>"
        b"<concurrencyMode>Parallel</concurrencyMode><contentType>CSV</contentType></jobInfo>"
    )
    assert create.path == "/services/async/xx.0/job"
    close = v1.build_job_state("62.0", "750P0000006HoSQIA0", "Closed", "CSV")
    assert close.content == prolog + (
        b'<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        b"<state>Closed</state></jobInfo>"
    )
    assert close.path == "/services/async/62.0/job/750P0000006HoSQIA0"


# -- building ---------------------------------------------------------------------------------


def test_json_jobs_and_headers() -> None:
    job = v1.build_create_job(
        "62.0", "query", "Account", "JSON", concurrency_mode="Serial", pk_chunking=500
    )
    assert json.loads(job.content or b"") == {
        "operation": "query",
        "object": "Account",
        "concurrencyMode": "Serial",
        "contentType": "JSON",
    }
    assert job.content_type == "application/json; charset=UTF-8" and not job.idempotent
    assert dict(job.headers) == {"Sforce-Enable-PKChunking": "chunkSize=500"}
    assert dict(v1.build_create_job("62.0", "query", "Account", pk_chunking=True).headers) == {
        "Sforce-Enable-PKChunking": "true"
    }
    with pytest.raises(ValueError, match="query"):
        v1.build_create_job("62.0", "insert", "Account", pk_chunking=True)
    with pytest.raises(ValueError, match="external_id_field"):
        v1.build_create_job("62.0", "upsert", "Account")
    abort = v1.build_job_state("62.0", "750x", "Aborted", "JSON")
    assert json.loads(abort.content or b"") == {"state": "Aborted"} and abort.idempotent
    batch = v1.build_add_batch("62.0", "750x", "CSV", b"Name\nA\n")
    assert batch.content_type == "text/csv; charset=UTF-8" and not batch.idempotent


def test_session_goes_in_the_bulk_header_and_never_in_reprs() -> None:
    secret = "00Dxx!SECRET-SESSION"
    spec = v1.build_add_batch("62.0", "750x", "XML", b"<sObjects/>")
    with httpx.Client() as client:
        request = spec.to_httpx(client, "https://org.example.com/", secret)
    assert request.headers["X-SFDC-Session"] == secret
    assert "authorization" not in request.headers
    assert str(request.url) == "https://org.example.com/services/async/62.0/job/750x/batch"
    assert secret not in repr(spec) and "sObjects" not in repr(spec)


# -- safe XML ---------------------------------------------------------------------------------

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><id>&lol2;</id></jobInfo>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload"><id>&xxe;</id></jobInfo>"""


@pytest.mark.parametrize("document", [LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_xml_with_a_doctype_is_refused(document: str) -> None:
    with pytest.raises(UnsafeXmlError):
        v1.parse_xml(document)
    with pytest.raises(UnsafeXmlError):
        v1.parse_job_info(response(document))
    error = v1.error_from_bulk_response(response(document, status=400))
    assert "root:" not in error.message and error.error_code == ""


def test_malformed_xml_is_an_unreadable_response() -> None:
    from salesforce_typed import UnreadableResponseError

    with pytest.raises(UnreadableResponseError, match="malformed"):
        v1.parse_xml("<jobInfo><id>")


# -- errors -----------------------------------------------------------------------------------


def test_bulk_errors_map_onto_the_tree() -> None:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{NS}">'
        "<exceptionCode>InvalidSessionId</exceptionCode>"
        "<exceptionMessage>Invalid session id</exceptionMessage></error>"
    )
    err = v1.error_from_bulk_response(response(xml, status=400, method="POST"))
    assert isinstance(err, AuthenticationError)
    assert (err.status_code, err.error_code, err.message) == (
        400,
        "InvalidSessionId",
        "Invalid session id",
    )
    assert err.method == "POST" and err.url == "/services/async/62.0/job/750x"
    body = json.dumps({"exceptionCode": "InvalidBatch", "exceptionMessage": "too big"})
    err = v1.error_from_bulk_response(response(body, status=400, ctype="application/json"))
    assert type(err) is APIStatusError and err.error_code == "InvalidBatch"
    rest = json.dumps(
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    )
    assert isinstance(
        v1.error_from_bulk_response(response(rest, status=404, ctype="application/json")),
        NotFoundError,
    )
    html = v1.error_from_bulk_response(response("<html>down</html", status=503, ctype="text/html"))
    assert isinstance(html, ServerError) and html.status_code == 503


# -- results ----------------------------------------------------------------------------------


def test_csv_results_match_the_documented_example() -> None:
    body = (
        '"Id","Success","Created","Error"\n'
        '"003D000000Q89kQIAR","true","true",""\n'
        '"003D000000Q89kRIAR","true","false",""\n'
        '"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"\n'
    )
    rows = parse_results(response(body, ctype="text/csv"))
    assert rows[0] == ResultRow(id="003D000000Q89kQIAR", success=True, created=True)
    assert rows[1].created is False
    assert rows[2] == ResultRow(
        id=None,
        success=False,
        created=False,
        errors=(
            RowError(
                code="REQUIRED_FIELD_MISSING",
                message="Required fields are missing: [LastName]",
                fields=("LastName",),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "STRING_TOO_LONG:Name: data value too large: xxx (max length=255):Name --",
            RowError(
                code="STRING_TOO_LONG",
                message="Name: data value too large: xxx (max length=255)",
                fields=("Name",),
            ),
        ),
        (
            "ENTITY_IS_DELETED:entity is deleted:--",
            RowError(code="ENTITY_IS_DELETED", message="entity is deleted"),
        ),
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [A, B]:A,B --",
            RowError(
                code="REQUIRED_FIELD_MISSING",
                message="Required fields are missing: [A, B]",
                fields=("A", "B"),
            ),
        ),
        ("something odd", RowError(code="", message="something odd")),
    ],
)
def test_csv_error_cells(text: str, expected: RowError) -> None:
    assert parse_sf_error(text) == expected


def test_json_and_xml_results() -> None:
    data = [
        {"success": True, "created": True, "id": "001xx000003DHP0AAO", "errors": []},
        {
            "success": False,
            "created": False,
            "id": None,
            "errors": [
                {
                    "fields": ["Name"],
                    "message": "Required fields are missing: [Name]",
                    "statusCode": "REQUIRED_FIELD_MISSING",
                }
            ],
        },
    ]
    rows = parse_results(response(json.dumps(data), ctype="application/json"))
    assert rows[0].id == "001xx000003DHP0AAO" and rows[0].created
    assert rows[1].errors[0].fields == ("Name",) and rows[1].id is None
    xml = (
        f'<results xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<result><id>001D000000ISUr3IAH</id><success>true</success><created>true</created></result>"
        "<result><errors><fields>Name</fields><message>m</message><statusCode>X</statusCode>"
        '</errors><id xsi:nil="true"/><success>false</success><created>false</created></result>'
        "</results>"
    )
    rows = parse_results(response(xml))
    assert rows[0] == ResultRow(id="001D000000ISUr3IAH", success=True, created=True)
    assert rows[1] == ResultRow(
        id=None,
        success=False,
        created=False,
        errors=(RowError(code="X", message="m", fields=("Name",)),),
    )


def test_query_result_ids_both_formats() -> None:
    xml = f'<result-list xmlns="{NS}"><result>752x01</result><result>752x02</result></result-list>'
    assert v1.parse_query_result_ids(response(xml)) == ["752x01", "752x02"]
    assert v1.parse_query_result_ids(response('["752x03"]', ctype="application/json")) == ["752x03"]


# -- splitting --------------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"Name": "Acme", "Industry": "Banking"},
    {"Name": 'Quote "q", comma', "Industry": None},
    {"Name": "Ünïcødé", "Phone": "555", "Account": {"Ext__c": "A-1"}},
    {"Name": "Last"},
]


def _sizes(content_type: str, limits: BatchLimits) -> list[int]:
    splitter = BatchSplitter(content_type, limits)
    counts = [b.count for row in ROWS if (b := splitter.add(row)) is not None]
    last = splitter.flush()
    return counts + ([last.count] if last else [])


@pytest.mark.parametrize("content_type", ["CSV", "JSON", "XML"])
def test_size_accounting_is_exact(content_type: str) -> None:
    whole = BatchSplitter(content_type)
    for row in ROWS[:3]:
        assert whole.add(row) is None
    three = whole.flush()
    assert three is not None and three.count == 3
    size = len(three.body)
    assert _sizes(content_type, BatchLimits(max_bytes=size)) == [3, 1]
    assert _sizes(content_type, BatchLimits(max_bytes=size - 1))[0] == 2
    chars = len(three.body.decode("utf-8"))
    assert chars < size  # the non-ASCII row costs more bytes than characters
    assert _sizes(content_type, BatchLimits(max_chars=chars)) == [3, 1]
    assert _sizes(content_type, BatchLimits(max_records=3)) == [3, 1]
    assert _sizes(content_type, BatchLimits(max_records=1)) == [1, 1, 1, 1]


def test_csv_header_is_the_union_and_cells_keep_unset_apart_from_null() -> None:
    splitter = BatchSplitter("CSV")
    for row in ROWS:
        splitter.add(row)
    batch = splitter.flush()
    assert batch is not None and (batch.first, batch.count) == (0, 4)
    assert batch.body.decode("utf-8").splitlines() == [
        "Name,Industry,Phone,Account.Ext__c",
        "Acme,Banking,,",
        '"Quote ""q"", comma",#N/A,,',
        "Ünïcødé,,555,A-1",
        "Last,,,",
    ]


def test_json_and_xml_bodies_keep_null_and_parents() -> None:
    json_split = BatchSplitter("JSON")
    json_split.add(ROWS[1])
    json_split.add(ROWS[2])
    body = json_split.flush()
    assert body is not None
    assert json.loads(body.body) == [ROWS[1], ROWS[2]]
    xml_split = BatchSplitter("XML")
    xml_split.add(ROWS[1])
    xml_split.add(ROWS[2])
    xml = xml_split.flush()
    assert xml is not None
    text = xml.body.decode()
    assert '<Industry xsi:nil="true"/>' in text
    assert "<Account><sObject><Ext__c>A-1</Ext__c></sObject></Account>" in text
    assert "&quot;" not in text and 'Quote "q", comma' in text
    root = v1.parse_xml(xml.body)
    assert len(root) == 2


def test_a_row_too_big_for_any_batch_raises() -> None:
    splitter = BatchSplitter("CSV", BatchLimits(max_bytes=10))
    with pytest.raises(ValueError, match="row 0 alone"):
        splitter.add({"Name": "x" * 20})


def test_row_payloads() -> None:
    acc = std.Account(Id="001000000000001AAA", Name="Acme", Industry=None)
    assert row_payload(acc, "insert") == {"Name": "Acme", "Industry": None}
    assert row_payload(acc, "update") == {
        "Id": "001000000000001AAA",
        "Name": "Acme",
        "Industry": None,
    }
    assert row_payload(acc, "delete") == {"Id": "001000000000001AAA"}
    assert row_payload("001000000000002AAA", "hardDelete") == {"Id": "001000000000002AAA"}
    assert row_payload({"attributes": {}, "Name": "x"}, "insert") == {"Name": "x"}
    assert acc.BillingCity is UNSET
    with pytest.raises(ValueError):
        row_payload({"Name": "no id"}, "delete")
    with pytest.raises(TypeError):
        row_payload(42, "insert")
    assert (
        csv_cell(True) == "true"
        and csv_cell(None) == "#N/A"
        and csv_cell(1e21) == "1000000000000000000000"
    )
    assert csv_cell(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2024-01-02T03:04:05.000Z"
    assert csv_cell(std.AccountIndustryPicklist.BANKING) == "Banking"


# -- streaming and typing query rows ----------------------------------------------------------


def test_csv_rows_stream_across_any_chunking() -> None:
    text = '"Id","Name","Description"\n"001A","Ünï, Co","two\nlines ""quoted"""\n"001B","B",""\n'
    data = text.encode("utf-8")
    stream = CsvRowStream()
    rows = []
    for i in range(len(data)):  # one byte at a time: splits inside quotes and inside UTF-8
        rows += stream.feed(data[i : i + 1])
    rows += stream.close()
    assert rows == [
        {"Id": "001A", "Name": "Ünï, Co", "Description": 'two\nlines "quoted"'},
        {"Id": "001B", "Name": "B", "Description": ""},
    ]
    assert stream.rows == 2
    empty = CsvRowStream()
    assert empty.feed(b"Records not found for this query") == [] and empty.close() == []


def test_typed_decoding_from_text_and_bulk_json() -> None:
    row = {
        "Id": "001A",
        "Name": "Acme",
        "AnnualRevenue": "1500000.0",
        "NumberOfEmployees": "12",
        "IsDeleted": "false",
        "Industry": "Banking",
        "Website": "",
        "CreatedDate": "2024-01-02T03:04:05.000Z",
        "Owner.Name": "Ada",
        "Owner.IsActive": "true",
        "Parent.Name": "",
    }
    acc = decode_record(std.Account, row, text=True)
    assert acc.AnnualRevenue == 1_500_000.0 and acc.NumberOfEmployees == 12
    assert acc.IsDeleted is False and acc.Website is None
    assert acc.Industry is std.AccountIndustryPicklist.BANKING
    assert acc.CreatedDate == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert isinstance(acc.Owner, std.User) and acc.Owner.Name == "Ada" and acc.Owner.IsActive
    assert acc.Parent is None
    bulk_json = {
        "attributes": {"type": "Account"},
        "Id": "001A",
        "CreatedDate": 1704164645000,
        "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
    }
    acc = decode_record(std.Account, bulk_json, text=False)
    assert acc.CreatedDate == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert isinstance(acc.Owner, std.User) and acc.Owner.Name == "Ada"


def test_xml_query_records() -> None:
    xml = (
        f'<queryResult xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<records xsi:type="sObject"><type>Account</type><Id>001A</Id><Id>001A</Id>'
        '<Name>Acme</Name><Website xsi:nil="true"/>'
        '<Owner xsi:type="sObject"><type>User</type><Name>Ada</Name></Owner></records>'
        "</queryResult>"
    )
    assert parse_query_records(response(xml)) == [
        {
            "attributes": {"type": "Account"},
            "Id": "001A",
            "Name": "Acme",
            "Website": None,
            "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
        }
    ]
