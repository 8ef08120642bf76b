"""When to re-send a request, and after how long: one policy object, pure decisions.

What must stay true:
- A request that never reached Salesforce (`RequestNotSentError`) may always be re-sent.
- A request whose outcome is unknown (`OutcomeUnknownError`) is re-sent only when it is
  idempotent (GET, DELETE, PATCH by id, upsert by external id). A create POST goes back to the
  caller, who reconciles by external id: re-sending could create the record twice.
- An errorCode or status from the "not applied" tables means Salesforce rolled the request back
  or refused it before doing anything, so even a create POST is re-sent.
- A terminal errorCode wins over its status (a 500 `APEX_ERROR` is the same bug next time).
- `Retry-After` (seconds or an HTTP date) beats local backoff, capped by `retry_after_cap`.
- Randomness and time come in through `jitter` and `clock`, so decisions test exactly.

`decide()` does no I/O and never sleeps; the send loops sleep `decision.delay` on the clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
import httpx

from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import (
    APIStatusError,
    CertificateVerifyError,
    OutcomeUnknownError,
    RequestNotSentError,
    SalesforceError,
    UsageError,
    error_from_response,
)
from salesforce_typed.core.transport import certificate_error

__all__ = [
    "DEFAULT_TIMEOUT",
    "NOT_APPLIED_STATUSES",
    "RETRYABLE_ERROR_CODES",
    "RETRYABLE_STATUSES",
    "TERMINAL_ERROR_CODES",
    "RetryDecision",
    "RetryPolicy",
    "classify_transport_error",
    "describe_request",
    "full_jitter",
]

# Never `None`: a hung socket must end. Reads are long because Salesforce lets a call run
# for up to 10 minutes and big queries/Bulk uploads take minutes, not seconds.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=30.0)

# Statuses re-sent for idempotent requests only: the request may have been applied.
RETRYABLE_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504})

# Statuses that mean "refused before doing anything": re-sent for any method.
# 503 is Salesforce's maintenance/overload answer; 429 is a rate limiter's refusal.
NOT_APPLIED_STATUSES: frozenset[int] = frozenset({429, 503})

# errorCodes Salesforce answers without applying the request (the transaction was rolled
# back or never started): re-sent for any method, a create POST included.
RETRYABLE_ERROR_CODES: frozenset[str] = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",  # row lock contention; the transaction rolled back
        "SERVER_UNAVAILABLE",  # the instance refused the call
    }
)

# errorCodes that fail the same way on every attempt: never re-sent, whatever the status.
TERMINAL_ERROR_CODES: frozenset[str] = frozenset(
    {
        # The auth flow owns INVALID_SESSION_ID (refresh once, replay once); retrying here would
        # multiply its single replay.
        "INVALID_SESSION_ID",
        "INVALID_AUTH_HEADER",
        # Daily allocation and the concurrent long-transaction cap share this code; Salesforce
        # tells them apart only by message, and clients key on codes, so it is not retried.
        "REQUEST_LIMIT_EXCEEDED",
        # The 10-minute cap: the same request runs as long again.
        "REQUEST_RUNNING_TOO_LONG",
        "APEX_ERROR",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "MALFORMED_QUERY",
        "MALFORMED_SEARCH",
        "INVALID_FIELD",
        "INVALID_TYPE",
        "INVALID_QUERY_FILTER_OPERATOR",
        "INVALID_QUERY_LOCATOR",
        "QUERY_TIMEOUT",
        "NOT_FOUND",
        "ENTITY_IS_DELETED",
        "DUPLICATE_VALUE",
        "DUPLICATES_DETECTED",
        "DUPLICATE_EXTERNAL_ID",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "JSON_PARSER_ERROR",
        "METHOD_NOT_ALLOWED",
    }
)

_TOKEN_PATH = "/services/oauth2/token"


def full_jitter(ceiling: float) -> float:
    """AWS "full jitter": uniform in [0, ceiling), so retrying clients spread out."""
    return random.random() * ceiling


@attrs.frozen(kw_only=True, slots=True)
class RetryDecision:
    """Whether to re-send, after how many seconds, and why (logged with the decision)."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


