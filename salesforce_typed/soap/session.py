"""`SessionHeaderAuth`: the REST client's auth flow, with the token moved into the envelope.

SOAP carries the session id in `<SessionHeader>`, not in `Authorization`, and reports an
expired session as an HTTP 500 fault, not a 401. Rather than write refresh-and-replay a
second time, this wraps the client's own `httpx.Auth` (normally `SalesforceAuth`) and
translates between the two:

- each time the inner flow yields *our* request, it carries the token the flow chose in
  `Authorization: Bearer`; we send instead a copy with that token rendered into the
  SessionHeader and no Authorization header (the secret travels once);
- an `INVALID_SESSION_ID` fault is shown to the inner flow as the 401 it understands, so it
  refreshes once (single-flight, RTR, token store) and replays once, exactly as for REST;
- requests the inner flow makes itself (the token endpoint) pass through untouched;
- when the inner flow gives up (second rejection, or a raw token it cannot refresh) it
  raises `AuthenticationError`; we end the flow instead, so httpx hands back the real fault
  and the client raises the typed `InvalidSessionIdError`.

The session id is never logged or kept on this object.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from salesforce_typed.core.errors import AuthenticationError, RequestNotSentError
from salesforce_typed.soap.envelope import parse_fault
from salesforce_typed.soap.faults import SoapProtocolError

__all__ = ["SessionHeaderAuth"]

_INVALID_SESSION = "INVALID_SESSION_ID"


def _rejected(response: httpx.Response) -> bool:
    """Whether a SOAP answer is the INVALID_SESSION_ID fault (always an HTTP 500)."""
    if response.status_code != 500:
        return False
    try:
        fault = parse_fault(response.content, status_code=500)
    except SoapProtocolError:
        return False
    return fault is not None and fault.error_code == _INVALID_SESSION


def _as_rest_401(response: httpx.Response) -> httpx.Response:
    body = [{"message": "Session expired or invalid", "errorCode": _INVALID_SESSION}]
    return httpx.Response(
        401,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        request=response.request,
    )


class SessionHeaderAuth(httpx.Auth):
    """Runs `inner` for one SOAP call; `render(session_id)` builds that call's envelope."""

    def __init__(self, inner: httpx.Auth, render: Callable[[str], bytes]) -> None:
        self._inner = inner
        self._render = render
        self._last_rejected = False

    def __repr__(self) -> str:
        return f"SessionHeaderAuth({self._inner!r})"

    def _soap_request(self, request: httpx.Request) -> httpx.Request:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            raise RequestNotSentError(
                f"{type(self._inner).__name__} set no bearer token: SOAP needs a session id"
            )
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("authorization", "content-length")
        }
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=self._render(token.strip()),
            extensions=request.extensions,
        )

    def _feed(self, response: httpx.Response) -> httpx.Response:
        self._last_rejected = _rejected(response)
        return _as_rest_401(response) if self._last_rejected else response

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        inner = self._inner.sync_auth_flow(request)
        try:
            outgoing = next(inner)
            while True:
                ours = outgoing is request
                response = yield self._soap_request(outgoing) if ours else outgoing
                if ours:
                    response.read()
                outgoing = inner.send(self._feed(response) if ours else response)
        except StopIteration:
            return
        except AuthenticationError:
            if self._last_rejected:
                return  # httpx returns the fault we just received; the client types it
            raise
        finally:
            inner.close()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        inner = self._inner.async_auth_flow(request)
        try:
            outgoing = await inner.__anext__()
            while True:
                ours = outgoing is request
                response = yield self._soap_request(outgoing) if ours else outgoing
                if ours:
                    await response.aread()
                outgoing = await inner.asend(self._feed(response) if ours else response)
        except StopAsyncIteration:
            return
        except AuthenticationError:
            if self._last_rejected:
                return
            raise
        finally:
            await inner.aclose()
