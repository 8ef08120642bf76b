"""How a SOAP call rides the shared send loop: the session in the envelope, faults as verdicts.

SOAP carries the session id in `<SessionHeader>`, not in `Authorization`, and reports an
expired session as an HTTP 500 `INVALID_SESSION_ID` fault, not a 401. `soap_exchange` tells
the send loop exactly that, so refresh-and-replay is not written a second time:
- `build` renders the call's envelope with the session the loop got from the auth flow (the
  secret travels once, in the envelope; no Authorization header);
- `rejected` recognises the `INVALID_SESSION_ID` fault: the loop refreshes once, replays once;
- `error` is the typed fault (or status error) `SoapCall.parse` raises; `final` marks faults
  as Salesforce's verdict, re-sent only for the policy's "not applied" errorCodes.

The session id is never logged or kept here.
"""

from __future__ import annotations

from typing import Any

import httpx

from salesforce_typed.core.base_client import USER_AGENT
from salesforce_typed.core.errors import SalesforceError
from salesforce_typed.core.exchange import Exchange
from salesforce_typed.soap.envelope import SoapCall, build_http_request, parse_fault
from salesforce_typed.soap.faults import SoapFaultError, SoapProtocolError

__all__ = ["session_rejected", "soap_exchange"]

_INVALID_SESSION = "INVALID_SESSION_ID"


def session_rejected(response: httpx.Response) -> bool:
    """Whether a SOAP answer is the INVALID_SESSION_ID fault (always an HTTP 500)."""
    if response.status_code != 500:
        return False
    try:
        fault = parse_fault(response.content, status_code=500)
    except SoapProtocolError:
        return False
    return fault is not None and fault.error_code == _INVALID_SESSION


def _accepted(response: httpx.Response) -> bool:
    return response.status_code == 200


def _is_fault(error: SalesforceError) -> bool:
    return isinstance(error, SoapFaultError)


def soap_exchange(url: str, call: SoapCall[Any]) -> Exchange:
    """The send loop's view of one partner call posted to `url`."""

    def build(_: str, session: str | None) -> httpx.Request:
        return build_http_request(url, call, session_id=session, user_agent=USER_AGENT)

    def error(response: httpx.Response) -> SalesforceError:
        try:
            call.parse(response.status_code, response.content, url=response.request.url.path)
        except SalesforceError as exc:
            return exc
        return SoapProtocolError(
            f"HTTP {response.status_code} without a fault",
            status_code=response.status_code,
            url=response.request.url.path,
        )

    return Exchange(
        method="POST",
        path=httpx.URL(url).path,
        idempotent=call.idempotent,
        build=build,
        accept=_accepted,
        error=error,
        rejected=session_rejected,
        final=_is_fault,
        needs_session=call.needs_session,
    )
