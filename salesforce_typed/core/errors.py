"""One exception tree for everything the SDK raises, keyed on Salesforce's errorCode.

Every class below is defined here and exported from `salesforce_typed`; the modules that
raise them (`soap.faults`, `bulk2.wire`, `jobs.csv_chunks`, `streaming.errors`, ...) import
them from here, so their old import paths keep working. tests/test_exported_members.py checks the
drawing: each class appears once, under one of its bases.

    SalesforceError                   base of every error the SDK raises
    ├── RequestNotSentError           nothing reached Salesforce (connect failed): safe to retry
    ├── OutcomeUnknownError           sent, no complete answer (timeout, drop): it may have happened
    ├── CertificateVerifyError        the server's TLS certificate did not verify: terminal
    ├── OAuthError                    the token endpoint said no: error, description, status_code
    │   └── InvalidGrantError         invalid_grant: terminal, the refresh token is revoked/expired
    ├── TokenStoreError               the token store refused a fenced write or its lock timed out
    ├── UsageError                    refused before sending: a bad argument (also a ValueError)
    │   ├── QueryBindError            a SOQL `:name` without a value, or a value without a `:name`
    │   ├── QueryModelMismatchError   query(Account, "... FROM Contact"): model and query disagree
    │   ├── CsvInputError             Bulk rows that cannot be sent as they are
    │   │   ├── CsvHeaderError        unknown, duplicate or missing columns: `columns`
    │   │   ├── CsvFormatError        an unbalanced quote or a row of the wrong width: `line`
    │   │   └── CsvRowTooLargeError   one row (or the header) larger than a whole upload may be
    │   └── JournalCorruptError       a Bulk job journal file that is not an entry: `path`
    ├── FieldValueError               a JSON value that does not fit its field type (a ValueError)
    ├── FieldUnavailableError         `rec.require.X`: not selected, or null (an AttributeError)
    ├── UnknownFieldError             strict decoding met an undeclared key (also a KeyError)
    ├── UnreadableResponseError       not what the API promised (HTML page, no SOAP envelope)
    │   └── UnsafeXmlError            DTD/ENTITY or not UTF-8: refused unparsed (a ValueError)
    ├── APIStatusError                an error answer: status_code, error_code, message, fields
    │   ├── AuthenticationError       401 INVALID_SESSION_ID, INVALID_AUTH_HEADER
    │   ├── ForbiddenError            403 INSUFFICIENT_ACCESS, API_DISABLED_FOR_ORG
    │   │   └── RequestLimitExceededError   REQUEST_LIMIT_EXCEEDED: the org's API allocation
    │   ├── NotFoundError             404 NOT_FOUND, ENTITY_IS_DELETED
    │   ├── QueryError                MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...
    │   ├── RecordError               a single-record write refused (REQUIRED_FIELD_MISSING, ...)
    │   │   ├── DuplicateValueError   DUPLICATE_VALUE, DUPLICATES_DETECTED
    │   │   └── RowLockError          UNABLE_TO_LOCK_ROW (retryable)
    │   ├── ConflictError             409, or 300: several records match an external id
    │   │   └── InvalidJobStateError  Bulk 2.0 409 INVALIDJOBSTATE (e.g. upload after close)
    │   ├── ServerError               5xx, SERVER_UNAVAILABLE
    │   └── SoapFaultError            a soapenv:Fault: fault_code, fault_type, row, column
    │       ├── InvalidLoginError           INVALID_LOGIN (also an AuthenticationError)
    │       ├── InvalidSessionIdError       INVALID_SESSION_ID (also an AuthenticationError)
    │       ├── InvalidFieldError           INVALID_FIELD (also a QueryError)
    │       ├── InvalidIdFieldError         INVALID_ID_FIELD (also a QueryError)
    │       ├── InvalidTypeError            INVALID_TYPE (also a QueryError)
    │       ├── MalformedQueryError         MALFORMED_QUERY (also a QueryError)
    │       ├── InvalidQueryLocatorError    INVALID_QUERY_LOCATOR (also a QueryError)
    │       ├── InvalidOperationError       INVALID_OPERATION (login() at API 65.0+)
    │       ├── UnsupportedApiVersionError  UNSUPPORTED_API_VERSION
    │       └── SoapRequestLimitError       REQUEST_LIMIT_EXCEEDED (a RequestLimitExceededError)
    ├── Bulk2Error                    a Bulk API 2.0 job cannot give what was asked
    │   ├── BulkJobError              the job ended in a state that cannot answer: `job`
    │   │   ├── BulkJobFailedError    state Failed; `job.error_message` says why
    │   │   └── BulkJobAbortedError   state Aborted (by us, another client or an admin)
    │   ├── BulkTimeoutError          polling timed out (Bulk 1.0, 2.0); jobs go on (TimeoutError)
    │   └── BulkIngestInterruptedError  stopped after creating jobs: `job_ids`, cause chained
    ├── PubSubError                   a Pub/Sub API RPC failed: gRPC `status`, `error_code` trailer
    └── StreamingError                the event listener: `error` (the Bayeux failure), `retryable`
        ├── ConnectionLostError       5xx, dropped connection, timeout: reported, then retried
        ├── ReplayIdInvalidError      a replay id past retention: the fallback is taken
        ├── HandlerError              a handler kept failing on one event: the listener stops
        ├── LeadershipLostError       the lease moved or could not be renewed: stepped down
        └── StreamingStoppedError     a terminal reply (TERMINAL table, advice "none")

`SoapProtocolError` is the old name of `UnreadableResponseError`. `error_from_response` picks
the class by errorCode before status and keeps the whole error list; SOAP faults are picked by
`sf:exceptionCode` in `soap.faults`. Per-record failures (collections, Bulk result rows) are
values, not exceptions. Messages and reprs never carry tokens or secrets: only what Salesforce
said, the method and the URL path. This module imports nothing heavy: `salesforce_typed`
loads it with every generated model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: importing them here would load attrs and the codecs
    from pathlib import Path

    from salesforce_typed.bulk2.wire import Bulk2Job
    from salesforce_typed.streaming.cometd import BayeuxError

__all__ = [
    "BY_ERROR_CODE",
    "BY_STATUS",
    "APIStatusError",
    "AuthenticationError",
    "Bulk2Error",
    "BulkIngestInterruptedError",
    "BulkJobAbortedError",
    "BulkJobError",
    "BulkJobFailedError",
    "BulkTimeoutError",
    "ConflictError",
    "ConnectionLostError",
    "CsvFormatError",
    "CsvHeaderError",
    "CsvInputError",
    "CsvRowTooLargeError",
    "DuplicateValueError",
    "FieldUnavailableError",
    "FieldValueError",
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
    "LeadershipLostError",
    "MalformedQueryError",
    "NotFoundError",
    "OAuthError",
    "OutcomeUnknownError",
    "PubSubError",
    "QueryBindError",
    "QueryError",
    "QueryModelMismatchError",
    "RecordError",
    "ReplayIdInvalidError",
    "RequestLimitExceededError",
    "RequestNotSentError",
    "RowLockError",
    "SalesforceError",
    "ServerError",
    "SoapFaultError",
    "SoapProtocolError",
    "SoapRequestLimitError",
    "StreamingError",
    "StreamingStoppedError",
    "TokenStoreError",
    "UnknownFieldError",
    "UnreadableResponseError",
    "UnsafeXmlError",
    "UnsupportedApiVersionError",
    "UsageError",
    "error_from_response",
]


class SalesforceError(Exception):
    """Base of every error the SDK raises."""


# -- the request itself ----------------------------------------------------------------------


class RequestNotSentError(SalesforceError):
    """Nothing reached Salesforce: the request can be retried safely."""


class OutcomeUnknownError(SalesforceError):
    """The request was sent but no complete answer came: it may have been applied.

    Reconcile (e.g. query by external id) before re-sending a non-idempotent request.
    """


class CertificateVerifyError(SalesforceError):
    """The server's TLS certificate did not verify against the CAs the client trusts.

    Nothing was sent, and nothing will be until the client is given the right CA bundle
    (`verify=`) or the host is corrected: terminal, never retried. Names the host, no secret.
    """


# -- auth ------------------------------------------------------------------------------------


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


# -- refused locally, before sending ---------------------------------------------------------


class UsageError(SalesforceError, ValueError):
    """The call was refused before anything was sent: a bad argument, caught locally."""


class QueryBindError(UsageError):
    """A SOQL/SOSL `:name` placeholder without a value, or a value without a placeholder."""


class QueryModelMismatchError(UsageError):
    """`query(Account, "... FROM Contact")`: the model does not match the query's object."""


