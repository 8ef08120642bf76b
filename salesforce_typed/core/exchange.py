"""What one API tells the send loop about one request: how to build it, and how to read it.

The send loop (`core/_async/send.py`) is the same for REST, Bulk 1.0, Bulk 2.0, SOAP and
CometD; what differs per API is pure and lives in an `Exchange`:
- `build(instance_url, session_id)` makes the `httpx.Request`, putting the session where the
  API wants it (`Authorization: Bearer`, `X-SFDC-Session`, the SOAP `SessionHeader`);
- `accept` says which answers are results, `error` maps the others onto the error tree;
- `rejected` says whether an answer means "this session is dead" (REST `401
  INVALID_SESSION_ID`, Bulk 1.0 `InvalidSessionId`, the SOAP `INVALID_SESSION_ID` fault), on
  which the loop refreshes once and replays once;
- `final` marks errors that are Salesforce's verdict (a SOAP fault): retried only for the
  policy's "not applied" errorCodes, never for their HTTP status.

Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import httpx
import orjson

from salesforce_typed.core.errors import SalesforceError, error_from_response

__all__ = [
    "INVALID_SESSION_ID",
    "Exchange",
    "bearer",
    "never",
    "parse_body",
    "rest_accept",
    "rest_error",
    "rest_rejected",
]

INVALID_SESSION_ID = "INVALID_SESSION_ID"


def parse_body(response: httpx.Response) -> Any:
    """JSON when the answer is JSON (orjson: ~2x json.loads on query pages), else the text."""
    ctype = response.headers.get("content-type", "")
    if "json" in ctype or response.content[:1] in (b"{", b"["):
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
    return response.text


def rest_accept(response: httpx.Response) -> bool:
    """REST results: 2xx and 304 (If-Modified-Since); 300 lists several external id matches."""
    return response.status_code < 400 and response.status_code != 300


def rest_error(response: httpx.Response) -> SalesforceError:
    return error_from_response(
        response.status_code,
        parse_body(response),
        method=response.request.method,
        url=response.request.url.path,
    )


def rest_rejected(response: httpx.Response) -> bool:
    if response.status_code != 401:
        return False
    error = rest_error(response)
    return getattr(error, "error_code", "") == INVALID_SESSION_ID


def never(_: Any) -> bool:
    return False


def bearer(request: httpx.Request, session_id: str | None) -> httpx.Request:
    """REST and Bulk 2.0 carry the session as a bearer token."""
    if session_id is not None:
        request.headers["Authorization"] = f"Bearer {session_id}"
    return request


@attrs.frozen(kw_only=True, slots=True)
class Exchange:
    """One request as the send loop sees it; see the module docstring."""

    method: str
    path: str  # for log lines and messages: never a query string or a body
    build: Callable[[str, str | None], httpx.Request] = attrs.field(repr=False)
    idempotent: bool = True
    accept: Callable[[httpx.Response], bool] = attrs.field(default=rest_accept, repr=False)
    error: Callable[[httpx.Response], SalesforceError] = attrs.field(default=rest_error, repr=False)
    rejected: Callable[[httpx.Response], bool] = attrs.field(default=rest_rejected, repr=False)
    final: Callable[[SalesforceError], bool] = attrs.field(default=never, repr=False)
    needs_session: bool = True
    stream: bool = False  # hand back an unread response (the caller reads and closes it)
