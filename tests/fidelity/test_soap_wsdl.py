"""Every SOAP answer the fake org serves, checked against the real partner WSDL v66.

Two independent checks per answer, neither sharing code with the fake org's renderer:
- zeep, in its default strict mode, bound to the real WSDL, is the client: it builds each
  request and must parse each answer (or raise the fault as a `zeep.exceptions.Fault`);
- every answer envelope (recorded by a zeep plugin) is validated with lxml against an
  XMLSchema built from the WSDL's own `<types>`: the body element, each header element and a
  fault's `<detail>` element.

The WSDL is loaded with a minimal in-memory fix of its two published defects and nothing else:
the stray `"` after the APIPerformanceInfo part (text inside `<message>`, which no parser
takes) and `soap:address` (localhost:8080, pointed at the fake org instead). The sObject
wildcard stays `##targetNamespace` with `processContents="lax"`: partner fields are elements
of that very namespace (`sf:Name`), compounds carry `xsi:type="address"`, nested parents
`xsi:type="sf:sObject"` and child subqueries `xsi:type="QueryResult"`, so lax validation
checks them against their declared types; no `##any` widening is needed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
import zeep.exceptions
import zeep.xsd
from lxml import etree

from salesforce_typed.testing.server import FakeOrg

BINDING = "{urn:partner.soap.sforce.com}SoapBinding"
PARTNER = "{urn:partner.soap.sforce.com}"
SF = "{urn:sobject.partner.soap.sforce.com}"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
STRAY_QUOTE = '<part element="tns:APIPerformanceInfo"           name="APIPerformanceInfo"/>"'
PUBLISHED_ADDRESS = "http://localhost:8080/services/Soap/u/66.0"


def fixed_wsdl(realdata: Path, address: str) -> str:
    """The real WSDL with its two published defects fixed, each asserted to occur once."""
    text = (realdata / "wsdl" / "partner-v66.0.wsdl").read_text(encoding="utf-8")
    assert text.count(STRAY_QUOTE) == 1 and text.count(PUBLISHED_ADDRESS) == 1
    text = text.replace(STRAY_QUOTE, STRAY_QUOTE[:-1])
    return text.replace(PUBLISHED_ADDRESS, address)


def wsdl_schema(wsdl_text: str, folder: Path) -> etree.XMLSchema:
    """An XMLSchema of the WSDL's three inline schemas, one file each, imported by a root."""
    doc = etree.fromstring(wsdl_text.encode())
    schemas = doc.findall(f"{{{WSDL_NS}}}types/{{{XSD}}}schema")
    files = {}
    for i, schema in enumerate(schemas):
        files[schema.get("targetNamespace")] = folder / f"schema{i}.xsd"
    for schema in schemas:
        # Declare every prefix in scope: QName values (type="tns:ID") need them too.
        own = etree.Element(schema.tag, attrib=dict(schema.attrib), nsmap=schema.nsmap)
        own.extend(copy.deepcopy(child) for child in schema)
        for imp in own.findall(f"{{{XSD}}}import"):
            imp.set("schemaLocation", files[imp.get("namespace")].name)
        files[schema.get("targetNamespace")].write_bytes(etree.tostring(own))
    imports = "".join(
        f'<xsd:import namespace="{ns}" schemaLocation="{path.name}"/>' for ns, path in files.items()
    )
    root = folder / "root.xsd"
    root.write_text(f'<xsd:schema xmlns:xsd="{XSD}">{imports}</xsd:schema>', encoding="utf-8")
    return etree.XMLSchema(etree.parse(str(root)))


