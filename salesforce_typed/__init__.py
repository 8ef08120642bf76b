"""salesforce-typed: a code-generated, typed Python SDK for Salesforce.

Every generated model imports this package, so it must stay light: the model names load
eagerly, the clients and grants (httpx, cryptography) load on first access. That lazy
table is a fixed list of known names typed under TYPE_CHECKING; anything else raises
AttributeError, as in the generated packages' indexes; `__dir__` lists them all the same.
Every public exception is exported here (the tree is drawn in `core/errors.py`, a module of
plain classes that the models load anyway), so `except salesforce_typed.NotFoundError` needs
no deeper import.
"""

import importlib as _importlib
import typing as _typing

from salesforce_typed.core.errors import (
    APIStatusError,
    AuthenticationError,
    Bulk2Error,
    BulkIngestInterruptedError,
    BulkJobAbortedError,
    BulkJobError,
    BulkJobFailedError,
    BulkTimeoutError,
    CertificateVerifyError,
    ConflictError,
    ConnectionLostError,
    CsvFormatError,
    CsvHeaderError,
    CsvInputError,
    CsvRowTooLargeError,
    DuplicateValueError,
    FieldUnavailableError,
    FieldValueError,
    ForbiddenError,
    HandlerError,
    InvalidFieldError,
    InvalidGrantError,
    InvalidIdFieldError,
    InvalidJobStateError,
    InvalidLoginError,
    InvalidOperationError,
    InvalidQueryLocatorError,
    InvalidSessionIdError,
    InvalidTypeError,
    JournalCorruptError,
    LeadershipLostError,
    MalformedQueryError,
    NotFoundError,
    OAuthError,
    OutcomeUnknownError,
    PubSubError,
    QueryBindError,
    QueryError,
    QueryModelMismatchError,
    RecordError,
    ReplayIdInvalidError,
    RequestLimitExceededError,
    RequestNotSentError,
    RowLockError,
    SalesforceError,
    ServerError,
    SoapFaultError,
    SoapRequestLimitError,
    StreamingError,
    StreamingStoppedError,
    TokenStoreError,
    UnknownFieldError,
    UnreadableResponseError,
    UnsafeXmlError,
    UnsupportedApiVersionError,
    UsageError,
)
from salesforce_typed.core.fields import FieldInfo, ObjectInfo, PicklistEnum
from salesforce_typed.core.models import ChangeEvent, Record, RelatedList, SObject
from salesforce_typed.core.unset import UNSET, UnsetType

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from salesforce_typed.auth.flow import SalesforceAuth
    from salesforce_typed.auth.grants import (
        AccessTokenAuth,
        ClientCredentialsGrant,
        JwtBearerGrant,
        PasswordGrant,
        RefreshTokenGrant,
    )
    from salesforce_typed.core._async.pagination import AsyncPager
    from salesforce_typed.core._sync.pagination import Pager
    from salesforce_typed.core.change_events import ChangeEventHeader, ChangeType
    from salesforce_typed.core.compound import Address, Location, PersonName
    from salesforce_typed.core.pagination import Page
    from salesforce_typed.core.retry import RetryPolicy
    from salesforce_typed.rest._async.client import AsyncQuery, AsyncSalesforce
    from salesforce_typed.rest._sync.client import Query, Salesforce
    from salesforce_typed.rest.composite import BatchRequest, CompositeRequest
    from salesforce_typed.rest.graph import CompositeGraph
    from salesforce_typed.rest.tree import SObjectTree
    from salesforce_typed.soap import AsyncSoapClient, LeadConvert, MergeRequest, SoapClient
    from salesforce_typed.stores.file import FileTokenStore
    from salesforce_typed.stores.memory import MemoryTokenStore

