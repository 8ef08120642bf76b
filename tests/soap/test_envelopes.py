"""SOAP envelopes without a server: real recorded responses in, WSDL-valid requests out.

Recorded partner responses (../shared/realdata, API 28.0) must parse into the generated
classes and decode into our typed models with their dynamic fields; every request we build
must validate against the real v66 partner schema (xmlschema, an independent validator);
hostile XML must be refused before any parser sees it.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.dom import minidom

import pytest
import xmlschema

import salesforce_typed_soap as wsdl
import salesforce_typed_std as std
from codegen.soap import load_rules, preprocess_wsdl
from salesforce_typed import UNSET, Record
from salesforce_typed.core.errors import QueryError, ServerError
from salesforce_typed.soap import (
    InvalidLoginError,
    InvalidSessionIdError,
    LeadConvert,
    MalformedQueryError,
    MergeRequest,
    SoapFaultError,
    SoapProtocolError,
    UnsafeXmlError,
    calls,
)
from salesforce_typed.soap.envelope import (
    HTTP_HEADERS,
    NS_MAP,
    SoapCall,
    build_http_request,
    check_safe,
    server_url,
)
from salesforce_typed.soap.records import decode_sobject, encode_sobject, sobject_fields

XSD = "http://www.w3.org/2001/XMLSchema"
SF = "{urn:sobject.partner.soap.sforce.com}"
BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
HEADER = "{http://schemas.xmlsoap.org/soap/envelope/}Header"

# The recorded response of each kept operation, and the call that reads it.
FIXTURE_CALLS: dict[str, SoapCall[Any]] = {
    "create_response": calls.build_create([]),
    "create_response_failure": calls.build_create([]),
    "delete_response": calls.build_delete([]),
    "delete_response_failure": calls.build_delete([]),
    "get_user_info_response": calls.build_get_user_info(),
    "login_response": calls.build_login("u", "p"),
    "merge_response": calls.build_merge([]),
    "merge_response_failure": calls.build_merge([]),
    "org_id_response": calls.build_query("SELECT Id FROM Organization"),
    "query_all_response": calls.build_query("SELECT Id FROM Opportunity", include_deleted=True),
    "query_more_response": calls.build_query_more("01gD0000002HU6KIAW-500"),
    "query_response": calls.build_query("SELECT Id FROM Opportunity"),
    "retrieve_response": calls.build_retrieve("Opportunity", ["Name"], ["006A000000LbkT5IAJ"]),
    "update_response": calls.build_update([]),
    "update_response_failure": calls.build_update([]),
    "upsert_response": calls.build_upsert("Ext__c", []),
}
# Recorded responses of calls outside the generated subset (describe*, process, search).
OTHER_FIXTURES = {
    "describe_global_response",
    "describe_layout_response",
    "describe_s_object_response",
    "describe_s_objects_response",
    "process_submit_request_response",
    "process_workitem_request_response",
    "search_response",
}


@pytest.fixture(scope="module")
def fixtures(realdata: Path) -> dict[str, bytes]:
    folder = realdata / "fixtures" / "soap" / "soapforce"
    return {p.stem: p.read_bytes() for p in sorted(folder.glob("*.xml"))}


@pytest.fixture(scope="module")
def schema(realdata: Path) -> xmlschema.XMLSchema:
    """The partner schemas of the preprocessed v66 WSDL (the input of our codegen)."""
    text = (realdata / "wsdl" / "partner-v66.0.wsdl").read_text(encoding="utf-8")
    doc = minidom.parseString(preprocess_wsdl(text, load_rules()))
    root = doc.documentElement
    assert root is not None
    decls = {a.name: a.value for a in root.attributes.values() if a.name.startswith("xmlns")}
    sources = []
    for node in doc.getElementsByTagNameNS(XSD, "schema"):
        for name, value in decls.items():  # QName values (type="tns:X") need the prefixes
            if not node.hasAttribute(name):
                node.setAttribute(name, value)
        for imp in node.getElementsByTagNameNS(XSD, "import"):
            if imp.hasAttribute("schemaLocation"):
                imp.removeAttribute("schemaLocation")
        sources.append(node.toxml())
    return xmlschema.XMLSchema(list[Any](sources))


def schema_errors(schema: xmlschema.XMLSchema, envelope: bytes) -> dict[str, list[str]]:
    """Validation errors of every header and body element, by element name."""
    root = ET.fromstring(envelope)
    out: dict[str, list[str]] = {}
    for part in (root.find(HEADER), root.find(BODY)):
        for element in part if part is not None else ():
            reasons = [str(e.reason) for e in schema.iter_errors(element, namespaces=NS_MAP)]
            out[element.tag.rpartition("}")[2]] = reasons
    return out


# -- recorded responses -------------------------------------------------------------------------


def test_every_fixture_is_safe_xml_and_each_kept_one_parses_strictly(
    fixtures: dict[str, bytes],
) -> None:
    assert set(fixtures) == set(FIXTURE_CALLS) | OTHER_FIXTURES
    for name, data in fixtures.items():
        check_safe(data)
        if name in FIXTURE_CALLS:
            assert FIXTURE_CALLS[name].parse(200, data, strict=True) is not None, name


def test_fixtures_of_other_calls_are_not_mistaken_for_ours(fixtures: dict[str, bytes]) -> None:
    for name in sorted(OTHER_FIXTURES):
        with pytest.raises(SoapProtocolError, match="no <queryResponse>"):
            calls.build_query("SELECT Id FROM Account").parse(200, fixtures[name])


@pytest.mark.parametrize("name", ["query_response", "query_all_response", "query_more_response"])
def test_query_fixtures_decode_into_typed_opportunities(
    fixtures: dict[str, bytes], name: str
) -> None:
    call = FIXTURE_CALLS[name]
    result = call.parse(200, fixtures[name], strict=True)
    assert (result.done, result.query_locator, result.size) == (True, None, 2)
    first, second = (
        decode_sobject(r, std.Opportunity, "salesforce_typed_std") for r in result.records
    )
    assert isinstance(first, std.Opportunity)
    assert (first.Id, first.Name, first.StageName) == (
        "006A000000LZhwNIAT",
        "Opportunity 1",
        std.OpportunityStageNamePicklist.PROSPECTING,
    )
    assert first.extra_fields == {}  # the repeated Id is read once, nothing left over
    assert isinstance(second, std.Opportunity)
    assert second.StageName == std.OpportunityStageNamePicklist.VALUE_PROPOSITION


def test_retrieve_fixture_keeps_nil_fields(fixtures: dict[str, bytes]) -> None:
    (record,) = FIXTURE_CALLS["retrieve_response"].parse(200, fixtures["retrieve_response"])
    assert sobject_fields(record) == {
        "Id": "006A000000LbkT5IAJ",
        "Name": "SOAPForce Opportunity",
        "Description": None,
        "StageName": "Prospecting",
    }
    opp = decode_sobject(record, std.Opportunity, "salesforce_typed_std")
    assert isinstance(opp, std.Opportunity)
    assert opp.Description is None and opp.Amount is UNSET


def test_unknown_type_decodes_as_record(fixtures: dict[str, bytes]) -> None:
    result = FIXTURE_CALLS["org_id_response"].parse(200, fixtures["org_id_response"])
    (org,) = [decode_sobject(r, None, "") for r in result.records]
    assert isinstance(org, Record) and org.type_name == "Organization"
    assert org["Id"] == "00DA0000000YpZ4MAK"


def test_results_and_failures_are_typed(fixtures: dict[str, bytes]) -> None:
    (failed,) = FIXTURE_CALLS["create_response_failure"].parse(
        200, fixtures["create_response_failure"]
    )
    assert isinstance(failed, wsdl.SaveResult) and not failed.success and failed.id is None
    assert failed.errors[0].status_code == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
    created, updated = FIXTURE_CALLS["upsert_response"].parse(200, fixtures["upsert_response"])
    assert (created.created, updated.created) == (True, False)
    (merged,) = FIXTURE_CALLS["merge_response"].parse(200, fixtures["merge_response"])
    assert merged.merged_record_ids == ["001140000000000AA4", "001150000000000AAO"]
    login = FIXTURE_CALLS["login_response"].parse(200, fixtures["login_response"])
    assert login.user_info is not None and login.user_info.role_id is None


def test_recorded_responses_validate_against_the_schema(
    fixtures: dict[str, bytes], schema: xmlschema.XMLSchema
) -> None:
    """The schema check is a real one: Salesforce's own answers pass it. (Not
    retrieve_response: Salesforce writes `xsi:nil` on wildcard fields, which xmlschema
    calls "not nillable" since no declaration says they are.)"""
    for name in ("query_response", "upsert_response", "login_response", "merge_response"):
        errors = schema_errors(schema, fixtures[name])
        assert all(not e for e in errors.values()), (name, errors)


# -- requests we build --------------------------------------------------------------------------


def _requests() -> dict[str, SoapCall[Any]]:
    contact = std.Contact(
        Id="0035g0000000001AAA",
        LastName="Ng",
        Email=None,
        Birthdate=dt.date(1990, 5, 1),
        Department="R&D",
        Account=std.Account(AccountNumber="A-1"),
    )
    encoded_create = encode_sobject(contact, "create", id_field=False)
    encoded_update = encode_sobject(contact, "update")
    convert = LeadConvert(
        lead_id="00Q5g0000000001EAA",
        converted_status="Closed - Converted",
        opportunity_name="Big deal",
        account_record=std.Account(Name="Acme"),
    )
    merge = MergeRequest(
        master=std.Account(Id="0015g0000000001AAA", Name="Acme"), merge_ids=["0015g0000000002AAA"]
    )
    return {
        "login": calls.build_login("user@example.com", "secret" + "token"),
        "logout": calls.build_logout(),
        "getUserInfo": calls.build_get_user_info(),
        "getServerTimestamp": calls.build_get_server_timestamp(),
        "create": calls.build_create([encoded_create], all_or_none=True),
        "update": calls.build_update([encoded_update]),
        "upsert": calls.build_upsert("Email", [encoded_update]),
        "delete": calls.build_delete(["0035g0000000001AAA"]),
        "undelete": calls.build_undelete(["0035g0000000001AAA"], all_or_none=True),
        "emptyRecycleBin": calls.build_empty_recycle_bin(["0035g0000000001AAA"]),
        "retrieve": calls.build_retrieve("Contact", ["Id", "LastName"], ["0035g0000000001AAA"]),
        "query": calls.build_query("SELECT Id FROM Contact"),
        "queryAll": calls.build_query("SELECT Id FROM Contact", include_deleted=True),
        "queryMore": calls.build_query_more("01g5g0000000001AAA-500"),
        "convertLead": calls.build_convert_lead(
            [
                convert,
                LeadConvert(
                    lead_id="00Q5g0000000002EAA",
                    converted_status="Closed - Converted",
                    do_not_create_opportunity=True,
                ),
            ]
        ),
        "merge": calls.build_merge([merge]),
    }


@pytest.mark.parametrize("operation", sorted(_requests()))
def test_requests_validate_against_the_partner_schema(
    schema: xmlschema.XMLSchema, operation: str
) -> None:
    call = _requests()[operation]
    data = call.render("00D5g0000000001!session" if call.needs_session else None)
    errors = schema_errors(schema, data)
    assert operation in errors
    assert errors == {name: [] for name in errors}


def test_query_options_send_batch_size_alone(schema: xmlschema.XMLSchema) -> None:
    """v66 marks QueryOptions.scope required; every earlier WSDL and the docs have
    batchSize alone, and sending a scope would narrow the query: that one gap is expected."""
    data = calls.build_query("SELECT Id FROM Contact", batch_size=200).render("s")
    errors = schema_errors(schema, data)
    assert errors["query"] == [] and errors["SessionHeader"] == []
    (reason,) = errors["QueryOptions"]
    assert "scope" in reason
    assert b"<batchSize>200</batchSize>" in data


def test_encoding_sends_set_fields_only_and_nulls_as_fields_to_null() -> None:
    when = dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    record = std.Opportunity(
        Id="0065g0000000001AAA",
        Name="Deal",
        Amount=None,
        CloseDate=dt.date(2024, 6, 30),
        IsPrivate=False,
        LastActivityDate=UNSET,
    )
    encoded = encode_sobject(record, "update")
    assert encoded.id == "0065g0000000001AAA" and encoded.fields_to_null == ["Amount"]
    assert sobject_fields(encoded) == {
        "Id": "0065g0000000001AAA",
        "Name": "Deal",
        "CloseDate": "2024-06-30",
        "IsPrivate": "false",
    }
    created = encode_sobject(record, "create", id_field=False)
    assert created.id is None and created.fields_to_null == []  # create never sends nulls
    event = std.Event(ActivityDateTime=when, DurationInMinutes=30)
    assert sobject_fields(encode_sobject(event, "create"))["ActivityDateTime"] == (
        "2024-05-01T12:00:00.000Z"
    )


def test_http_request_goes_to_the_server_url_with_soap_headers() -> None:
    call = calls.build_get_server_timestamp()
    url = server_url("https://acme.my.salesforce.com/", "v62.0")
    assert url == "https://acme.my.salesforce.com/services/Soap/u/62.0"
    request = build_http_request(url, call)
    assert request.url == url and request.method == "POST"
    assert request.headers["SOAPAction"] == '""' == HTTP_HEADERS["SOAPAction"]
    assert request.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert b"SessionHeader" not in request.content  # the auth flow adds it at send time
    rendered = call.render("00D!secret-session")
    assert b"00D!secret-session" in rendered and "secret" not in repr(call)


# -- faults and hostile XML --------------------------------------------------------------------


def _fault(code: str, kind: str, message: str, extra: str = "") -> bytes:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail>"
        f'<sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage>{extra}</sf:{kind}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_faults_become_typed_errors_keyed_on_exception_code() -> None:
    call = calls.build_query("SELECT")
    with pytest.raises(InvalidSessionIdError) as dead:
        call.parse(500, _fault("INVALID_SESSION_ID", "UnexpectedErrorFault", "Illegal Session"))
    assert dead.value.status_code == 500 and dead.value.error_code == "INVALID_SESSION_ID"
    assert dead.value.fault_code == "sf:INVALID_SESSION_ID"
    with pytest.raises(MalformedQueryError) as bad:
        call.parse(
            500,
            _fault(
                "MALFORMED_QUERY",
                "MalformedQueryFault",
                "unexpected token",
                "<sf:row>1</sf:row><sf:column>7</sf:column>",
            ),
        )
    assert isinstance(bad.value, QueryError) and (bad.value.row, bad.value.column) == (1, 7)
    assert bad.value.fault_type == "MalformedQueryFault"
    with pytest.raises(InvalidLoginError):
        calls.build_login("u", "p").parse(500, _fault("INVALID_LOGIN", "LoginFault", "no"))
    with pytest.raises(SoapFaultError) as other:
        call.parse(500, _fault("SOMETHING_NEW", "UnexpectedErrorFault", "hm"))
    assert type(other.value) is SoapFaultError and other.value.error_code == "SOMETHING_NEW"


def test_non_soap_errors_map_onto_the_status_tree() -> None:
    call = calls.build_get_user_info()
    with pytest.raises(ServerError) as down:
        call.parse(503, b"<!DOCTYPE html><html><body>Down for maintenance</body></html>")
    assert down.value.status_code == 503
    with pytest.raises(UnsafeXmlError):  # a DOCTYPE in a 200 is never an error page
        call.parse(200, b"<!DOCTYPE html><html><body>hi</body></html>")
    with pytest.raises(ServerError):
        call.parse(503, b'[{"errorCode":"SERVER_UNAVAILABLE","message":"try again"}]')
    with pytest.raises(SoapProtocolError):
        call.parse(200, b"not xml at all")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns="urn:partner.soap.sforce.com"><soapenv:Body><getUserInfoResponse><result>
<userName>&xxe;</userName></result></getUserInfoResponse></soapenv:Body></soapenv:Envelope>"""

BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<x>&lol2;</x></soapenv:Body></soapenv:Envelope>"""


@pytest.mark.parametrize(
    "payload",
    [
        XXE,
        BOMB,
        XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-7"?>'),
        XXE.decode().encode("utf-16"),
    ],
    ids=["external-entity", "entity-expansion", "declared-utf7", "utf16"],
)
@pytest.mark.parametrize("status", [200, 500])
def test_hostile_xml_is_refused_before_parsing(payload: bytes, status: int) -> None:
    with pytest.raises(UnsafeXmlError):
        calls.build_get_user_info().parse(status, payload)


def test_unsafe_xml_error_is_a_protocol_error_not_a_fault() -> None:
    with pytest.raises(SoapProtocolError) as err:
        check_safe(XXE)
    assert not isinstance(err.value, SoapFaultError)