class Checked:
    """Every answer zeep received, validated against the schema; counts what it checked."""

    def __init__(self, schema: etree.XMLSchema) -> None:
        self.schema = schema
        self.operations: set[str] = set()
        self.envelopes = 0
        self.elements = 0
        self.last: etree._Element | None = None  # the last answer's body element

    def validate(self, operation: str, envelope: etree._Element) -> None:
        body = envelope.find(f"{{{SOAPENV}}}Body")
        assert body is not None and len(body) == 1
        self.last = body[0]
        parts = list(body)
        fault = body.find(f"{{{SOAPENV}}}Fault")
        if fault is not None:
            parts = list(fault.find("detail") if fault.find("detail") is not None else [])
            assert parts, "a partner fault carries its ApiFault in <detail>"
        header = envelope.find(f"{{{SOAPENV}}}Header")
        parts += list(header) if header is not None else []
        for part in parts:
            tree = etree.ElementTree(copy.deepcopy(part))
            if not self.schema.validate(tree):
                raise AssertionError(f"{operation}: {self.schema.error_log}")
            self.elements += sum(1 for _ in part.iter())
        self.envelopes += 1
        self.operations.add(operation)


class Recorder(zeep.Plugin):  # type: ignore[misc]
    def __init__(self, checked: Checked) -> None:
        self.checked = checked

    def ingress(self, envelope: Any, http_headers: Any, operation: Any) -> Any:
        self.checked.validate(operation.name, envelope)
        return envelope, http_headers


