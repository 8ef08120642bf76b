"""The fake org's SOAP wire format: requests read with ElementTree, answers and faults rendered.

Requests are read element by element (after the same DOCTYPE/ENTITY refusal the client
applies), not bound to the v66 WSDL classes: v66 marks header fields required that clients
rightly leave out (`QueryOptions.scope`, most of `CallOptions`), and reading by local name
accepts whatever prefixes an independent client picks, so the org cannot echo our client's
habits. Answers are built with the generated classes and xsdata, faults from a template.

Rows come in as the REST JSON the SOQL engine and the store speak. Answers must validate
against the real v66 partner WSDL (tests/fidelity/test_soap_wsdl.py): query rows repeat `Id`
(fixed element, then in the wildcard when selected), retrieve rows do not; nulls are
`xsi:nil`, datetimes `...000Z`; every sObject and QueryResult carries its `xsi:type` as
Salesforce's do; compounds list every child of `address`/`location` in schema order.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from xsdata.formats.dataclass.models.generics import AnyElement, DerivedElement

import salesforce_typed_soap as wsdl
from salesforce_typed.soap.envelope import (
    PARTNER_NS,
    SOAPENV_NS,
    SOBJECT_NS,
    XSI_NS,
    operation_classes,
    render,
)
from salesforce_typed.testing.org.http import Response
from salesforce_typed.testing.org.validation import FieldError

_NIL = f"{{{XSI_NS}}}nil"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_DATETIME_REST = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\+0000$")
_XML = ("content-type", "text/xml;charset=UTF-8")

# exceptionCode -> the ApiFault subtype Salesforce puts in <detail>.
FAULT_TYPES = {
    "INVALID_LOGIN": "LoginFault",
    "INVALID_FIELD": "InvalidFieldFault",
    "INVALID_TYPE": "InvalidSObjectFault",
    "MALFORMED_QUERY": "MalformedQueryFault",
    "MALFORMED_SEARCH": "MalformedSearchFault",
    "INVALID_QUERY_LOCATOR": "InvalidQueryLocatorFault",
    "INVALID_ID_FIELD": "InvalidIdFault",
}
_QUERY_FAULTS = frozenset(
    {"InvalidFieldFault", "InvalidSObjectFault", "MalformedQueryFault", "MalformedSearchFault"}
)


class SoapFaultError(Exception):
    """A whole-call fault: HTTP 500 with `faultcode` `sf:CODE` and an ApiFault detail.

    `client=True` is a `soapenv:Client` fault with no detail: the request itself is not a
    call the API understands (bad XML, unknown element, a value of the wrong xsd type).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        row: int | None = None,
        column: int | None = None,
        client: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.row = row
        self.column = column
        self.client = client

    def response(self) -> Response:
        if self.client:
            body = (
                f'<soapenv:Envelope xmlns:soapenv="{SOAPENV_NS}"><soapenv:Body><soapenv:Fault>'
                f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(self.message)}"
                "</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
            return Response(status=500, body=body.encode(), headers=[_XML])
        kind = FAULT_TYPES.get(self.code, "UnexpectedErrorFault")
        position = ""
        if kind in _QUERY_FAULTS:
            position = (
                f"<sf:row>{self.row or -1}</sf:row><sf:column>{self.column or -1}</sf:column>"
            )
        text = escape(self.message)
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV_NS}"'
            f' xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="{XSI_NS}">'
            f"<soapenv:Body><soapenv:Fault><faultcode>sf:{self.code}</faultcode>"
            f"<faultstring>{self.code}: {text}</faultstring><detail>"
            f'<sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{self.code}</sf:exceptionCode>'
            f"<sf:exceptionMessage>{text}</sf:exceptionMessage>{position}</sf:{kind}>"
            "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Response(status=500, body=body.encode(), headers=[_XML])


# -- reading requests ------------------------------------------------------------------------


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if local(c.tag) == name]


def text(element: ET.Element | None, name: str | None = None) -> str | None:
    """The text of `element` (or of its first child `name`); None when absent or nil."""
    if element is not None and name is not None:
        element = next(iter(children(element, name)), None)
    if element is None or element.get(_NIL) == "true":
        return None
    return element.text or ""


def flag(element: ET.Element | None, name: str) -> bool:
    return (text(element, name) or "").strip().lower() in ("true", "1")


def header(root: ET.Element, name: str) -> ET.Element | None:
    head = root.find(f"{{{SOAPENV_NS}}}Header")
    return None if head is None else next(iter(children(head, name)), None)


# Parents by external id nest a few levels at most; deeper is hostile (a recursion bomb).
MAX_SOBJECT_NESTING = 10


