"""RetryPolicy: every status, errorCode and exception, idempotent or not; Retry-After; jitter."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import (
    InvalidGrantError,
    OutcomeUnknownError,
    RequestNotSentError,
    error_from_response,
)
from salesforce_typed.core.retry import (
    DEFAULT_TIMEOUT,
    NOT_APPLIED_STATUSES,
    RETRYABLE_ERROR_CODES,
    RETRYABLE_STATUSES,
    TERMINAL_ERROR_CODES,
    RetryPolicy,
    classify_transport_error,
    full_jitter,
)

API = "https://acme.my.salesforce.com/services/data/v59.0/sobjects/Account/"
TOKEN = "https://login.salesforce.com/services/oauth2/token"


def no_jitter(ceiling: float) -> float:
    return ceiling


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_714_560_000.0)


@pytest.fixture
def policy(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(jitter=no_jitter, clock=clock)


def response(
    status: int, code: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: Any = [{"message": "m", "errorCode": code}] if code else []
    return httpx.Response(status, json=body, headers=headers, request=httpx.Request("POST", API))


def transport(cls: type[httpx.TransportError], url: str = API) -> httpx.TransportError:
    return cls("boom", request=httpx.Request("POST", url))


# (case id, error, response, retried when idempotent, retried when not idempotent)
CASES: list[tuple[str, BaseException | None, httpx.Response | None, bool, bool]] = [
    ("not-sent", RequestNotSentError("x"), None, True, True),
    ("outcome-unknown", OutcomeUnknownError("x"), None, True, False),
    ("connect-error", transport(httpx.ConnectError), None, True, True),
    ("connect-timeout", transport(httpx.ConnectTimeout), None, True, True),
    ("pool-timeout", transport(httpx.PoolTimeout), None, True, True),
    ("read-timeout", transport(httpx.ReadTimeout), None, True, False),
    ("write-error", transport(httpx.WriteError), None, True, False),
    ("remote-protocol", transport(httpx.RemoteProtocolError), None, True, False),
    ("local-protocol", transport(httpx.LocalProtocolError), None, False, False),
    ("token-call-read-timeout", transport(httpx.ReadTimeout, TOKEN), None, True, True),
    ("invalid-grant", InvalidGrantError("invalid_grant"), None, False, False),
    ("programming-error", ValueError("x"), None, False, False),
    ("200", None, response(200), False, False),
    ("204", None, response(204), False, False),
    ("500", None, response(500), True, False),
    ("502", None, response(502), True, False),
    ("504", None, response(504), True, False),
    ("503", None, response(503), True, True),
    ("429", None, response(429), True, True),
    ("503-SERVER_UNAVAILABLE", None, response(503, "SERVER_UNAVAILABLE"), True, True),
    ("400-UNABLE_TO_LOCK_ROW", None, response(400, "UNABLE_TO_LOCK_ROW"), True, True),
    ("500-APEX_ERROR", None, response(500, "APEX_ERROR"), False, False),
    ("403-REQUEST_LIMIT_EXCEEDED", None, response(403, "REQUEST_LIMIT_EXCEEDED"), False, False),
    ("401-INVALID_SESSION_ID", None, response(401, "INVALID_SESSION_ID"), False, False),
    ("404-NOT_FOUND", None, response(404, "NOT_FOUND"), False, False),
    ("400-DUPLICATE_VALUE", None, response(400, "DUPLICATE_VALUE"), False, False),
    ("400-MALFORMED_QUERY", None, response(400, "MALFORMED_QUERY"), False, False),
    ("400-unknown-code", None, response(400, "SOMETHING_NEW"), False, False),
    ("500-REQUEST_RUNNING_TOO_LONG", None, response(500, "REQUEST_RUNNING_TOO_LONG"), False, False),
]


@pytest.mark.parametrize(
    ("case", "error", "resp", "if_idempotent", "if_not"), CASES, ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "create-post"])
def test_decision_table(
    policy: RetryPolicy,
    case: str,
    error: BaseException | None,
    resp: httpx.Response | None,
    if_idempotent: bool,
    if_not: bool,
    idempotent: bool,
) -> None:
    method = "PATCH" if idempotent else "POST"
    decision = policy.decide(1, method=method, idempotent=idempotent, error=error, response=resp)
    assert decision.retry is (if_idempotent if idempotent else if_not), decision.reason
    assert decision.reason
    if decision.retry:
        assert decision.delay == 0.5  # base * 2**0, jitter = identity


@pytest.mark.parametrize(
    ("status", "code", "if_idempotent", "if_not"),
    [
        (503, "SERVER_UNAVAILABLE", True, True),
        (400, "UNABLE_TO_LOCK_ROW", True, True),
        (502, "", True, False),
        (500, "APEX_ERROR", False, False),
        (404, "ENTITY_IS_DELETED", False, False),
    ],
)
def test_status_errors_decide_like_their_responses(
    policy: RetryPolicy, status: int, code: str, if_idempotent: bool, if_not: bool
) -> None:
    body = [{"message": "m", "errorCode": code}] if code else "oops"
    error = error_from_response(status, body, method="POST", url="/x")
    assert policy.decide(1, method="GET", idempotent=True, error=error).retry is if_idempotent
    assert policy.decide(1, method="POST", idempotent=False, error=error).retry is if_not


def test_tables_are_consistent() -> None:
    assert not RETRYABLE_ERROR_CODES & TERMINAL_ERROR_CODES
    assert {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"} <= RETRYABLE_ERROR_CODES
    assert {"INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED"} <= TERMINAL_ERROR_CODES
    assert {500, 502, 503, 504} == RETRYABLE_STATUSES
    assert 503 in NOT_APPLIED_STATUSES


def test_attempts_run_out(policy: RetryPolicy) -> None:
    error = RequestNotSentError("x")
    assert policy.decide(2, method="GET", idempotent=True, error=error).retry
    last = policy.decide(3, method="GET", idempotent=True, error=error)
    assert not last.retry and "attempts exhausted (3/3)" in last.reason
    assert (
        not policy.with_(max_attempts=1).decide(1, method="GET", idempotent=True, error=error).retry
    )


def test_exponential_backoff_is_capped(policy: RetryPolicy) -> None:
    many = policy.with_(max_attempts=20, backoff_base=1.0, backoff_cap=10.0)
    delays = [
        many.decide(n, method="GET", idempotent=True, response=response(502)).delay
        for n in range(1, 7)
    ]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_jitter_is_injected_and_sees_the_ceiling(clock: FakeClock) -> None:
    seen: list[float] = []

    def jitter(ceiling: float) -> float:
        seen.append(ceiling)
        return ceiling / 4

    policy = RetryPolicy(jitter=jitter, clock=clock, backoff_base=2.0)
    assert policy.decide(2, method="GET", idempotent=True, response=response(503)).delay == 1.0
    assert seen == [4.0]


def test_full_jitter_uses_random(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("salesforce_typed.core.retry.random.random", lambda: 0.25)
    assert full_jitter(8.0) == 2.0
    assert (
        RetryPolicy().decide(2, method="GET", idempotent=True, response=response(503)).delay == 0.25
    )


@pytest.mark.parametrize(
    ("header", "delay"),
    [("7", 7.0), ("0", 0.0), ("2.5", 2.5), ("600", 60.0), ("-3", 0.0), ("soon", 0.5), ("nan", 0.5)],
)
def test_retry_after_seconds_wins_and_is_capped(
    policy: RetryPolicy, header: str, delay: float
) -> None:
    resp = response(503, headers={"Retry-After": header})
    decision = policy.decide(1, method="POST", idempotent=False, response=resp)
    assert decision.retry and decision.delay == delay


@pytest.mark.parametrize(("offset", "delay"), [(30, 30.0), (-30, 0.0), (3600, 60.0)])
def test_retry_after_http_date(
    policy: RetryPolicy, clock: FakeClock, offset: int, delay: float
) -> None:
    when = datetime.fromtimestamp(clock.now() + offset, tz=UTC)
    resp = response(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    decision = policy.decide(1, method="GET", idempotent=True, response=resp)
    assert decision.delay == delay and "Retry-After" in decision.reason


def test_retry_after_read_from_the_response_next_to_an_error(policy: RetryPolicy) -> None:
    resp = response(503, headers={"Retry-After": "12"})
    error = error_from_response(503, [], method="GET", url="/x")
    decision = policy.decide(1, method="GET", idempotent=True, error=error, response=resp)
    assert decision.delay == 12.0
    capped = policy.with_(retry_after_cap=5).decide(1, method="GET", idempotent=True, response=resp)
    assert capped.delay == 5.0


def test_retry_after_does_not_revive_a_terminal_answer(policy: RetryPolicy) -> None:
    resp = response(403, "REQUEST_LIMIT_EXCEEDED", headers={"Retry-After": "1"})
    assert not policy.decide(1, method="GET", idempotent=True, response=resp).retry


def test_unread_streaming_body_falls_back_to_status(policy: RetryPolicy) -> None:
    resp = httpx.Response(503, stream=httpx.ByteStream(b"[]"), request=httpx.Request("GET", API))
    assert policy.decide(1, method="GET", idempotent=True, response=resp).retry


def test_with_overrides_return_a_copy(policy: RetryPolicy, clock: FakeClock) -> None:
    other = policy.with_(
        max_attempts=7,
        retryable_error_codes={"CUSTOM"},
        not_applied_statuses=[],
        terminal_error_codes=(),
    )
    assert other.max_attempts == 7 and policy.max_attempts == 3
    assert other.retryable_error_codes == frozenset({"CUSTOM"})
    assert other.clock is clock and other.jitter is no_jitter
    assert other.decide(1, method="POST", idempotent=False, response=response(400, "CUSTOM")).retry
    assert not other.decide(1, method="POST", idempotent=False, response=response(503)).retry
    with pytest.raises(ValueError):
        policy.with_(max_attempts=0)


def test_attempt_counts_from_one(policy: RetryPolicy) -> None:
    with pytest.raises(ValueError):
        policy.decide(0, method="GET", idempotent=True, error=RequestNotSentError("x"))


def test_nothing_to_decide_on(policy: RetryPolicy) -> None:
    assert not policy.decide(1, method="GET", idempotent=True).retry


def test_default_timeout_is_explicit() -> None:
    assert httpx.Timeout(connect=10, read=120, write=120, pool=30) == DEFAULT_TIMEOUT
    assert RetryPolicy().clock is not None


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (transport(httpx.ConnectError), RequestNotSentError),
        (transport(httpx.ProxyError), RequestNotSentError),
        (transport(httpx.ReadTimeout), OutcomeUnknownError),
        (transport(httpx.CloseError), OutcomeUnknownError),
        (transport(httpx.ReadTimeout, TOKEN), RequestNotSentError),
        (transport(httpx.UnsupportedProtocol), type(None)),
        (transport(httpx.LocalProtocolError, TOKEN), type(None)),
        (httpx.ReadError("no request attached"), OutcomeUnknownError),
    ],
)
def test_classify_transport_error(exc: httpx.TransportError, expected: type) -> None:
    mapped = classify_transport_error(exc)
    assert type(mapped) is expected
    if mapped is not None:
        assert "boom" not in str(mapped)  # our message, not the library's
