"""A scripted Salesforce for unit tests: OAuth with rotation and a Bayeux endpoint, behind
httpx.MockTransport. Tests queue events and failures; every request is recorded."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import RefreshTokenGrant
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import AsyncListener, Backoff

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
COMETD = f"{INSTANCE}/cometd/62.0"
CHANNEL = "/data/AccountChangeEvent"

Override = Callable[[dict[str, Any], httpx.Request], httpx.Response | None]


def cdc(
    replay_id: int, change_type: str = "UPDATE", entity: str = "Account", **fields: Any
) -> dict[str, Any]:
    header = {
        "entityName": entity,
        "recordIds": [f"001Hs00003Zk{replay_id:06d}"],
        "changeType": change_type,
        "changeOrigin": "com/salesforce/api/rest/62.0",
        "transactionKey": f"txn-{replay_id}",
        "sequenceNumber": 1,
        "commitTimestamp": 1714564800000,
        "commitNumber": 11657372702432 + replay_id,
        "commitUser": "005Hs00000AbCdEIAV",
        "changedFields": sorted(fields),
    }
    channel = f"/data/{entity}ChangeEvent"
    return {
        "channel": channel,
        "data": {
            "schema": "s",
            "event": {"replayId": replay_id},
            "payload": {"ChangeEventHeader": header, **fields},
        },
    }


class MockOrg:
    """OAuth (refresh-token grant, rotation) plus `/cometd/62.0`, scripted.

    `events` are returned by the next connects (one batch per connect); `failures` maps a
    meta channel to a queue of replies (a dict: a Bayeux failure reply; an int: that HTTP
    status; an Exception: raised as a transport error) used before normal handling.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.messages: list[dict[str, Any]] = []
        self.token_calls = 0
        self.token_error: dict[str, str] | None = None
        self.token_down = 0  # the next N token calls fail to connect (the endpoint is away)
        self.refresh_token = "rt-0"
        self.access_tokens: list[str] = []
        self.dead_tokens: set[str] = set()
        self.batches: deque[list[dict[str, Any]]] = deque()
        self.failures: dict[str, deque[Any]] = {}
        self.connect_advice: dict[str, Any] | None = {
            "reconnect": "retry",
            "interval": 0,
            "timeout": 110000,
        }
        self.invalid_replay_ids: set[int] = set()
        self.client_seq = 0
        self.client_ids: list[str] = []
        self.on_empty_connect: Callable[[], None] | None = None

    # -- scripting --------------------------------------------------------------------------

    def fail(self, channel: str, *replies: Any) -> None:
        self.failures.setdefault(channel, deque()).extend(replies)

    def push(self, *events: dict[str, Any]) -> None:
        self.batches.append(list(events))

    def sent(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("channel") == channel]

    # -- the transport ----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)  # like real I/O, let other tasks and callbacks run
            return self.handle(request)

        return httpx.MockTransport(handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            return self._token(request)
        if str(request.url) == COMETD:
            return self._cometd(request)
        return httpx.Response(404, json=[{"errorCode": "NOT_FOUND", "message": "nope"}])

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.token_down > 0:
            self.token_down -= 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.token_calls += 1
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        if self.token_error is not None:
            return httpx.Response(400, json=self.token_error)
        if form.get("refresh_token") != self.refresh_token:
            return httpx.Response(
                400,
                json={
                    "error": "invalid_grant",
                    "error_description": "expired access/refresh token",
                },
            )
        n = self.token_calls
        self.refresh_token = f"rt-{n}"
        access = f"tok-{n}"
        self.access_tokens.append(access)
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "refresh_token": self.refresh_token,
                "instance_url": INSTANCE,
                "issued_at": "1714560000123",
            },
        )

    def _cometd(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert isinstance(body, list) and len(body) == 1, body
        msg = body[0]
        self.messages.append(msg)
        channel = msg["channel"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        queued = self.failures.get(channel)
        if queued:
            failure = queued.popleft()
            if isinstance(failure, Exception):
                raise failure
            if isinstance(failure, int):
                return httpx.Response(failure, text="<html>Service Unavailable</html>")
            if callable(failure):
                return failure(msg, request)
            reply = {"channel": channel, "id": msg.get("id"), "successful": False, **failure}
            status = 401 if str(failure.get("error", "")).startswith("401") else 200
            return httpx.Response(status, json=[reply])
        if token in self.dead_tokens:
            reply = {
                "channel": channel,
                "id": msg.get("id"),
                "successful": False,
                "error": "401::Authentication invalid",
                "advice": {"reconnect": "none"},
            }
            if channel == "/meta/handshake":
                reply["error"] = "403::Handshake denied"
                reply["ext"] = {"sfdc": {"failureReason": "401::Authentication invalid"}}
            return httpx.Response(401, json=[reply])
        if channel == "/meta/handshake":
            self.client_seq += 1
            cid = f"client-{self.client_seq}"
            self.client_ids.append(cid)
            reply = {
                "channel": channel,
                "id": msg["id"],
                "successful": True,
                "clientId": cid,
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "ext": {"replay": True},
                "advice": {"reconnect": "retry", "interval": 0, "timeout": 110000},
            }
            return httpx.Response(
                200, json=[reply], headers={"set-cookie": "BAYEUX_BROWSER=abc123; Path=/"}
            )
        if channel == "/meta/subscribe":
            replay = msg["ext"]["replay"][msg["subscription"]]
            reply = {
                "channel": channel,
                "id": msg["id"],
                "clientId": msg["clientId"],
                "subscription": msg["subscription"],
            }
            if replay in self.invalid_replay_ids:
                reply |= {
                    "successful": False,
                    "error": f"400::The replayId {{{replay}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.",
                }
            else:
                reply["successful"] = True
            return httpx.Response(200, json=[reply])
        if channel == "/meta/connect":
            events = self.batches.popleft() if self.batches else []
            if not events and self.on_empty_connect is not None:
                self.on_empty_connect()
            reply = {
                "channel": channel,
                "id": msg["id"],
                "clientId": msg["clientId"],
                "successful": True,
            }
            if self.connect_advice is not None:
                reply["advice"] = self.connect_advice
            return httpx.Response(200, json=[*events, reply])
        reply = {"channel": channel, "id": msg.get("id"), "successful": True}
        return httpx.Response(200, json=[reply])


def make_listener(
    org: MockOrg, clock: FakeClock | None = None, **kwargs: Any
) -> tuple[AsyncListener, SalesforceAuth, MemoryTokenStore]:
    clock = clock or FakeClock()
    store = MemoryTokenStore(clock=clock)
    grant = RefreshTokenGrant(
        client_id="cid", client_secret="secret", refresh_token="rt-0", token_url=TOKEN_URL
    )
    auth = SalesforceAuth(grant, store=store, clock=clock)
    http = httpx.AsyncClient(transport=org.transport())
    kwargs.setdefault("backoff", Backoff(jitter=lambda c: 0.0))
    listener = AsyncListener(
        auth=auth, clock=clock, http_client=http, strict_decoding=True, **kwargs
    )
    return listener, auth, store