class CsvInputError(UsageError):
    """Bulk data that cannot be sent as it is; raised before anything is uploaded."""


class CsvHeaderError(CsvInputError):
    """Unknown, duplicate or missing columns for the object and operation."""

    def __init__(self, message: str, *, columns: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.columns = tuple(columns)


class CsvFormatError(CsvInputError):
    """Malformed CSV: an unbalanced quote or a row whose cell count differs from the header."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


class CsvRowTooLargeError(CsvInputError):
    """One row (or the header) is larger than a whole upload may be."""


class JournalCorruptError(UsageError):
    """A Bulk job journal file that is not a journal entry (truncated, edited, another
    version): the message names the file and how to drop it."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(
            f"bulk job journal {path} is unreadable ({reason}); drop it with "
            f"`salesforce-typed bulk jobs --forget {path.stem}` (the jobs on Salesforce stay)"
        )


# -- answers we cannot read ------------------------------------------------------------------


class FieldValueError(SalesforceError, ValueError):
    """A JSON value that does not fit its Salesforce field type."""


class FieldUnavailableError(SalesforceError, AttributeError):
    """`record.require.Name` found no value: `reason` is "not selected" or "null"."""

    def __init__(self, sobject: str, field: str, reason: str) -> None:
        super().__init__(f"{sobject}.{field} is {reason}")
        self.sobject = sobject
        self.field = field
        self.reason = reason


