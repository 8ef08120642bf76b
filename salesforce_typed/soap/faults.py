"""SOAP faults as typed exceptions: `sf:exceptionCode` -> class, on the one error tree.

The classes (`SoapFaultError` and one subclass per code we key on, plus
`UnreadableResponseError`, alias `SoapProtocolError`, and `UnsafeXmlError`) are defined and
drawn in `core/errors.py`; they are imported here so `soap.faults` keeps its names.

Each fault class also derives from the REST class for the same errorCode, so
`except AuthenticationError` catches an expired session from either API. The class is picked
by `sf:exceptionCode` (else the `faultcode` after its prefix), never by message: clients key
on codes. Messages carry only what Salesforce said plus the URL path; session ids never
appear in faults, and nothing here reads request bodies.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from salesforce_typed.core.errors import (
    InvalidFieldError,
    InvalidIdFieldError,
    InvalidLoginError,
    InvalidOperationError,
    InvalidQueryLocatorError,
    InvalidSessionIdError,
    InvalidTypeError,
    MalformedQueryError,
    SoapFaultError,
    SoapProtocolError,
    SoapRequestLimitError,
    UnsafeXmlError,
    UnsupportedApiVersionError,
)

__all__ = [
    "FAULT_CLASSES",
    "InvalidFieldError",
    "InvalidIdFieldError",
    "InvalidLoginError",
    "InvalidOperationError",
    "InvalidQueryLocatorError",
    "InvalidSessionIdError",
    "InvalidTypeError",
    "MalformedQueryError",
    "SoapFaultError",
    "SoapProtocolError",
    "SoapRequestLimitError",
    "UnsafeXmlError",
    "UnsupportedApiVersionError",
    "fault_from_element",
]

SOAPENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


FAULT_CLASSES: dict[str, type[SoapFaultError]] = {
    "INVALID_LOGIN": InvalidLoginError,
    "INVALID_SESSION_ID": InvalidSessionIdError,
    "INVALID_FIELD": InvalidFieldError,
    "INVALID_ID_FIELD": InvalidIdFieldError,
    "INVALID_TYPE": InvalidTypeError,
    "MALFORMED_QUERY": MalformedQueryError,
    "INVALID_QUERY_LOCATOR": InvalidQueryLocatorError,
    "INVALID_OPERATION": InvalidOperationError,
    "UNSUPPORTED_API_VERSION": UnsupportedApiVersionError,
    "REQUEST_LIMIT_EXCEEDED": SoapRequestLimitError,
}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(parent: ET.Element, local: str) -> str | None:
    for child in parent:
        if _local(child.tag) == local:
            return (child.text or "").strip()
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def fault_from_element(fault: ET.Element, *, status_code: int, url: str = "") -> SoapFaultError:
    """The typed exception for a parsed `soapenv:Fault` element.

    The detail's `exceptionCode` wins over `faultcode` (they agree on Salesforce; a proxy's
    fault may have only the latter). `faultstring` repeats the code as a prefix, so the
    detail's `exceptionMessage` is preferred for the message.
    """
    fault_code = _text(fault, "faultcode") or ""
    fault_string = _text(fault, "faultstring") or ""
    detail_type = ""
    code = ""
    message = ""
    row = column = None
    detail = next((c for c in fault if _local(c.tag) == "detail"), None)
    entry = next(iter(detail), None) if detail is not None else None
    if entry is not None:
        detail_type = _local(entry.get(XSI_TYPE, "") or entry.tag).rpartition(":")[2]
        code = _text(entry, "exceptionCode") or ""
        message = _text(entry, "exceptionMessage") or ""
        row, column = _int(_text(entry, "row")), _int(_text(entry, "column"))
    if not code:
        code = fault_code.rpartition(":")[2]
    if not message:
        prefix = f"{code}: "
        message = fault_string.removeprefix(prefix) if code else fault_string
    cls = FAULT_CLASSES.get(code, SoapFaultError)
    kwargs: dict[str, Any] = {"row": row, "column": column}
    return cls(
        message[:2000] or f"SOAP fault {fault_code}",
        status_code=status_code,
        error_code=code,
        fault_code=fault_code,
        fault_type=detail_type,
        url=url,
        **kwargs,
    )