@pytest.fixture(scope="module")
def checked(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    folder = tmp_path_factory.mktemp("partner-schema")
    found = Checked(wsdl_schema(fixed_wsdl(realdata, PUBLISHED_ADDRESS), folder))
    yield found
    print(  # the counts the closing note quotes
        f"\nSOAP WSDL fidelity: {len(found.operations)} operations "
        f"({', '.join(sorted(found.operations))}), {found.envelopes} envelopes, "
        f"{found.elements} elements schema-validated"
    )


@pytest.fixture
def soap(
    fake_org: FakeOrg, realdata: Path, tmp_path: Path, checked: Checked
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(zeep service on the org's 66.0 endpoint, SessionHeader of a SOAP login at 64.0)."""
    path = tmp_path / "partner.wsdl"
    path.write_text(fixed_wsdl(realdata, f"{fake_org.instance_url}/services/Soap/u/66.0"))
    client = zeep.Client(str(path), plugins=[Recorder(checked)])
    assert client.settings.strict  # zeep's default, relied on
    creds = fake_org.credentials()
    login = client.create_service(BINDING, f"{fake_org.instance_url}/services/Soap/u/64.0")
    result = login.login(
        username=creds["username"], password=creds["password"] + creds["security_token"]
    )
    assert result.userInfo.userName == creds["username"]
    assert result.userInfo.chatterExternal is False
    service = client.create_service(BINDING, f"{fake_org.instance_url}/services/Soap/u/66.0")
    yield service, {"SessionHeader": {"sessionId": result.sessionId}}


def _field(name: str, text: str) -> etree._Element:
    element = etree.Element(f"{SF}{name}")
    element.text = text
    return element


def _sobject(service: Any, sobject_type: str, **fields: str) -> Any:
    make = service._client.get_type(f"{SF}sObject")
    record_id = fields.pop("Id", None)
    return make(type=sobject_type, Id=record_id, _value_1=[_field(k, v) for k, v in fields.items()])


def _fields(record: Any) -> dict[str, Any]:
    """The wildcard of a zeep sObject: plain fields stay lxml elements; an element with an
    `xsi:type` zeep knows (address, sObject, QueryResult) comes as zeep's AnyObject."""
    out: dict[str, Any] = {}
    for item in record._value_1:
        name = etree.QName(item).localname if isinstance(item, etree._Element) else None
        out[name or type(item).__name__] = item
    return out


def test_session_calls(soap: tuple[Any, dict[str, Any]]) -> None:
    service, header = soap
    info = service.getUserInfo(_soapheaders=header).body.result
    assert info.chatterExternal is False and info.roleId is None
    stamp = service.getServerTimestamp(_soapheaders=header).body.result.timestamp
    assert stamp.tzinfo is not None


def test_writes_and_reads(soap: tuple[Any, dict[str, Any]], checked: Checked) -> None:
    service, header = soap
    account = _sobject(service, "Account", Name="Acme", BillingCity="Paris", BillingStreet="1 Rue")
    contact = _sobject(service, "Contact", LastName="Doe")
    saved = service.create(sObjects=[account, contact], _soapheaders=header).body.result
    assert [s.success for s in saved] == [True, True]
    account_id, contact_id = saved[0].id, saved[1].id
    updated = service.update(
        sObjects=[_sobject(service, "Account", Id=account_id, Website="acme.test")],
        _soapheaders=header,
    ).body.result
    assert updated[0].success
    (upserted,) = service.upsert(
        externalIDFieldName="Id",
        sObjects=[_sobject(service, "Contact", Id=contact_id, AccountId=account_id)],
        _soapheaders=header,
    ).body.result
    assert upserted.success and upserted.created is False

    page = service.query(
        queryString="SELECT Id, Name, BillingAddress, (SELECT LastName FROM Contacts) FROM Account",
        _soapheaders=header,
    ).body.result
    (record,) = page.records
    assert record.Id == account_id
    assert _fields(record)["address"].city == "Paris"  # zeep binds xsi:type="address"
    assert len(_fields(record)["QueryResult"].records) == 1  # the Contacts subquery
    assert checked.last is not None
    address = checked.last.find(f".//{SF}BillingAddress")
    assert address is not None and [etree.QName(e).localname for e in address] == [
        "latitude",
        "longitude",
        "city",
        "country",
        "countryCode",
        "geocodeAccuracy",
        "postalCode",
        "state",
        "stateCode",
        "street",
    ]
    parent = service.query(
        queryString="SELECT LastName, Account.Name FROM Contact", _soapheaders=header
    ).body.result
    nested = _fields(parent.records[0])
    assert _fields(nested["sObject"])["Name"].text == "Acme"  # zeep binds sf:sObject

    (got, missing) = service.retrieve(
        fieldList="Id, Name, BillingAddress",
        sObjectType="Account",
        ids=[account_id, account_id[:5] + "0" * 10],
        _soapheaders=header,
    ).body.result
    assert got.Id == account_id and missing.type is None  # zeep reads a nil sObject empty
    assert checked.last is not None
    nil = checked.last.findall(f"{PARTNER}result")[1].get(f"{{{XSI}}}nil")
    assert nil == "true"
    assert "Id" not in _fields(got)  # retrieve sends Id once, in its fixed element

    failed = service.create(sObjects=[_sobject(service, "Contact")], _soapheaders=header)
    assert failed.body.result[0].success is False

    deleted = service.delete(ids=[contact_id], _soapheaders=header).body.result
    assert deleted[0].success
    everything = service.queryAll(
        queryString="SELECT Id, IsDeleted FROM Contact", _soapheaders=header
    ).body.result
    assert everything.size == 1
    restored = service.undelete(ids=[contact_id], _soapheaders=header).body.result
    assert restored[0].success


def test_query_more(soap: tuple[Any, dict[str, Any]]) -> None:
    service, header = soap
    names = [_sobject(service, "Account", Name=f"A{i:03d}") for i in range(200)]
    for chunk in (names, [_sobject(service, "Account", Name="Z")]):
        assert all(
            s.success for s in service.create(sObjects=chunk, _soapheaders=header).body.result
        )
    # v66 marks QueryOptions.scope required; Salesforce documents batchSize alone.
    paged = {**header, "QueryOptions": {"batchSize": 200, "scope": zeep.xsd.SkipValue}}
    first = service.query(queryString="SELECT Id FROM Account", _soapheaders=paged).body.result
    assert first.done is False and len(first.records) == 200
    rest = service.queryMore(queryLocator=first.queryLocator, _soapheaders=paged).body.result
    assert rest.done is True and len(rest.records) == 1


def test_merge_and_recycle_bin(soap: tuple[Any, dict[str, Any]]) -> None:
    service, header = soap
    saved = service.create(
        sObjects=[_sobject(service, "Account", Name=n) for n in ("Master", "Loser")],
        _soapheaders=header,
    ).body.result
    master, loser = saved[0].id, saved[1].id
    request = {"masterRecord": _sobject(service, "Account", Id=master), "recordToMergeIds": [loser]}
    (merged,) = service.merge(request=[request], _soapheaders=header).body.result
    assert merged.success and merged.mergedRecordIds == [loser]
    (emptied,) = service.emptyRecycleBin(ids=[loser], _soapheaders=header).body.result
    assert emptied.success


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("bad_login", "INVALID_LOGIN"),
        ("bad_query", "MALFORMED_QUERY"),
        ("bad_session", "INVALID_SESSION_ID"),
        ("bad_field", "INVALID_FIELD"),
        ("bad_type", "INVALID_TYPE"),
        ("bad_locator", "INVALID_QUERY_LOCATOR"),
        ("bad_describe", "INVALID_TYPE"),
    ],
)
def test_faults(soap: tuple[Any, dict[str, Any]], fake_org: FakeOrg, call: str, code: str) -> None:
    service, header = soap
    login = service._client.create_service(BINDING, f"{fake_org.instance_url}/services/Soap/u/64.0")
    calls = {
        "bad_login": lambda: login.login(username="nobody@example.com", password="x"),
        "bad_query": lambda: service.query(queryString="SELEC Id FROM", _soapheaders=header),
        "bad_session": lambda: service.getUserInfo(
            _soapheaders={"SessionHeader": {"sessionId": "00Dxx!bogus"}}
        ),
        "bad_field": lambda: service.query(
            queryString="SELECT Nope__x FROM Account", _soapheaders=header
        ),
        "bad_type": lambda: service.query(queryString="SELECT Id FROM Nope", _soapheaders=header),
        "bad_locator": lambda: service.queryMore(queryLocator="01gXX-2000", _soapheaders=header),
        "bad_describe": lambda: service.describeSObject(sObjectType="Nope", _soapheaders=header),
    }
    with pytest.raises(zeep.exceptions.Fault) as caught:
        calls[call]()
    assert caught.value.code == f"sf:{code}"
    assert caught.value.detail is not None


def test_describes(soap: tuple[Any, dict[str, Any]], fake_org: FakeOrg) -> None:
    service, header = soap
    described = service.describeGlobal(_soapheaders=header).body.result
    names = [s.name for s in described.sobjects]
    assert names == fake_org.state.schema.names() and described.maxBatchSize == 200
    account = service.describeSObject(sObjectType="account", _soapheaders=header).body.result
    rest = fake_org.state.schema.describe("Account")
    assert rest is not None and account.name == "Account"
    assert [f.name for f in account.fields] == [f["name"] for f in rest["fields"]]
    billing = next(f for f in account.fields if f.name == "BillingAddress")
    assert billing.soapType == "tns:address" and billing.type == "address"
    every = service.describeSObjects(
        sObjectType=fake_org.state.schema.names(), _soapheaders=header
    ).body.result
    assert [d.name for d in every] == fake_org.state.schema.names()


def test_search(soap: tuple[Any, dict[str, Any]]) -> None:
    service, header = soap
    created = service.create(
        sObjects=[_sobject(service, "Account", Name="Searchable Widgets")], _soapheaders=header
    ).body.result
    found = service.search(
        searchString="FIND {Widgets} IN NAME FIELDS RETURNING Account(Id, Name)",
        _soapheaders=header,
    ).body.result
    (hit,) = found.searchRecords
    assert hit.record.type == "Account" and hit.record.Id == created[0].id
    assert _fields(hit.record)["Name"].text == "Searchable Widgets" and found.queryId
    with pytest.raises(zeep.exceptions.Fault) as caught:
        service.search(searchString="FIND Widgets", _soapheaders=header)
    assert caught.value.code == "sf:MALFORMED_SEARCH"


def test_convert_lead_aggregate_and_logout(soap: tuple[Any, dict[str, Any]]) -> None:
    service, header = soap
    (lead,) = service.create(
        sObjects=[_sobject(service, "Lead", LastName="Lee", Company="Lee Ltd")],
        _soapheaders=header,
    ).body.result
    convert = {
        "leadId": lead.id,
        "convertedStatus": "Closed - Converted",
        "doNotCreateOpportunity": False,
        "overwriteLeadSource": False,
        "sendNotificationEmail": False,
    }
    (converted,) = service.convertLead(leadConverts=[convert], _soapheaders=header).body.result
    assert converted.success and converted.accountId and converted.opportunityId
    counted = service.query(
        queryString="SELECT Name, COUNT(Id) n FROM Account GROUP BY Name", _soapheaders=header
    ).body.result
    (row,) = counted.records
    assert row.type == "AggregateResult" and _fields(row)["n"].text == "1"
    service.logout(_soapheaders=header)
    with pytest.raises(zeep.exceptions.Fault) as caught:
        service.getUserInfo(_soapheaders=header)
    assert caught.value.code == "sf:INVALID_SESSION_ID"


def test_per_record_failures(soap: tuple[Any, dict[str, Any]]) -> None:
    """Failed rows carry `errors` (statusCode, message, fields) in every result type."""
    service, header = soap
    (account,) = service.create(
        sObjects=[_sobject(service, "Account", Name="Only")], _soapheaders=header
    ).body.result
    missing = "001" + "0" * 12
    results = {
        "update": service.update(
            sObjects=[_sobject(service, "Account", Id=missing, Name="x")], _soapheaders=header
        ),
        "upsert": service.upsert(
            externalIDFieldName="Id",
            sObjects=[_sobject(service, "Contact", FirstName="No Last Name")],
            _soapheaders=header,
        ),
        "delete": service.delete(ids=[missing], _soapheaders=header),
        "undelete": service.undelete(ids=[account.id], _soapheaders=header),
        "emptyRecycleBin": service.emptyRecycleBin(ids=[account.id], _soapheaders=header),
        "merge": service.merge(
            request=[
                {
                    "masterRecord": _sobject(service, "Account", Id=account.id),
                    "recordToMergeIds": [account.id],
                }
            ],
            _soapheaders=header,
        ),
        "convertLead": service.convertLead(
            leadConverts=[
                {
                    "leadId": "00Q" + "0" * 12,
                    "convertedStatus": "Closed - Converted",
                    "doNotCreateOpportunity": True,
                    "overwriteLeadSource": False,
                    "sendNotificationEmail": False,
                }
            ],
            _soapheaders=header,
        ),
    }
    for call, answer in results.items():
        (result,) = answer.body.result
        assert result.success is False and result.errors[0].statusCode, call


@pytest.mark.parametrize(
    "fields",
    [
        '<sf:BillingAddress xsi:type="address"><city>P</city></sf:BillingAddress>',
        '<sf:Owner xsi:type="sf:sObject"><sf:Name>x</sf:Name></sf:Owner>',
        "<Name>partner namespace, not the sObject one</Name>",
    ],
)
def test_the_schema_rejects_the_old_mistakes(checked: Checked, fields: str) -> None:
    """The validator is not lax about what the wildcard holds: an address out of schema
    order, a nested sObject without `type`/`Id`, a field outside the sObject namespace."""
    row = (
        '<queryResponse xmlns="urn:partner.soap.sforce.com" xmlns:sf="urn:sobject.partner.soap.'
        f'sforce.com" xmlns:xsi="{XSI}"><result xsi:type="QueryResult"><done>true</done>'
        '<queryLocator xsi:nil="true"/><records xsi:type="sf:sObject"><sf:type>Account</sf:type>'
        f'<sf:Id xsi:nil="true"/>{fields}</records><size>1</size></result></queryResponse>'
    )
    assert not checked.schema.validate(etree.ElementTree(etree.fromstring(row.encode())))