class UnknownFieldError(SalesforceError, KeyError):
    """Strict decoding met a key the model does not declare."""


class UnreadableResponseError(SalesforceError):
    """The answer was not what the API promises (an HTML error page, no SOAP envelope, a
    wrong body element). `status_code` is the HTTP status (0 if unknown); the body is not
    kept, as it may echo the request.
    """

    def __init__(self, message: str, *, status_code: int = 0, url: str = "") -> None:
        self.status_code = status_code
        self.url = url
        where = f" ({url})" if url else ""
        super().__init__(f"{message}{where}")


SoapProtocolError = UnreadableResponseError  # its name before SOAP and Bulk 1.0 shared it


class UnsafeXmlError(UnreadableResponseError, ValueError):
    """XML with a DOCTYPE or ENTITY declaration, or not UTF-8: refused unparsed.

    Salesforce never sends a DTD (SOAP 1.1 forbids them), so refusing them loses nothing and
    rules out external entities (XXE), entity expansion bombs and network fetches in one
    check. SOAP envelopes and Bulk 1.0 XML both raise it.
    """


# -- error answers ---------------------------------------------------------------------------


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
    """401 INVALID_SESSION_ID: the session expired or was never valid."""


class ForbiddenError(APIStatusError):
    """403: the user or org may not do this (INSUFFICIENT_ACCESS, API_DISABLED_FOR_ORG)."""


class RequestLimitExceededError(ForbiddenError):
    """REQUEST_LIMIT_EXCEEDED: the org's API allocation (or concurrency cap) is used up."""


class NotFoundError(APIStatusError):
    """404 NOT_FOUND, ENTITY_IS_DELETED: no such record or resource."""


class QueryError(APIStatusError):
    """The query was refused: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, QUERY_TIMEOUT..."""


class RecordError(APIStatusError):
    """A single-record write was refused (REQUIRED_FIELD_MISSING, STRING_TOO_LONG, ...)."""


class DuplicateValueError(RecordError):
    """DUPLICATE_VALUE, DUPLICATES_DETECTED: a unique field or a duplicate rule said no."""


class RowLockError(RecordError):
    """UNABLE_TO_LOCK_ROW: another transaction holds the row; retryable."""


class ConflictError(APIStatusError):
    """409, or 300 with several records matching one external id."""


class InvalidJobStateError(ConflictError):
    """409 INVALIDJOBSTATE: the job's state does not allow the call (e.g. an upload after
    UploadComplete)."""


class ServerError(APIStatusError):
    """5xx or SERVER_UNAVAILABLE: Salesforce failed; the retry policy may try again."""


# -- SOAP faults -----------------------------------------------------------------------------
# Each fault class also derives from the REST class for the same errorCode, so
# `except AuthenticationError` catches an expired session from either API.


class SoapFaultError(APIStatusError):
    """A `soapenv:Fault`: Salesforce refused the whole call (per-record failures are values).

    `error_code` is `sf:exceptionCode`; `fault_type` the detail element (LoginFault, ...).
    """

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


# -- Bulk API 2.0 orchestration --------------------------------------------------------------


class Bulk2Error(SalesforceError):
    """Base of the Bulk API 2.0 orchestration errors."""


