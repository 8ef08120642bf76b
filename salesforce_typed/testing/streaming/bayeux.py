"""Bayeux 1.0 over HTTP long-polling, as Salesforce's `/cometd/NN.0` speaks it (§10.1-10.3).

Owns the clients: handshake, the held `/meta/connect`, subscriptions with the replay
extension, unsubscribe, disconnect, and every error reply in the wire reference's words
(clients key on the text after `::`, so it must not drift). Events come from the
`EventBus`; each subscription is a cursor (the last replay id delivered), so fan-out
copies nothing and a re-read after a timeout costs a bisect.

What must stay true:
- Auth is checked on every POST: no header -> `401::Request requires authentication`; a dead
  token -> `403::Handshake denied` with `ext.sfdc.failureReason` on handshake and
  `401::Authentication invalid` (advice `none`) elsewhere, with HTTP 401. A token that dies
  while a connect is held is reported when that connect returns.
- A client that is not holding a connect and has not come back within `max_interval_ms` of
  its last reply (by `state.clock`, so tests move time instead of sleeping) is forgotten:
  `403::Unknown client`, advice `handshake`. A re-handshake starts with no subscriptions.
- The first connect after a handshake answers at once; later ones are held up to
  `timeout_ms` (or the client's smaller `advice.timeout`) and return as soon as an event is
  there. Events precede the connect reply, in replay-id order per channel, at most
  `max_events_per_reply` per reply. A newer connect of the same client releases the older.
- Connect replies carry `advice` the first time and whenever it changed, as Salesforce does.
- Waiters live on the server loop; other threads wake them via `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import secrets
import string
import threading
from collections.abc import Callable, Sequence
from http.cookies import CookieError, SimpleCookie
from typing import Any

import attrs

from salesforce_typed.testing.org.http import Request, Response, SfError
from salesforce_typed.testing.org.state import OrgState, Session
from salesforce_typed.testing.streaming.bus import EventBus, Retained, StreamingConfig

LONG_POLLING = "long-polling"
COOKIE = "BAYEUX_BROWSER"

NO_AUTH_HEADER = "401::Request requires authentication"
AUTH_INVALID = "401::Authentication invalid"
HANDSHAKE_DENIED = "403::Handshake denied"
CLIENT_LIMIT = "403::Organization concurrent user limit exceeded"
UNKNOWN_CLIENT = "403::Unknown client"
EVENTS_LIMIT = "403::Organization total events daily limit exceeded"
INVALID_CONNECTION_TYPE = "400::Invalid connection type"
NO_CHANNEL = "400::The channel you requested to subscribe to doesn't exist {{{}}}"
INVALID_REPLAY = (
    "400::The replayId {{{}}} you provided was invalid.  Please provide a valid ID, "
    "-2 to replay all events, or -1 to replay only new events."
)
REPLAY_NOT_IN_MAP = (
    "400::The replayId for channel {{{}}} wasn't found using the provided replay ID map {{{}}}"
)
NO_COOKIE = "400::Client {} has established a session, but no BAYEUX_BROWSER cookie present"
NO_VERSION = "400::API version in the URI is mandatory"
# Not in the wire reference (the emulator's choice): malformed input and client publishes.
BAD_MESSAGE = "400::Invalid message"
PUBLISH_DENIED = "403::Publish denied"

_ALPHABET = string.ascii_lowercase + string.digits
_JSON = ("content-type", "application/json;charset=UTF-8")

Reply = dict[str, Any]


def _token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _java_map(value: Any) -> str:
    """A replay map as Salesforce prints it: Java's `{k=v, k2=v2}`."""
    if not isinstance(value, dict):
        return json.dumps(value)
    return "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in value.items()) + "}"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@attrs.define(eq=False)
class Client:
    """One handshaken client. `subscriptions` maps a channel to its cursor."""

    client_id: str
    user_id: str
    deadline: float  # by state.clock: forgotten after this unless a connect is held
    subscriptions: dict[str, int] = attrs.field(factory=dict)
    connects: int = 0
    polls: int = 0  # bumped by each connect: a held connect that sees a newer one returns
    waiter: asyncio.Future[None] | None = attrs.field(default=None, repr=False)
    last_advice: dict[str, Any] | None = None
    gone: str | None = None  # "dropped" or "disconnected"


