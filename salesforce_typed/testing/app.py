"""The fake org's ASGI application: auth, limits, fault injection, then the route handler.

Every `/services/data` and `/services/apexrest` response carries `Sforce-Limit-Info`;
OAuth and admin routes are not counted. Faults apply to API routes only, so a test can
always reach the admin API to switch them off again.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from salesforce_typed.testing.admin.latency import latency
from salesforce_typed.testing.org.http import (
    OAuthError,
    Request,
    Response,
    Router,
    SfError,
    parse_json_body,
)
from salesforce_typed.testing.org.state import OrgState

log = logging.getLogger("salesforce_typed.testing")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# `state.extensions` key: how many requests ended in the last-resort 500 (a bug each).
UNEXPECTED = "unexpected_errors"
MAX_BODY = 160 * 1024 * 1024
# JSON bodies from this size on are parsed in a worker thread, not on the server's loop.
LARGE_JSON = 256 * 1024  # above Bulk 2.0's 150 MB upload limit
_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


_GZIP_MIN = 1400  # about one TCP segment: smaller bodies are not worth compressing
_GZIP_TYPES = ("application/json", "text/csv", "text/xml", "application/xml")


def _gzipped(response: Response) -> Response:
    """Salesforce compresses REST and Bulk bodies when the client accepts gzip."""
    ctype = next((v for k, v in response.headers if k.lower() == "content-type"), "")
    already = any(k.lower() == "content-encoding" for k, _ in response.headers)
    if already or not ctype.startswith(_GZIP_TYPES):
        return response
    body = gzip.compress(response.body, compresslevel=1)
    return Response(
        status=response.status, body=body, headers=[*response.headers, ("content-encoding", "gzip")]
    )


class DroppedConnectionError(Exception):
    """Raised after the response started: the server closes the socket mid-response."""


def _is_api(path: str) -> bool:
    return path.startswith(
        (
            "/services/data/v",
            "/services/apexrest/",
            "/services/async/",
            "/services/Soap/",
            "/cometd/",
        )
    )


class FakeOrgApp:
    def __init__(self, state: OrgState, router: Router) -> None:
        self.state = state
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await self._send(
                    send,
                    SfError(
                        413, "REQUEST_ENTITY_TOO_LARGE", "Request body is too large"
                    ).response(),
                )
                return
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        req = Request(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=bytes(body),
            org=self.state,
        )
        if len(req.body) >= LARGE_JSON and "json" in headers.get("content-type", ""):
            req.parsed = await asyncio.to_thread(parse_json_body, req.body)
        drop = False
        try:
            response, drop = await self.handle(req)
        except Exception:  # a bug in a handler: answer like Salesforce's 500, log it
            log.exception("fake org handler failed for %s %s", req.method, req.path)
            # Counted, so that tests (the fuzz test) can show no input ever gets here.
            extensions = self.state.extensions
            extensions[UNEXPECTED] = extensions.get(UNEXPECTED, 0) + 1
            response = SfError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.").response()
        if "gzip" in req.headers.get("accept-encoding", "") and len(response.body) >= _GZIP_MIN:
            response = _gzipped(response)
        await self._send(send, response, drop=drop)

    async def handle(self, req: Request) -> tuple[Response, bool]:
        state = self.state
        api = _is_api(req.path)
        drop = False
        extra: list[tuple[str, str]] = []
        try:
            matched = self.router.match(req.method, req.path)
            if matched is None:
                raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
            route, params = matched
            req.params = params
            if "version" in params:
                try:
                    state.check_version(params["version"])
                except SfError as exc:  # Bulk 1.0 says it its own way
                    if exc.status != 410 or not req.path.startswith("/services/async/"):
                        raise
                    from salesforce_typed.testing.bulk1.routes import retired_version

                    return retired_version(req), False
            if route.auth:
                req.session = state.authenticate(req.headers.get("authorization"))
            if api:
                faults = state.faults
                if faults.latency_ms:
                    await asyncio.sleep(faults.latency_ms / 1000)
                await latency(state).round_trip()  # realistic-latency mode (admin/latency.py)
                if not req.path.startswith("/cometd/"):  # streaming has its own allocations
                    state.count_api_call()
                if faults.roll(faults.server_error_rate):
                    raise SfError(503, "SERVER_UNAVAILABLE", "Server unavailable, try again")
                if req.method in _WRITE_METHODS and faults.roll(faults.lock_rate):
                    raise SfError(
                        400,
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record",
                    )
                drop = faults.roll(faults.drop_rate)
            response = await route.handler(req)
        except SfError as exc:
            response = exc.response()
        except OAuthError as exc:
            response = exc.response()
        if api:
            extra.append(state.limit_info_header())
        response.headers.extend(extra)
        return response, drop

    async def _send(self, send: Send, response: Response, *, drop: bool = False) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if drop:
            # Part of the body, then an error: the server aborts the connection, so the
            # client sees a truncated response - outcome unknown.
            await send({"type": "http.response.body", "body": response.body[:1], "more_body": True})
            raise DroppedConnectionError("fault injection: connection dropped")
        await send({"type": "http.response.body", "body": response.body})