_LAZY = {
    "Address": "salesforce_typed.core.compound",
    "ChangeEventHeader": "salesforce_typed.core.change_events",
    "ChangeType": "salesforce_typed.core.change_events",
    "Location": "salesforce_typed.core.compound",
    "PersonName": "salesforce_typed.core.compound",
    "AccessTokenAuth": "salesforce_typed.auth.grants",
    "AsyncPager": "salesforce_typed.core._async.pagination",
    "AsyncQuery": "salesforce_typed.rest._async.client",
    "AsyncSalesforce": "salesforce_typed.rest._async.client",
    "BatchRequest": "salesforce_typed.rest.composite",
    "ClientCredentialsGrant": "salesforce_typed.auth.grants",
    "CompositeGraph": "salesforce_typed.rest.graph",
    "CompositeRequest": "salesforce_typed.rest.composite",
    "SObjectTree": "salesforce_typed.rest.tree",
    "FileTokenStore": "salesforce_typed.stores.file",
    "JwtBearerGrant": "salesforce_typed.auth.grants",
    "MemoryTokenStore": "salesforce_typed.stores.memory",
    "Page": "salesforce_typed.core.pagination",
    "Pager": "salesforce_typed.core._sync.pagination",
    "PasswordGrant": "salesforce_typed.auth.grants",
    "Query": "salesforce_typed.rest._sync.client",
    "RefreshTokenGrant": "salesforce_typed.auth.grants",
    "RetryPolicy": "salesforce_typed.core.retry",
    "Salesforce": "salesforce_typed.rest._sync.client",
    "AsyncSoapClient": "salesforce_typed.soap",
    "SoapClient": "salesforce_typed.soap",
    "LeadConvert": "salesforce_typed.soap",
    "MergeRequest": "salesforce_typed.soap",
    "SalesforceAuth": "salesforce_typed.auth.flow",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "UNSET",
    "APIStatusError",
    "AccessTokenAuth",
    "Address",
    "AsyncPager",
    "AsyncQuery",
    "AsyncSalesforce",
    "AsyncSoapClient",
    "AuthenticationError",
    "BatchRequest",
    "Bulk2Error",
    "BulkIngestInterruptedError",
    "BulkJobAbortedError",
    "BulkJobError",
    "BulkJobFailedError",
    "BulkTimeoutError",
    "CertificateVerifyError",
    "ChangeEvent",
    "ChangeEventHeader",
    "ChangeType",
    "ClientCredentialsGrant",
    "CompositeGraph",
    "CompositeRequest",
    "ConflictError",
    "ConnectionLostError",
    "CsvFormatError",
    "CsvHeaderError",
    "CsvInputError",
    "CsvRowTooLargeError",
    "DuplicateValueError",
    "FieldInfo",
    "FieldUnavailableError",
    "FieldValueError",
    "FileTokenStore",
    "ForbiddenError",
    "HandlerError",
    "InvalidFieldError",
    "InvalidGrantError",
    "InvalidIdFieldError",
    "InvalidJobStateError",
    "InvalidLoginError",
    "InvalidOperationError",
    "InvalidQueryLocatorError",
    "InvalidSessionIdError",
    "InvalidTypeError",
    "JournalCorruptError",
    "JwtBearerGrant",
    "LeadConvert",
    "LeadershipLostError",
    "Location",
    "MalformedQueryError",
    "MemoryTokenStore",
    "MergeRequest",
    "NotFoundError",
    "OAuthError",
    "ObjectInfo",
    "OutcomeUnknownError",
    "Page",
    "Pager",
    "PasswordGrant",
    "PersonName",
    "PicklistEnum",
    "PubSubError",
    "Query",
    "QueryBindError",
    "QueryError",
    "QueryModelMismatchError",
    "Record",
    "RecordError",
    "RefreshTokenGrant",
    "RelatedList",
    "ReplayIdInvalidError",
    "RequestLimitExceededError",
    "RequestNotSentError",
    "RetryPolicy",
    "RowLockError",
    "SObject",
    "SObjectTree",
    "Salesforce",
    "SalesforceAuth",
    "SalesforceError",
    "ServerError",
    "SoapClient",
    "SoapFaultError",
    "SoapRequestLimitError",
    "StreamingError",
    "StreamingStoppedError",
    "TokenStoreError",
    "UnknownFieldError",
    "UnreadableResponseError",
    "UnsafeXmlError",
    "UnsetType",
    "UnsupportedApiVersionError",
    "UsageError",
    "__version__",
]