class BulkJobError(Bulk2Error):
    """A job ended in a state that cannot give what was asked (a query job that failed)."""

    def __init__(self, message: str, *, job: Bulk2Job | None = None) -> None:
        super().__init__(message)
        self.job = job
        self.job_id = job.id if job is not None else ""


class BulkJobFailedError(BulkJobError):
    """The job's state is Failed; `job.error_message` says why."""


class BulkJobAbortedError(BulkJobError):
    """The job was aborted (by us, another client, or an admin)."""


class BulkTimeoutError(Bulk2Error, TimeoutError):
    """The poll policy's overall timeout passed (Bulk 1.0 or 2.0); the jobs keep running
    server-side. `job_ids` names them."""

    def __init__(self, message: str, *, job_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.job_ids = tuple(job_ids)


class BulkIngestInterruptedError(Bulk2Error):
    """An ingest stopped after some jobs were created: they are in `job_ids` and keep
    running; `resume_ingest(job_ids)` collects their results. The cause is chained."""

    def __init__(self, message: str, *, job_ids: Sequence[str]) -> None:
        super().__init__(message)
        self.job_ids = tuple(job_ids)


# -- the streaming listener ------------------------------------------------------------------
# What `on_error` receives and what `run()` raises when it stops. `InvalidGrantError` reaches
# both unchanged; a `TokenStoreError` is reported as a `ConnectionLostError` and retried.


class StreamingError(SalesforceError):
    """Base of the listener's own errors; `error` is the Bayeux failure behind it, if any."""

    retryable = False

    def __init__(self, message: str, *, error: BayeuxError | None = None) -> None:
        self.error = error
        super().__init__(message)


class ConnectionLostError(StreamingError):
    """A transient failure (5xx, dropped connection, timeout): backed off and retried."""

    retryable = True


class ReplayIdInvalidError(StreamingError):
    """Salesforce refused a stored replay id (past retention or migrated).

    `fallback` says what the listener did: `-2` replayed what is retained, `-1` skipped to
    new events (events in between are lost to this consumer), `"stop"` stopped. Over Pub/Sub
    `replay_id` is the refused bytes (shown in hex) and `fallback` `"EARLIEST"`/`"LATEST"`.
    """

    def __init__(
        self,
        channel: str,
        replay_id: int | bytes,
        fallback: int | str,
        *,
        error: BayeuxError | None = None,
    ) -> None:
        self.channel = channel
        self.replay_id = replay_id
        self.fallback = fallback
        self.retryable = fallback != "stop"
        shown = replay_id.hex() if isinstance(replay_id, bytes) else replay_id
        super().__init__(
            f"replay id {shown} of {channel} is no longer valid; fallback: {fallback}",
            error=error,
        )


class HandlerError(StreamingError):
    """A handler raised on every attempt for one event; the checkpoint stays before it."""

    def __init__(self, channel: str, replay_id: int | None, attempts: int) -> None:
        self.channel = channel
        self.replay_id = replay_id
        self.attempts = attempts
        super().__init__(f"handler failed {attempts} time(s) on {channel} replay id {replay_id}")


class LeadershipLostError(StreamingError):
    """The lease could not be renewed or its epoch moved: this replica stopped consuming."""

    retryable = True


class StreamingStoppedError(StreamingError):
    """A terminal failure: the listener stopped and will not retry on its own."""


class PubSubError(SalesforceError):
    """A Pub/Sub API RPC failed. `status` is the gRPC status name (UNAUTHENTICATED,
    NOT_FOUND, ...); `error_code` Salesforce's `error-code` trailer
    (`sfdc.platform.eventbus.grpc...`); `rpc_id` what Salesforce support asks for."""

    def __init__(
        self, message: str, *, status: str, error_code: str = "", rpc_id: str = ""
    ) -> None:
        self.message = message
        self.status = status
        self.error_code = error_code
        self.rpc_id = rpc_id
        code = f" {error_code}" if error_code else ""
        super().__init__(f"{status}{code}: {message}")


# -- mapping an error answer to its class ----------------------------------------------------
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
        if body.get("hasErrors") is True and isinstance(body.get("results"), list):
            # sObject Tree: each failing record's errors, tagged with its referenceId
            return tuple(
                {**e, "referenceId": r.get("referenceId")}
                for r in body["results"]
                if isinstance(r, Mapping) and isinstance(r.get("errors"), list)
                for e in r["errors"]
                if isinstance(e, Mapping)
            )
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