def read_sobject(element: ET.Element, depth: int = 0) -> tuple[str, str | None, dict[str, Any]]:
    """(type, Id, REST-shaped body) of a partner sObject; `fieldsToNull` become nulls and a
    nested sObject (a parent by external id) becomes `{"attributes": {"type": ...}, ...}`."""
    if depth > MAX_SOBJECT_NESTING:
        raise SoapFaultError(
            "INVALID_XML", f"sObjects nest deeper than {MAX_SOBJECT_NESTING} levels", client=True
        )
    sobject_type = ""
    record_id: str | None = None
    body: dict[str, Any] = {}
    nulls: list[str] = []
    for child in element:
        name = local(child.tag)
        if name == "type":
            sobject_type = (child.text or "").strip()
        elif name == "fieldsToNull":
            nulls.append((child.text or "").strip())
        elif name == "Id":
            record_id = text(child) or record_id
        elif len(child):
            nested_type, nested_id, nested = read_sobject(child, depth + 1)
            if nested_id:
                nested["Id"] = nested_id
            body[name] = {"attributes": {"type": nested_type}, **nested}
        else:
            body[name] = text(child)
    for name in nulls:
        if name:
            body[name] = None
    return sobject_type, record_id, body


# -- writing answers -------------------------------------------------------------------------


def soap_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        m = _DATETIME_REST.match(value)
        return f"{m.group(1)}Z" if m else value
    return str(value)


# Compound children in the WSDL's sequence order (`address` extends `location`); every child
# is required and nillable, so one the row lacks is sent as nil.
LOCATION_PARTS = ("latitude", "longitude")
ADDRESS_PARTS = (
    *LOCATION_PARTS,
    *("city", "country", "countryCode", "geocodeAccuracy", "postalCode", "state", "stateCode"),
    "street",
)


def _part(name: str, value: Any) -> AnyElement:
    qname = f"{{{PARTNER_NS}}}{name}"
    if value is None:
        return AnyElement(qname=qname, attributes={_NIL: "true"})
    return AnyElement(qname=qname, text=soap_text(value))


def _field(name: str, value: Any) -> object:
    qname = f"{{{SOBJECT_NS}}}{name}"
    if value is None:
        return AnyElement(qname=qname, attributes={_NIL: "true"})
    if isinstance(value, dict):
        if "attributes" in value:
            return typed(qname, sobject(value))
        if "records" in value:
            return typed(qname, query_result(value, None))
        kind, names = (
            ("location", LOCATION_PARTS)
            if set(value) <= set(LOCATION_PARTS)
            else ("address", ADDRESS_PARTS)
        )
        parts: list[object] = [_part(k, value.get(k)) for k in names]
        return AnyElement(qname=qname, attributes={_XSI_TYPE: kind}, children=parts)
    return AnyElement(qname=qname, text=soap_text(value))


def typed(qname: str, value: wsdl.SObject | wsdl.QueryResult) -> DerivedElement[Any]:
    """`value` as element `qname` with the `xsi:type` Salesforce writes on every sObject and
    QueryResult (`sf:sObject`, `QueryResult`), wherever the schema declares the type too."""
    kind = "QueryResult" if isinstance(value, wsdl.QueryResult) else "sObject"
    namespace = PARTNER_NS if kind == "QueryResult" else SOBJECT_NS
    return DerivedElement(qname=qname, value=value, type=f"{{{namespace}}}{kind}")


def sobject(row: dict[str, Any], *, repeat_id: bool = True) -> wsdl.SObject:
    """A REST JSON record as a partner sObject. Queries repeat a selected `Id` in the wildcard
    (Salesforce does); retrieve sends it once (`repeat_id=False`)."""
    attributes = row.get("attributes") or {}
    fields = [
        _field(k, v) for k, v in row.items() if k != "attributes" and (repeat_id or k != "Id")
    ]
    record_id = row.get("Id")
    return wsdl.SObject(
        type_value=str(attributes.get("type", "")),
        id=str(record_id) if record_id is not None else None,
        any_element=fields,
    )


def query_result(page: dict[str, Any], locator: str | None) -> wsdl.QueryResult:
    """A REST query page (`totalSize`, `done`, `records`) as a partner QueryResult."""
    records = page.get("records") or []
    rendered: list[Any] = [typed(f"{{{PARTNER_NS}}}records", sobject(r)) for r in records]
    return wsdl.QueryResult(
        done=bool(page.get("done", True)),
        query_locator=locator,
        size=int(page.get("totalSize", len(records))),
        records=rendered,
    )


def errors(found: list[FieldError]) -> list[wsdl.Error]:
    return [wsdl.Error(status_code=e.code, message=e.message, fields=list(e.fields)) for e in found]


def answer(operation: str, response: Any, *, limit: wsdl.LimitInfo | None) -> Response:
    """The 200 envelope of a call, with the LimitInfoHeader where the WSDL has one."""
    _, output_cls, _, response_field = operation_classes(operation)
    parts: dict[str, Any] = {"body": output_cls.Body(**{response_field: response})}
    if limit is not None and hasattr(output_cls, "Header"):  # login's output has no Header
        info = wsdl.LimitInfoHeader(limit_info=[limit])
        parts["header"] = output_cls.Header(limit_info_header=info)
    envelope = output_cls(**parts)
    return Response(status=200, body=render(envelope), headers=[_XML])
