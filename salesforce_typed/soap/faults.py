"""SOAP faults as typed exceptions, on the one error tree of `core/errors.py`.

    APIStatusError
    └── SoapFaultError            status_code (500), error_code = sf:exceptionCode, fault_code,
        │                         fault_type (the detail element: LoginFault, ...), row, column
        ├── InvalidLoginError         INVALID_LOGIN            (also an AuthenticationError)
        ├── InvalidSessionIdError     INVALID_SESSION_ID       (also an AuthenticationError)
        ├── InvalidFieldError         INVALID_FIELD            (also a QueryError)
        ├── InvalidIdFieldError       INVALID_ID_FIELD         (also a QueryError)
        ├── InvalidTypeError          INVALID_TYPE             (also a QueryError)
        ├── MalformedQueryError       MALFORMED_QUERY          (also a QueryError)
        ├── InvalidQueryLocatorError  INVALID_QUERY_LOCATOR    (also a QueryError)
        ├── InvalidOperationError     INVALID_OPERATION (e.g. login at API 65.0+)
        ├── UnsupportedApiVersionError UNSUPPORTED_API_VERSION
        └── SoapRequestLimitError     REQUEST_LIMIT_EXCEEDED   (also a RequestLimitExceededError)
    SalesforceError
    └── SoapProtocolError         the answer is no SOAP envelope we can read
        └── UnsafeXmlError        a DTD or entity declaration: refused before parsing

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
    APIStatusError,
    AuthenticationError,
    QueryError,
    RequestLimitExceededError,
    SalesforceError,
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


class SoapProtocolError(SalesforceError):
    """The answer was not a SOAP envelope we can read (HTML error page, wrong body element).

    `status_code` is the HTTP status; the body is not kept, as it may echo the request.
    """

    def __init__(self, message: str, *, status_code: int = 0, url: str = "") -> None:
        self.status_code = status_code
        self.url = url
        where = f" ({url})" if url else ""
        super().__init__(f"{message}{where}")


class UnsafeXmlError(SoapProtocolError):
    """XML with a DOCTYPE or ENTITY declaration, or not UTF-8: refused unparsed.

    SOAP 1.1 forbids DTDs in messages, so refusing them loses nothing and rules out external
    entities (XXE), entity expansion bombs and network fetches in one check.
    """


class SoapFaultError(APIStatusError):
    """A `soapenv:Fault`: Salesforce refused the whole call (per-record failures are values)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str,
        fault_code: str = "",
        fault_type: str = "",
        row: int | None = None,
        column: int | None = None,
        method: str = "POST",
        url: str = "",
    ) -> None:
        self.fault_code = fault_code
        self.fault_type = fault_type
        self.row = row
        self.column = column
        super().__init__(
            message,
            status_code=status_code,
            error_code=error_code,
            errors=({"errorCode": error_code, "message": message},),
            method=method,
            url=url,
        )


class InvalidLoginError(SoapFaultError, AuthenticationError):
    """INVALID_LOGIN: wrong username, password or security token, or the user is locked out."""


class InvalidSessionIdError(SoapFaultError, AuthenticationError):
    """INVALID_SESSION_ID: the SessionHeader's session expired or was never valid."""


class InvalidFieldError(SoapFaultError, QueryError):
    """INVALID_FIELD: a field name in a query, retrieve fieldList or upsert is unknown."""


class InvalidIdFieldError(SoapFaultError, QueryError):
    """INVALID_ID_FIELD: an id of the wrong type or shape where the call needs one."""


class InvalidTypeError(SoapFaultError, QueryError):
    """INVALID_TYPE: the sObject type is unknown (InvalidSObjectFault)."""


class MalformedQueryError(SoapFaultError, QueryError):
    """MALFORMED_QUERY: the SOQL does not parse; `row`/`column` point at the spot."""


class InvalidQueryLocatorError(SoapFaultError, QueryError):
    """INVALID_QUERY_LOCATOR: the cursor expired or was freed; run the query again."""


class InvalidOperationError(SoapFaultError):
    """INVALID_OPERATION: e.g. `login()` at API 65.0 or later, where Salesforce removed it."""


class UnsupportedApiVersionError(SoapFaultError):
    """UNSUPPORTED_API_VERSION: the URL names a retired (or unknown) API version."""


class SoapRequestLimitError(SoapFaultError, RequestLimitExceededError):
    """REQUEST_LIMIT_EXCEEDED: the org's API allocation (or concurrency cap) is used up."""


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
