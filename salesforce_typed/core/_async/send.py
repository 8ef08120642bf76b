"""AsyncSender: THE send loop of the async face; `core/_sync/send.py` is generated from it.

REST, Bulk 1.0, Bulk 2.0, SOAP and the CometD client all send through `send(exchange)`, so
a fix to retries, sessions or error mapping is made once. What must stay true:
- The session comes from the auth flow (`SalesforceAuth.aget_token`: refreshed a margin
  before expiry, single-flight, store-aware) and the API's `Exchange.build` puts it where
  that API wants it. A plain `httpx.Auth` is handed to httpx instead.
- An answer the API calls "session rejected" is followed by exactly one public
  `SalesforceAuth.arefresh(rejected=...)` and one replay, which does not count as a retry.
  A second rejection is mapped and raised like any error. Nobody provokes a 401 to refresh.
- Re-sends are the RetryPolicy's verdicts (`decide`), slept on the injected clock; a create
  is re-sent only when nothing reached Salesforce or it answered "not applied".
- Every failure is in the error tree: transport errors become `RequestNotSentError` or
  `OutcomeUnknownError` (token calls included), answers become the API's mapped errors.
- `Sforce-Limit-Info` is read from every answer; log lines carry a request id, the method
  and the path, never a token, a body or a query string.
"""

from __future__ import annotations

import logging
import ssl
import uuid
from types import TracebackType

import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.connection import Connection
from salesforce_typed.core.errors import (
    CertificateVerifyError,
    OutcomeUnknownError,
    RequestNotSentError,
)
from salesforce_typed.core.exchange import Exchange
from salesforce_typed.core.limits import ApiUsage, parse_limit_info
from salesforce_typed.core.retry import (
    DEFAULT_TIMEOUT,
    RetryPolicy,
    classify_transport_error,
    describe_request,
)
from salesforce_typed.core.transport import http_options, ssl_context

__all__ = ["AsyncSender"]

logger = logging.getLogger("salesforce_typed.http")


class AsyncSender:
    """One connection (auth, instance URL), pool, retry policy and clock, shared by every API.

    Build it once per client; `AsyncSalesforce`, its Bulk, SOAP and streaming faces hold the
    same object, so they share the session, the pool and `api_usage`.
    """

    def __init__(
        self,
        *,
        connection: Connection,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        verify: object = True,
    ) -> None:
        self.connection = connection
        self.retry = retry or RetryPolicy()
        self.clock: Clock = clock or SystemClock()
        self.api_usage: ApiUsage | None = None
        self.session_refreshes = 0  # rejected sessions this sender had replaced
        # The TLS setting, CA file loaded once: faces opening a pool of their own (the
        # blocking Listener's loop thread) trust what this client trusts.
        self.verify: ssl.SSLContext | bool = ssl_context(verify)
        self.http = http or httpx.AsyncClient(**http_options(timeout=timeout, verify=self.verify))
        self._owns_http = http is None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(instance_url={self.connection.instance_url!r})"

    async def __aenter__(self) -> AsyncSender:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool if this sender opened it (a pool passed in stays the caller's)."""
        if self._owns_http:
            await self.http.aclose()

    # -- the session -------------------------------------------------------------------------

    async def instance_url(self) -> str:
        return await self.connection.aget_instance_url(self.http)

    async def session_id(self) -> str | None:
        """The current access token; None when a plain httpx.Auth authenticates instead."""
        auth = self.connection.auth
        if isinstance(auth, SalesforceAuth):
            return (await auth.aget_token(self.http)).access_token
        return None

    @property
    def can_refresh(self) -> bool:
        auth = self.connection.auth
        return isinstance(auth, SalesforceAuth) and auth.can_refresh

    async def refresh(self, rejected: str | None = None) -> str:
        """Replace a rejected session (single-flight; a no-op if a peer already did)."""
        auth = self.connection.auth
        if not isinstance(auth, SalesforceAuth):
            raise RequestNotSentError(f"{type(auth).__name__} cannot refresh a rejected session")
        before = auth.refresh_count + auth.adopted_count
        token = (await auth.arefresh(self.http, rejected=rejected)).access_token
        if auth.refresh_count + auth.adopted_count != before:
            self.session_refreshes += 1
        return token

    # -- the one loop ------------------------------------------------------------------------

    async def send(self, exchange: Exchange, *, retry: RetryPolicy | None = None) -> httpx.Response:
        """Send until accepted or the policy says stop; the accepted response is returned.

        With `exchange.stream` the body is left unread for the caller to stream and close;
        otherwise it is read. Error answers are always read, closed, mapped and raised.
        """
        policy = retry or self.retry
        rid = uuid.uuid4().hex[:12]
        base = await self.instance_url()
        attempt = 0
        replayed = False
        while True:
            attempt += 1
            session = await self.session_id() if exchange.needs_session else None
            request = exchange.build(base, session)
            try:
                response, accepted = await self._attempt(exchange, request, session)
            except httpx.TransportError as exc:
                error = classify_transport_error(exc)
                if error is None:  # a programming error (bad scheme, bad header): never retried
                    raise RequestNotSentError(
                        f"{type(exc).__name__} on {describe_request(request)}: {exc}"
                    ) from exc
                if isinstance(error, CertificateVerifyError):  # terminal: never re-sent
                    logger.info("%s %s %s: %s", rid, *_what(exchange), "certificate not trusted")
                    raise error from exc
                assert isinstance(error, RequestNotSentError | OutcomeUnknownError)
                decision = policy.decide(
                    attempt, method=exchange.method, idempotent=exchange.idempotent, error=error
                )
                logger.info("%s %s %s: %s", rid, exchange.method, exchange.path, decision.reason)
                if not decision.retry:
                    raise error from exc
                await self.clock.asleep(decision.delay)
                continue
            if accepted:
                return response
            if session and not replayed and self.can_refresh and exchange.rejected(response):
                logger.info("%s %s %s: session rejected; refresh, replay", rid, *_what(exchange))
                replayed = True
                attempt -= 1  # the replay is not a retry
                await self.refresh(session)
                continue
            error = exchange.error(response)
            if exchange.final(error) and getattr(error, "error_code", "") not in (
                policy.retryable_error_codes
            ):
                raise error
            decision = policy.decide(
                attempt,
                method=exchange.method,
                idempotent=exchange.idempotent,
                error=error,
                response=response,
            )
            logger.info("%s %s %s: %s", rid, exchange.method, exchange.path, decision.reason)
            if not decision.retry:
                raise error
            await self.clock.asleep(decision.delay)

    async def _attempt(
        self, exchange: Exchange, request: httpx.Request, session: str | None
    ) -> tuple[httpx.Response, bool]:
        """One send: (the response, accepted?). Bodies that must be read are read here, so a
        connection dropped mid-body is a transport error of this attempt, like one before."""
        uses_flow = exchange.needs_session and session is None
        response = await self.http.send(
            request, auth=self.connection.auth if uses_flow else None, stream=True
        )
        usage = parse_limit_info(response.headers.get("sforce-limit-info"))
        if usage is not None:
            self.api_usage = usage
        accepted = exchange.accept(response)
        if accepted and exchange.stream:
            return response, True
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response, accepted


def _what(exchange: Exchange) -> tuple[str, str]:
    return exchange.method, exchange.path
