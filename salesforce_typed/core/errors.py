"""One exception tree for everything the SDK raises, keyed on Salesforce's errorCode.

    SalesforceError
    ├── RequestNotSentError      nothing reached Salesforce (connect failed, refused): safe to retry
    ├── OutcomeUnknownError      sent, no complete answer (timeout, dropped): it may have happened
    ├── OAuthError               the token endpoint said no: error, error_description
    │   └── InvalidGrantError    invalid_grant: terminal, the refresh token is revoked/expired
    ├── TokenStoreError          the shared token store refused a write or its lock timed out
    └── APIStatusError           an HTTP error answer: status_code, error_code, message, fields
        ├── AuthenticationError      401 INVALID_SESSION_ID
        ├── ForbiddenError           403 (INSUFFICIENT_ACCESS...)
        │   └── RequestLimitExceededError  REQUEST_LIMIT_EXCEEDED
        ├── NotFoundError            404 NOT_FOUND
        ├── QueryError               MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...
        ├── RecordError              per-record write failures raised for single-record calls
        │   ├── DuplicateValueError  DUPLICATE_VALUE, DUPLICATES_DETECTED
        │   └── RowLockError         UNABLE_TO_LOCK_ROW (retryable)
        ├── ConflictError            409 / 300 (multiple external id matches)
        └── ServerError              5xx

`error_from_response` picks the class by errorCode before status and keeps the whole error
list. Messages and reprs never carry tokens or secrets: only what Salesforce said, the
method and the URL path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SalesforceError(Exception):
    """Base of every error the SDK raises."""


class RequestNotSentError(SalesforceError):
    """Nothing reached Salesforce: the request can be retried safely."""


class OutcomeUnknownError(SalesforceError):
    """The request was sent but no complete answer came: it may have been applied.

    Reconcile (e.g. query by external id) before re-sending a non-idempotent request.
    """


class OAuthError(SalesforceError):
    """`/services/oauth2/*` answered `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str = "", *, status_code: int = 400) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        super().__init__(f"{error}: {description}" if description else error)


class InvalidGrantError(OAuthError):
    """invalid_grant: the refresh token (or credentials) are no longer good. Terminal."""


class TokenStoreError(SalesforceError):
    """The token store refused a fenced write, or its refresh lock could not be taken in time.

    After a refresh-token rotation this is an abort: the new token is discarded unused,
    because a replica that cannot record the rotated refresh token must not keep going.
    """


class UsageError(SalesforceError, ValueError):
    """The call was refused before anything was sent: a bad argument, caught locally."""


class QueryBindError(UsageError):
    """A SOQL/SOSL `:name` placeholder without a value, or a value without a placeholder."""


class QueryModelMismatchError(UsageError):
    """`query(Account, "... FROM Contact")`: the model does not match the query's object."""


class APIStatusError(SalesforceError):
    """Salesforce answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: str = "",
        fields: tuple[str, ...] = (),
        errors: tuple[Mapping[str, Any], ...] = (),
        method: str = "",
        url: str = "",
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.fields = fields
        self.errors = errors
        self.method = method
        self.url = url
        where = f" ({method} {url})" if method else ""
        code = f"{error_code}: " if error_code else ""
        super().__init__(f"{status_code} {code}{message}{where}")


class AuthenticationError(APIStatusError):
    pass


class ForbiddenError(APIStatusError):
    pass


class RequestLimitExceededError(ForbiddenError):
    pass


class NotFoundError(APIStatusError):
    pass


class QueryError(APIStatusError):
    pass


class RecordError(APIStatusError):
    pass


class DuplicateValueError(RecordError):
    pass


class RowLockError(RecordError):
    pass


class ConflictError(APIStatusError):
    pass


class ServerError(APIStatusError):
    pass


# errorCode -> class; checked before the HTTP status.
BY_ERROR_CODE: dict[str, type[APIStatusError]] = {
    "INVALID_SESSION_ID": AuthenticationError,
    "INVALID_AUTH_HEADER": AuthenticationError,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitExceededError,
    "INSUFFICIENT_ACCESS": ForbiddenError,
    "API_DISABLED_FOR_ORG": ForbiddenError,
    "NOT_FOUND": NotFoundError,
    "ENTITY_IS_DELETED": NotFoundError,
    "MALFORMED_QUERY": QueryError,
    "MALFORMED_SEARCH": QueryError,
    "INVALID_FIELD": QueryError,
    "INVALID_TYPE": QueryError,
    "INVALID_QUERY_FILTER_OPERATOR": QueryError,
    "INVALID_QUERY_LOCATOR": QueryError,
    "QUERY_TIMEOUT": QueryError,
    "DUPLICATE_VALUE": DuplicateValueError,
    "DUPLICATES_DETECTED": DuplicateValueError,
    "DUPLICATE_EXTERNAL_ID": ConflictError,
    "UNABLE_TO_LOCK_ROW": RowLockError,
    "REQUIRED_FIELD_MISSING": RecordError,
    "STRING_TOO_LONG": RecordError,
    "INVALID_FIELD_FOR_INSERT_UPDATE": RecordError,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": RecordError,
    "INVALID_CROSS_REFERENCE_KEY": RecordError,
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": RecordError,
    "FIELD_INTEGRITY_EXCEPTION": RecordError,
    "INVALID_TYPE_ON_FIELD_IN_RECORD": RecordError,
    "JSON_PARSER_ERROR": RecordError,
    "SERVER_UNAVAILABLE": ServerError,
}
BY_STATUS: dict[int, type[APIStatusError]] = {
    300: ConflictError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
}


def _errors_of(body: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(body, list):
        return tuple(e for e in body if isinstance(e, Mapping))
    if isinstance(body, Mapping):
        if "errorCode" in body or "message" in body:
            return (body,)
        if isinstance(body.get("errors"), list):
            return tuple(e for e in body["errors"] if isinstance(e, Mapping))
    return ()


def error_from_response(
    status_code: int, body: Any, *, method: str = "", url: str = ""
) -> APIStatusError:
    """The exception for an error answer; `body` is the parsed JSON (or text)."""
    errors = _errors_of(body)
    first = errors[0] if errors else {}
    code = str(first.get("errorCode") or first.get("statusCode") or "")
    message = str(first.get("message") or (body if isinstance(body, str) else "") or "")
    fields = tuple(str(f) for f in first.get("fields") or ())
    cls = BY_ERROR_CODE.get(code) or BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    return cls(
        message[:2000] or f"HTTP {status_code}",
        status_code=status_code,
        error_code=code,
        fields=fields,
        errors=errors,
        method=method,
        url=url,
    )