def classify_transport_error(exc: httpx.TransportError) -> SalesforceError | None:
    """Map an httpx transport failure onto the tree: not sent, or outcome unknown.

    Returns the exception to raise (`raise mapped from exc`), or None for failures that are
    programming errors (bad URL scheme, an invalid request) and must not be retried. When
    the failed request is the token call the auth flow made, the caller's own request was
    not sent, whatever the transport says.
    """
    where = _describe(exc)
    untrusted = certificate_error(exc, _host(exc))
    if untrusted is not None:
        return untrusted
    if where.endswith(_TOKEN_PATH) and not isinstance(
        exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol
    ):
        return RequestNotSentError(
            f"token refresh failed ({type(exc).__name__} on {where}); the request was not sent"
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return RequestNotSentError(f"{type(exc).__name__} on {where}: nothing was sent")
    if isinstance(exc, httpx.ProxyError):
        return RequestNotSentError(f"ProxyError on {where}: nothing was sent")
    if isinstance(
        exc,
        httpx.ReadTimeout
        | httpx.WriteTimeout
        | httpx.ReadError
        | httpx.WriteError
        | httpx.CloseError
        | httpx.RemoteProtocolError,
    ):
        return OutcomeUnknownError(
            f"{type(exc).__name__} on {where}: the request may have been applied"
        )
    return None


def _host(exc: httpx.TransportError) -> str:
    try:
        return exc.request.url.host
    except RuntimeError:  # httpx raises when the request was never attached
        return "(unknown host)"


def _describe(exc: httpx.TransportError) -> str:
    try:
        request = exc.request
    except RuntimeError:  # httpx raises when the request was never attached
        return "(unknown request)"
    return describe_request(request)


def describe_request(request: httpx.Request) -> str:
    """`METHOD scheme://host:port/path` for messages: no query string, no body, no secret."""
    url = request.url
    port = f":{url.port}" if url.port is not None else ""
    return f"{request.method} {url.scheme}://{url.host}{port}{url.path}"


def _positive(value: float) -> float:
    return max(float(value), 0.0)


@attrs.frozen(kw_only=True, slots=True)
class RetryPolicy:
    """Attempts, backoff, the retry tables, and the injected jitter and clock.

    `max_attempts` counts every send, the first included (1 = never retry). Per-call
    overrides: `policy.with_(max_attempts=1)`.
    """

    max_attempts: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    backoff_base: float = attrs.field(default=0.5, converter=_positive)
    backoff_cap: float = attrs.field(default=20.0, converter=_positive)
    retry_after_cap: float = attrs.field(default=60.0, converter=_positive)
    retryable_statuses: frozenset[int] = attrs.field(
        default=RETRYABLE_STATUSES, converter=frozenset
    )
    not_applied_statuses: frozenset[int] = attrs.field(
        default=NOT_APPLIED_STATUSES, converter=frozenset
    )
    retryable_error_codes: frozenset[str] = attrs.field(
        default=RETRYABLE_ERROR_CODES, converter=frozenset
    )
    terminal_error_codes: frozenset[str] = attrs.field(
        default=TERMINAL_ERROR_CODES, converter=frozenset
    )
    jitter: Callable[[float], float] = full_jitter
    clock: Clock = attrs.field(factory=SystemClock)

    def with_(
        self,
        *,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        backoff_cap: float | None = None,
        retry_after_cap: float | None = None,
        retryable_statuses: Iterable[int] | None = None,
        not_applied_statuses: Iterable[int] | None = None,
        retryable_error_codes: Iterable[str] | None = None,
        terminal_error_codes: Iterable[str] | None = None,
        jitter: Callable[[float], float] | None = None,
        clock: Clock | None = None,
    ) -> RetryPolicy:
        """A copy with the given settings replaced (None keeps the current value)."""
        given = {
            "max_attempts": max_attempts,
            "backoff_base": backoff_base,
            "backoff_cap": backoff_cap,
            "retry_after_cap": retry_after_cap,
            "retryable_statuses": retryable_statuses,
            "not_applied_statuses": not_applied_statuses,
            "retryable_error_codes": retryable_error_codes,
            "terminal_error_codes": terminal_error_codes,
            "jitter": jitter,
            "clock": clock,
        }
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        return attrs.evolve(self, **changes)

    def backoff(self, attempt: int) -> float:
        """Jittered exponential delay after `attempt` sends: base * 2**(attempt-1), capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** max(attempt - 1, 0))
        return min(max(self.jitter(ceiling), 0.0), self.backoff_cap)

    def retry_after(self, response: httpx.Response | None) -> float | None:
        """Seconds the server asked us to wait, capped; None when it did not ask (or garbled)."""
        if response is None:
            return None
        raw = response.headers.get("Retry-After")
        if raw is None:
            return None
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:  # RFC 9110 dates are GMT
                return None
            seconds = when.timestamp() - self.clock.now()
        if seconds != seconds:  # NaN
            return None
        return min(max(seconds, 0.0), self.retry_after_cap)

    def decide(
        self,
        attempt: int,
        *,
        method: str,
        idempotent: bool,
        error: BaseException | None = None,
        response: httpx.Response | None = None,
    ) -> RetryDecision:
        """Re-send after `attempt` sends (1 = the first) that ended in `error` or `response`?

        Pass the response too when an error came from one, so `Retry-After` is honoured.
        """
        if attempt < 1:
            raise UsageError(f"attempt counts sends and starts at 1, got {attempt}")
        retry, why = self._classify(
            method=method, idempotent=idempotent, error=error, response=response
        )
        if not retry:
            return RetryDecision(retry=False, reason=why)
        if attempt >= self.max_attempts:
            return RetryDecision(
                retry=False, reason=f"{why}; attempts exhausted ({attempt}/{self.max_attempts})"
            )
        asked = self.retry_after(response)
        if asked is not None:
            return RetryDecision(retry=True, delay=asked, reason=f"{why}; Retry-After {asked:g}s")
        return RetryDecision(retry=True, delay=self.backoff(attempt), reason=why)

    def _classify(
        self,
        *,
        method: str,
        idempotent: bool,
        error: BaseException | None,
        response: httpx.Response | None,
    ) -> tuple[bool, str]:
        if isinstance(error, httpx.TransportError):
            mapped = classify_transport_error(error)
            if mapped is None:
                return False, f"{type(error).__name__} is not retryable"
            error = mapped
        if isinstance(error, CertificateVerifyError):
            return False, "TLS certificate did not verify"
        if isinstance(error, RequestNotSentError):
            return True, "not sent"
        if isinstance(error, OutcomeUnknownError):
            if idempotent:
                return True, "outcome unknown, idempotent"
            return False, f"outcome unknown and {method.upper()} is not idempotent"
        if isinstance(error, APIStatusError):
            return self._classify_status(error.status_code, error.error_code, method, idempotent)
        if error is not None:
            return False, f"{type(error).__name__} is not retryable"
        if response is None:
            return False, "nothing to decide on"
        if response.status_code < 400:
            return False, f"status {response.status_code}"
        return self._classify_status(
            response.status_code, _error_code(response), method, idempotent
        )

    def _classify_status(
        self, status: int, code: str, method: str, idempotent: bool
    ) -> tuple[bool, str]:
        label = f"{status} {code}".strip()
        if code in self.terminal_error_codes:
            return False, f"{label}: terminal errorCode"
        if code in self.retryable_error_codes:
            return True, f"{label}: not applied"
        if status in self.not_applied_statuses:
            return True, f"{label}: not applied"
        if status in self.retryable_statuses:
            if idempotent:
                return True, f"{label}: retryable, idempotent"
            return False, f"{label}: may have been applied and {method.upper()} is not idempotent"
        return False, f"{label}: not retryable"


def _error_code(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except (httpx.ResponseNotRead, ValueError, UnicodeDecodeError):
        return ""
    return error_from_response(response.status_code, body).error_code
