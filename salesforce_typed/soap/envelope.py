"""SOAP envelopes in and out, with no I/O: the generated partner classes, xsdata, safe XML.

A `SoapCall` is one operation ready to send except for its session id: the auth flow owns the
token, so the envelope is rendered at send time (`render(session_id)`), once per attempt.
`parse` turns the HTTP answer into the call's typed result or raises the typed fault.

What must stay true:
- Every byte we parse passes `check_safe` first: no DOCTYPE, no ENTITY, UTF-8 only. With no
  DTD there are no entities to expand or fetch, so the stdlib expat parser (the xsdata
  handler we pin) never touches the network or the file system.
- Requests go to `server_url(instance, version)`, not the WSDL's address, with
  `SOAPAction: ""` and `Content-Type: text/xml; charset=UTF-8`.
- The session id exists only inside the rendered bytes: never in reprs, logs or errors.
- Responses parse leniently by default (a newer org may add elements), strictly in tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Generic, TypeVar

import attrs
import httpx
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.parsers.handlers import XmlEventHandler
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig

import salesforce_typed_soap as wsdl
from salesforce_typed.core.errors import error_from_response
from salesforce_typed.soap.faults import (
    SoapFaultError,
    SoapProtocolError,
    UnsafeXmlError,
    fault_from_element,
)

__all__ = [
    "DEFAULT_LOGIN_VERSION",
    "HTTP_HEADERS",
    "LOGIN_REMOVED_IN",
    "NS_MAP",
    "PARTNER_NS",
    "SOAPENV_NS",
    "SOBJECT_NS",
    "XSI_NS",
    "SoapCall",
    "body_element",
    "build_http_request",
    "check_safe",
    "operation_classes",
    "parse_envelope",
    "parse_fault",
    "parse_xml",
    "render",
    "server_url",
]

SOAPENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
SOBJECT_NS = "urn:sobject.partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NS_MAP = {"soapenv": SOAPENV_NS, "": PARTNER_NS, "sf": SOBJECT_NS, "xsi": XSI_NS}

# Salesforce removed login() from API 65.0 (and retires it everywhere in Summer '27); 64.0 is
# the last version that has it.
DEFAULT_LOGIN_VERSION = "64.0"
LOGIN_REMOVED_IN = 65.0

# The WSDL's soapAction is "", samples send the call name; Salesforce accepts any value.
HTTP_HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_SAFE_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})

_SERIALIZER = XmlSerializer(config=SerializerConfig(xml_declaration=True, encoding="UTF-8"))
_LENIENT = XmlParser(
    handler=XmlEventHandler,
    config=ParserConfig(fail_on_unknown_properties=False, load_dtd=False, resolve_entities=False),
)
_STRICT = XmlParser(
    handler=XmlEventHandler,
    config=ParserConfig(
        fail_on_unknown_properties=True,
        fail_on_unknown_attributes=True,
        fail_on_converter_warnings=True,
        load_dtd=False,
        resolve_entities=False,
    ),
)

T = TypeVar("T")
E = TypeVar("E")


def server_url(instance_url: str, api_version: str) -> str:
    """`{instance}/services/Soap/u/{version}`: the partner endpoint of an instance."""
    return f"{instance_url.rstrip('/')}/services/Soap/u/{api_version.removeprefix('v')}"


# -- safe XML ------------------------------------------------------------------------------


def check_safe(data: bytes) -> None:
    """Refuse XML that could declare entities or hide a declaration behind an encoding."""
    if data.startswith((b"\xfe\xff", b"\xff\xfe")) or b"\x00" in data[:64]:
        raise UnsafeXmlError("refused XML: not UTF-8 (UTF-16/32 is not a Salesforce encoding)")
    declared = _DECLARED_ENCODING.match(data.lstrip(b"\xef\xbb\xbf"))
    if declared is not None and declared.group(1).decode().lower() not in _SAFE_ENCODINGS:
        raise UnsafeXmlError(f"refused XML: encoding {declared.group(1).decode()!r} is not UTF-8")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeXmlError("refused XML: DOCTYPE/ENTITY declarations are not allowed in SOAP")


def parse_xml(data: bytes) -> ET.Element:
    """The element tree of checked bytes; malformed XML is a `SoapProtocolError`."""
    check_safe(data)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapProtocolError(f"malformed XML: {exc}") from None


def parse_envelope(data: bytes, output: type[E], *, strict: bool = False) -> E:
    """A whole envelope as a generated `Soap<Op>Output`/`Input` (xsi:type needs its prefixes)."""
    check_safe(data)
    try:
        return (_STRICT if strict else _LENIENT).from_bytes(data, output)
    except (ParserError, ET.ParseError, ValueError, TypeError) as exc:
        raise SoapProtocolError(f"unreadable {output.__name__} envelope: {exc}") from None


def render(envelope: Any) -> bytes:
    """A generated envelope as UTF-8 bytes with our fixed prefixes."""
    return _SERIALIZER.render(envelope, ns_map=NS_MAP).encode("utf-8")


def body_element(root: ET.Element) -> ET.Element | None:
    """The first child of `soapenv:Body`, or None when the envelope has none."""
    if root.tag != f"{{{SOAPENV_NS}}}Envelope":
        return None
    body = root.find(f"{{{SOAPENV_NS}}}Body")
    if body is None or len(body) == 0:
        return None
    return body[0]


def parse_fault(data: bytes, *, status_code: int, url: str = "") -> SoapFaultError | None:
    """The typed fault an answer carries, or None when it carries none."""
    root = parse_xml(data)
    child = body_element(root)
    if child is None or child.tag != f"{{{SOAPENV_NS}}}Fault":
        return None
    return fault_from_element(child, status_code=status_code, url=url)


# -- calls ---------------------------------------------------------------------------------


@cache
def operation_classes(operation: str) -> tuple[type[Any], type[Any], str, str]:
    """(Input class, Output class, Body field for the call, Body field for the response)."""
    # By lower-cased name: xsdata spells `describeSObject` as `SoapDescribeSobjectInput`.
    input_cls: type[Any] = _wsdl_classes()[f"soap{operation.lower()}input"]
    output_cls: type[Any] = _wsdl_classes()[f"soap{operation.lower()}output"]
    request_field = _field_for(input_cls.Body, operation)
    response_field = _field_for(output_cls.Body, f"{operation}Response")
    return input_cls, output_cls, request_field, response_field


@cache
def _wsdl_classes() -> dict[str, type[Any]]:
    return {name.lower(): getattr(wsdl, name) for name in wsdl.__all__}


def _field_for(body: type[Any], element: str) -> str:
    for f in dataclasses.fields(body):
        if f.metadata.get("name", f.name) == element:
            return f.name
    raise LookupError(f"{body.__qualname__} has no <{element}>")


def _ident(value: Any) -> Any:
    return value


@attrs.frozen(kw_only=True)
class SoapCall(Generic[T]):
    """One partner call minus its session id: the request element, headers, how to read it.

    `headers` maps the generated `Header` field names (`all_or_none_header`, `query_options`)
    to header elements. `extract` takes the generated `<op>Response` element to the result.
    `idempotent` tells the retry policy whether a send with an unknown outcome may be repeated.
    """

    operation: str
    body: Any = attrs.field(repr=False)
    extract: Callable[[Any], T] = attrs.field(default=_ident, repr=False)
    headers: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    idempotent: bool = True
    needs_session: bool = True

    def envelope(self, session_id: str | None) -> Any:
        input_cls, _, request_field, _ = operation_classes(self.operation)
        header_values = dict(self.headers)
        if session_id is not None:
            header_values["session_header"] = wsdl.SessionHeader(session_id=session_id)
        header = input_cls.Header(**header_values) if header_values else None
        return input_cls(header=header, body=input_cls.Body(**{request_field: self.body}))

    def render(self, session_id: str | None) -> bytes:
        return render(self.envelope(session_id))

    def parse(self, status_code: int, content: bytes, *, url: str = "", strict: bool = False) -> T:
        """The typed result, or the typed fault / status error the answer carries."""
        _, output_cls, _, response_field = operation_classes(self.operation)
        if status_code != 200 or b"Fault>" in content:
            _raise_failure(status_code, content, url)
        envelope = parse_envelope(content, output_cls, strict=strict)
        response = getattr(envelope.body, response_field, None)
        if response is None:
            raise SoapProtocolError(
                f"no <{self.operation}Response> in the answer", status_code=status_code, url=url
            )
        return self.extract(response)


def _is_html(content: bytes) -> bool:
    head = content.lstrip()[:64].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _raise_failure(status_code: int, content: bytes, url: str) -> None:
    """Raise what a non-200 answer (or a 200 with a fault) means; return if it is no failure.

    An HTML error page (maintenance 503, a proxy's 502) is a status error, retried by the
    policy; any other XML goes through `check_safe` first, whatever the status.
    """
    html = status_code != 200 and _is_html(content)
    if not html:
        check_safe(content)
        if content.lstrip()[:1] == b"<":
            try:
                fault = parse_fault(content, status_code=status_code, url=url)
            except SoapProtocolError:
                fault = None
            if fault is not None:
                raise fault
    if status_code == 200:
        return
    # Not a SOAP fault: a proxy, a maintenance page (503) or a REST-style JSON error.
    body: Any = content.decode("utf-8", "replace")
    if not html and content.lstrip()[:1] != b"<":
        with contextlib.suppress(ValueError):
            body = json.loads(content)
    raise error_from_response(status_code, body, method="POST", url=url)


def build_http_request(
    url: str, call: SoapCall[Any], *, session_id: str | None = None, user_agent: str = ""
) -> httpx.Request:
    """The HTTP request of a call. Calls that need a session get their envelope re-rendered
    by the auth flow (`SessionHeaderAuth`); the body rendered here then has no session."""
    headers = dict(HTTP_HEADERS)
    if user_agent:
        headers["User-Agent"] = user_agent
    return httpx.Request("POST", url, headers=headers, content=call.render(session_id))