class BayeuxServer:
    """The clients of one org and the `/cometd` POST handler."""

    def __init__(self, state: OrgState, bus: EventBus, config: StreamingConfig) -> None:
        self._state = state
        self._bus = bus
        self.config = config
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._subscribers: dict[str, set[str]] = {}
        self._pending: set[str] = set()  # channels published off-loop, not yet woken
        self._flush_scheduled = False
        bus.on_publish = self.notify

    # -- the HTTP handler ------------------------------------------------------------------

    async def handle(self, req: Request) -> Response:
        """One POST: a JSON array of messages in (a bare object is refused: Salesforce takes
        arrays only), an array of replies out, in message order."""
        try:
            messages = json.loads(req.body) if req.body else None
        except (ValueError, RecursionError):  # bad JSON or UTF-8, digit or depth limits
            messages = None
        if not isinstance(messages, list) or not messages:
            return _response(400, [_dumps({"successful": False, "error": BAD_MESSAGE})])
        token = _bearer(req.headers.get("authorization"))
        if token is None:
            return self._deny(messages, NO_AUTH_HEADER)
        try:
            session = self._state.session_for_token(token)
        except SfError:
            return self._deny(messages, AUTH_INVALID)
        cookies = _cookies(req.headers.get("cookie"))
        parts: list[bytes] = []
        set_cookies: list[str] = []
        status = 200
        for msg in messages:
            if not isinstance(msg, dict) or not isinstance(msg.get("channel"), str):
                parts.append(_dumps({"successful": False, "error": BAD_MESSAGE}))
                continue
            channel = msg["channel"]
            if channel == "/meta/handshake":
                reply = self._handshake(msg, session, cookies, set_cookies)
            elif channel == "/meta/connect":
                events, reply = await self._connect(msg, cookies, token)
                parts.extend(e.body for e in events)
                if reply.get("error") == AUTH_INVALID:
                    status = 401
            elif channel == "/meta/subscribe":
                reply = self._subscribe(msg, cookies)
            elif channel == "/meta/unsubscribe":
                reply = self._unsubscribe(msg, cookies)
            elif channel == "/meta/disconnect":
                reply = self._disconnect(msg, cookies)
            else:
                reply = _reply(msg, False, error=PUBLISH_DENIED)
            parts.append(_dumps(reply))
        headers = [("set-cookie", c) for c in set_cookies]
        return _response(status, parts, headers)

    def _deny(self, messages: Sequence[Any], error: str) -> Response:
        """HTTP 401: every message answered with the auth error its channel gets."""
        parts = []
        for msg in messages:
            msg = msg if isinstance(msg, dict) else {}
            if msg.get("channel") == "/meta/handshake" and error == AUTH_INVALID:
                reply = _reply(msg, False, error=HANDSHAKE_DENIED)
                reply["ext"] = {"sfdc": {"failureReason": AUTH_INVALID}}
            else:
                reply = _reply(msg, False, error=error)
            reply["advice"] = {"reconnect": "none"}
            parts.append(_dumps(reply))
        return _response(401, parts)

    # -- meta channels ---------------------------------------------------------------------

    def _handshake(
        self, msg: Reply, session: Session, cookies: dict[str, str], set_cookies: list[str]
    ) -> Reply:
        types = msg.get("supportedConnectionTypes")
        if isinstance(types, list) and LONG_POLLING not in types:
            return _reply(msg, False, error=INVALID_CONNECTION_TYPE)
        now = self._state.clock()
        with self._lock:
            self._sweep(now)
            if len(self._clients) >= self.config.max_clients:
                reply = _reply(msg, False, error=HANDSHAKE_DENIED)
                reply["ext"] = {"sfdc": {"failureReason": CLIENT_LIMIT}}
                return reply
            client = Client(
                client_id=_token(27),
                user_id=session.user_id,
                deadline=now + self.config.max_interval_ms / 1000,
            )
            self._clients[client.client_id] = client
        secure = "; Secure; SameSite=None" if self._state.instance_url.startswith("https") else ""
        if COOKIE not in cookies:
            set_cookies.append(f"{COOKIE}={_token(28)}; Path=/; HttpOnly{secure}")
        set_cookies.append(f"sfdc-stream=!{secrets.token_urlsafe(40)}; Path=/{secure}")
        reply = _reply(msg, True, clientId=client.client_id)
        reply |= {
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": [LONG_POLLING],
            "ext": {"replay": True, "payload.format": True},
            "advice": self._advice(),
        }
        return reply

    async def _connect(
        self, msg: Reply, cookies: dict[str, str], token: str
    ) -> tuple[list[Retained], Reply]:
        client, error = self._known(msg, cookies)
        if client is None:
            return [], error
        kind = msg.get("connectionType")
        if kind is not None and kind != LONG_POLLING:
            return [], _reply(msg, False, error=INVALID_CONNECTION_TYPE)
        client.connects += 1
        client.polls += 1
        self._release(client)  # an older held connect of this client answers now
        hold = 0.0
        if client.connects > 1:
            hold = self.config.timeout_ms / 1000
            asked = (
                msg.get("advice", {}).get("timeout")
                if isinstance(msg.get("advice"), dict)
                else None
            )
            if isinstance(asked, int | float) and not isinstance(asked, bool) and asked >= 0:
                hold = min(hold, asked / 1000)
        events = await self._poll(client, hold, token)
        if client.gone == "dropped":
            return [], _unknown(msg)
        if not self._valid(token):
            self._forget(client)
            reply = _reply(msg, False, error=AUTH_INVALID)
            reply["advice"] = {"reconnect": "none"}
            return [], reply
        reply = _reply(msg, True, clientId=client.client_id)
        if client.gone == "disconnected":
            reply["advice"] = {"reconnect": "none"}
            return [], reply
        advice = self._advice()
        if advice != client.last_advice:
            reply["advice"] = client.last_advice = advice
        client.deadline = self._state.clock() + self.config.max_interval_ms / 1000
        return events, reply

    def _subscribe(self, msg: Reply, cookies: dict[str, str]) -> Reply:
        client, error = self._known(msg, cookies)
        if client is None:
            return error
        channel = msg.get("subscription")
        reply = _reply(msg, False, clientId=client.client_id, subscription=channel)
        if not isinstance(channel, str):
            return reply | {"error": BAD_MESSAGE}
        if self.config.events_limit_exceeded:
            return reply | {"error": EVENTS_LIMIT}
        if not self._bus.exists(channel):
            return reply | {"error": NO_CHANNEL.format(channel)}
        ext = msg.get("ext")
        replay_map = ext.get("replay") if isinstance(ext, dict) else None
        replay: Any = -1  # the default: new events only
        if replay_map is not None:
            if not isinstance(replay_map, dict) or channel not in replay_map:
                return reply | {"error": REPLAY_NOT_IN_MAP.format(channel, _java_map(replay_map))}
            replay = replay_map[channel]
        cursor = None
        if isinstance(replay, int) and not isinstance(replay, bool):
            cursor = self._bus.replay_start(channel, replay)
        if cursor is None:
            shown = replay if isinstance(replay, int | str) else json.dumps(replay)
            return reply | {"error": INVALID_REPLAY.format(shown)}
        with self._lock:
            client.subscriptions[channel] = cursor
            self._subscribers.setdefault(channel, set()).add(client.client_id)
        self._wake(client)  # a held connect delivers a -2/N replay at once
        return reply | {"successful": True}

    def _unsubscribe(self, msg: Reply, cookies: dict[str, str]) -> Reply:
        client, error = self._known(msg, cookies)
        if client is None:
            return error
        channel = msg.get("subscription")
        if isinstance(channel, str):
            with self._lock:
                client.subscriptions.pop(channel, None)
                self._subscribers.get(channel, set()).discard(client.client_id)
        return _reply(msg, True, clientId=client.client_id, subscription=channel)

    def _disconnect(self, msg: Reply, cookies: dict[str, str]) -> Reply:
        client, error = self._known(msg, cookies)
        if client is None:
            return error
        self._forget(client, "disconnected")
        return _reply(msg, True, clientId=client.client_id)

    # -- clients ---------------------------------------------------------------------------

    def _known(self, msg: Reply, cookies: dict[str, str]) -> tuple[Client | None, Reply]:
        """The live client a message names, or the error reply to send instead."""
        client_id = msg.get("clientId")
        now = self._state.clock()
        with self._lock:
            client = self._clients.get(client_id) if isinstance(client_id, str) else None
            if client is not None and self._expired(client, now):
                self._drop_locked(client, "dropped")
                client = None
        if client is None:
            return None, _unknown(msg)
        if self.config.require_cookie and COOKIE not in cookies:
            reply = _reply(msg, False, error=NO_COOKIE.format(client.client_id))
            reply["advice"] = {"reconnect": "none"}
            return None, reply
        return client, {}

    def _expired(self, client: Client, now: float) -> bool:
        return client.waiter is None and now > client.deadline

    def _sweep(self, now: float) -> None:
        for client in [c for c in self._clients.values() if self._expired(c, now)]:
            self._drop_locked(client, "dropped")

    def _drop_locked(self, client: Client, why: str) -> None:
        client.gone = why
        self._clients.pop(client.client_id, None)
        for channel in list(client.subscriptions):
            self._subscribers.get(channel, set()).discard(client.client_id)

    def _forget(self, client: Client, why: str = "dropped") -> None:
        with self._lock:
            self._drop_locked(client, why)
        self._wake(client)

    def drop_all(self) -> int:
        """Forget every client (Salesforce's periodic reset, an instance move): each one's
        next message, and any connect it holds, answers `403::Unknown client`."""
        with self._lock:
            clients = list(self._clients.values())
            for client in clients:
                self._drop_locked(client, "dropped")
        for client in clients:
            self._wake(client)
        return len(clients)

    def stats(self) -> dict[str, Any]:
        now = self._state.clock()
        with self._lock:
            self._sweep(now)
            clients = [
                {
                    "clientId": c.client_id,
                    "subscriptions": sorted(c.subscriptions),
                    "connected": c.waiter is not None,
                }
                for c in self._clients.values()
            ]
        return {"clients": clients, "clientCount": len(clients)}

    def _advice(self) -> dict[str, Any]:
        cfg = self.config
        return {"reconnect": "retry", "interval": cfg.interval_ms, "timeout": cfg.timeout_ms}

    # -- long polling ----------------------------------------------------------------------

    def _valid(self, token: str) -> bool:
        try:
            self._state.session_for_token(token)
        except SfError:
            return False
        return True

    async def _poll(self, client: Client, hold: float, token: str) -> list[Retained]:
        """Events for `client` now, or when they arrive within `hold` seconds. The token is
        re-checked every `session_check_ms` meanwhile, as Salesforce does: a revoked session
        ends the hold (and the connect answers 401)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hold
        mine = client.polls
        while True:
            if client.gone is not None or client.polls != mine:
                return []
            events = self._collect(client)
            remaining = deadline - loop.time()
            if events or remaining <= 0:
                return events
            if not self._valid(token):
                return []
            waiter: asyncio.Future[None] = loop.create_future()
            client.waiter = waiter
            check = max(0.001, self.config.session_check_ms / 1000)
            try:
                await asyncio.wait_for(waiter, min(remaining, check))
            except TimeoutError:
                pass
            finally:
                if client.waiter is waiter:
                    client.waiter = None

    def _collect(self, client: Client) -> list[Retained]:
        """Up to the per-reply limit, merged across subscriptions in publication order; the
        cursors advance past what is returned."""
        limit = max(1, self.config.max_events_per_reply)
        batches = [
            batch
            for channel, cursor in list(client.subscriptions.items())
            if (batch := self._bus.read(channel, cursor, limit))
        ]
        if not batches:
            return []
        merged = heapq.merge(*batches, key=lambda e: e.seq) if len(batches) > 1 else batches[0]
        events = list(itertools.islice(merged, limit))
        for event in events:
            if event.channel in client.subscriptions:
                client.subscriptions[event.channel] = event.replay_id
        return events

    def notify(self, channels: Sequence[str]) -> None:
        """`EventBus.on_publish`, from any thread: wake the held connects of subscribers."""
        if self._on_loop():
            self._wake_channels(channels)
            return
        with self._lock:
            self._pending.update(channels)
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        self._call_soon(self._flush)

    def _flush(self) -> None:
        with self._lock:
            channels = list(self._pending)
            self._pending.clear()
            self._flush_scheduled = False
        self._wake_channels(channels)

    def _wake_channels(self, channels: Sequence[str]) -> None:
        with self._lock:
            ids = set().union(*(self._subscribers.get(c, ()) for c in channels))
            clients = [self._clients[i] for i in ids if i in self._clients]
        for client in clients:
            _resolve(client)

    def _release(self, client: Client) -> None:
        _resolve(client)

    def _wake(self, client: Client) -> None:
        if self._on_loop():
            _resolve(client)
        else:
            self._call_soon(_resolve, client)

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._state.extensions.get("loop")
        return loop if isinstance(loop, asyncio.AbstractEventLoop) else None

    def _on_loop(self) -> bool:
        loop = self._loop()
        if loop is None:
            return True  # no server running: nothing can be waiting
        try:
            return asyncio.get_running_loop() is loop
        except RuntimeError:
            return False

    def _call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop()
        if loop is None:
            callback(*args)
        elif not loop.is_closed():
            # RuntimeError: the loop closed meanwhile, so nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

    def release_all(self) -> None:
        """Answer every held connect now (server shutdown must not wait out a long poll)."""
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.polls += 1
            self._wake(client)


def _resolve(client: Client) -> None:
    waiter = client.waiter
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _reply(msg: Reply, successful: bool, **extra: Any) -> Reply:
    reply: Reply = {"channel": msg.get("channel")}
    if "id" in msg:
        reply["id"] = msg["id"]
    reply |= extra
    reply["successful"] = successful
    return reply


def _unknown(msg: Reply) -> Reply:
    reply = _reply(msg, False, error=UNKNOWN_CLIENT)
    reply["advice"] = {"reconnect": "handshake", "interval": 0}
    return reply


def _bearer(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer|OAuth <token>`; None when absent."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not value.strip():
        return ""
    return value.strip()


def _cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {k: m.value for k, m in jar.items()}


def _response(
    status: int, parts: Sequence[bytes], headers: Sequence[tuple[str, str]] = ()
) -> Response:
    body = b"[" + b",".join(parts) + b"]"
    return Response(status=status, body=body, headers=[_JSON, *headers])


def no_version_response() -> Response:
    """`/cometd` without `NN.0`: Salesforce refuses, the version is mandatory."""
    reply = {"successful": False, "error": NO_VERSION, "advice": {"reconnect": "none"}}
    return _response(400, [_dumps(reply)])
