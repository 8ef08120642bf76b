"""The partner SOAP API: calls REST lacks (convertLead, merge, emptyRecycleBin, ...) and login.

    soap = SoapClient.from_client(sf)          # same session as a REST `Salesforce`
    [result] = soap.convert_lead([LeadConvert(lead_id=..., converted_status="Closed - Converted")])

`envelope` builds and parses envelopes (pure, XXE-safe), `calls` holds one builder per
operation, `records` maps partner sObjects to our typed models, `faults` the typed faults,
`session` how SOAP shares the REST auth flow. The sync client is generated from `_async/`.
"""

from salesforce_typed.soap._async.client import AsyncSoapClient, AsyncSoapQuery
from salesforce_typed.soap._sync.client import SoapClient, SoapQuery
from salesforce_typed.soap.envelope import DEFAULT_LOGIN_VERSION, SoapCall
from salesforce_typed.soap.faults import (
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
from salesforce_typed.soap.models import LeadConvert, LoginResult, MergeRequest

__all__ = [
    "DEFAULT_LOGIN_VERSION",
    "AsyncSoapClient",
    "AsyncSoapQuery",
    "InvalidFieldError",
    "InvalidIdFieldError",
    "InvalidLoginError",
    "InvalidOperationError",
    "InvalidQueryLocatorError",
    "InvalidSessionIdError",
    "InvalidTypeError",
    "LeadConvert",
    "LoginResult",
    "MalformedQueryError",
    "MergeRequest",
    "SoapCall",
    "SoapClient",
    "SoapFaultError",
    "SoapProtocolError",
    "SoapQuery",
    "SoapRequestLimitError",
    "UnsafeXmlError",
    "UnsupportedApiVersionError",
]
