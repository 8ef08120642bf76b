"""One CometD (Bayeux long-polling) client and the loop that keeps it subscribed.

`CometDSession.run()` handshakes, subscribes every channel from the position the listener
gives it, then long-polls `/meta/connect` and hands each batch of data messages to
`deliver`. Every failure is classified by `cometd.py` and acted on through the `policy.py`
tables; the session never decides from an error string itself.

What must stay true:
- One HTTP request at a time, each a JSON array with one message, all through the one send
  loop (`core/_async/send.py`, one send per call: re-sends follow Bayeux advice) on one
  `httpx.AsyncClient`, built with `build_request` so its cookie jar (`BAYEUX_BROWSER`,
  `sfdc-stream`) goes out with every request after the handshake set it.
- The read timeout of a connect exceeds the server's advice timeout (110 s by default).
- After any handshake, every channel is subscribed again from `replay_from(channel)`,
  which is the last checkpoint: nothing delivered is skipped, something may repeat.
- A 401 forces a token refresh through the auth flow's public `arefresh` (single-flight
  across tasks and, through the TokenStore lock, across processes); a 403 never does.
- When the auth flow replaces the token the session handshook with (it refreshes a margin
  before expiry), the session re-handshakes before the old token dies.
- `invalid_grant` ends the run with that error (the auth flow cleared the stored token); a
  refused rotated-token write is reported and retried, and so cannot outlive a lost family.
- Every wait goes through the injected clock, so cancelling the task ends it at once.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.token import TokenData
from salesforce_typed.core._async.send import AsyncSender
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.errors import (
    AuthenticationError,
    InvalidGrantError,
    OutcomeUnknownError,
    RequestNotSentError,
    TokenStoreError,
)
from salesforce_typed.core.exchange import Exchange, bearer, never
from salesforce_typed.core.retry import RetryPolicy
from salesforce_typed.streaming import cometd
from salesforce_typed.streaming.cometd import Advice, BayeuxError, ErrorKind, Message
from salesforce_typed.streaming.errors import (
    ConnectionLostError,
    ReplayIdInvalidError,
    StreamingStoppedError,
)
from salesforce_typed.streaming.policy import Action, Backoff, ReplayFallback, action_for

__all__ = ["CometDSession"]

logger = logging.getLogger("salesforce_typed.streaming")

Deliver = Callable[[list[Message]], Awaitable[None]]
Report = Callable[[Exception], Awaitable[None]]

# A refresh that does not make Salesforce take the token is not worth repeating forever.
MAX_AUTH_FAILURES = 3


class _StepFailedError(Exception):
    """A classified failure inside the loop (never escapes `run`)."""

    def __init__(self, error: BayeuxError) -> None:
        self.error = error
        super().__init__(error.describe())


class CometDSession:
    """A Bayeux client for `{instance_url}/cometd/{api_version}`; see the module docstring.

    `replay_from(channel)` gives the replay id to subscribe from (checkpoint or initial);
    `reset_replay(channel, value)` records a fallback Salesforce forced on us; `deliver`
    handles one batch of data messages (its exceptions end the run); `report` receives the
    errors the user must hear about (`on_error`).
    """

    def __init__(
        self,
        *,
        sender: AsyncSender,
        instance_url: str,
        api_version: str,
        channels: Sequence[str],
        replay_from: Callable[[str], int],
        reset_replay: Callable[[str, int], None],
        deliver: Deliver,
        report: Report,
        stop_requested: Callable[[], bool] = lambda: False,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        replay_fallback: ReplayFallback = ReplayFallback.EARLIEST,
        request_timeout_s: float = 30.0,
        read_margin_s: float = 30.0,
    ) -> None:
        self.sender = sender
        self.url = instance_url.rstrip("/") + cometd.cometd_path(api_version)
        self.channels = list(dict.fromkeys(channels))
        self.replay_from = replay_from
        self.reset_replay = reset_replay
        self.deliver = deliver
        self.report = report
        self.stop_requested = stop_requested
        self.clock: Clock = clock or SystemClock()
        self.backoff = backoff or Backoff()
        self.replay_fallback = replay_fallback
        self.request_timeout_s = request_timeout_s
        self.read_margin_s = read_margin_s
        self.client_id: str | None = None
        self.advice = Advice()
        self.handshakes = 0  # counters for tests and the bench: how the run went
        self.reauthentications = 0
        self._ids = itertools.count(1)
        self._pending: list[str] = []
        self._token: TokenData | None = None  # the token the current client id was made with
        self._rejected: str | None = None  # a token CometD refused, to replace before going on

    def __repr__(self) -> str:
        return f"CometDSession(url={self.url!r}, channels={self.channels!r})"

    @property
    def subscribed(self) -> bool:
        """Handshaken and every channel subscribed (events from here on are delivered)."""
        return self.client_id is not None and not self._pending

    # --- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Stay subscribed until cancelled, `stop_requested()` or a terminal failure (raised)."""
        failures = 0
        auth_failures = 0
        while not self.stop_requested():
            try:
                if self._rejected is not None:
                    await self._refresh_token(self._rejected)
                    self._rejected = None
                if self.client_id is None:
                    await self._handshake()
                    self._pending = list(self.channels)
                while self._pending:
                    await self._subscribe(self._pending[0])
                    self._pending.pop(0)
                if await self._token_replaced():
                    logger.info("access token was refreshed: re-handshaking (token_refreshed)")
                    await self._drop_client()
                    continue
                await self._connect()
                failures = auth_failures = 0
                if self.advice.reconnect == "none":
                    raise StreamingStoppedError("the server advised reconnect=none after connect")
                if self.advice.reconnect == "handshake":
                    logger.info("server advised a re-handshake (advice_handshake)")
                    self.client_id = None
                    # Advice persists until replaced; a server that sends it only when it
                    # changes must not make every later connect re-handshake too.
                    self.advice = attrs.evolve(self.advice, reconnect="retry")
                if self.advice.interval_ms:
                    await self.clock.asleep(self.advice.interval_ms / 1000)
            except _StepFailedError as failed:
                failures += 1
                error = failed.error
                action = action_for(error.kind)
                if action is Action.REAUTHENTICATE:
                    auth_failures += 1
                    if auth_failures > MAX_AUTH_FAILURES:
                        action = Action.STOP
                elif error.reconnect_advice == "none":
                    # "none" means stop, except for a dead token: Salesforce documents
                    # re-authenticating and handshaking again after 401::Authentication invalid.
                    action = Action.STOP
                logger.log(
                    logging.ERROR if action is Action.STOP else logging.WARNING,
                    "%s -> %s (%s)",
                    error.describe(),
                    action.value,
                    error.kind.value,
                )
                await self._act(action, error, failures)

    async def _act(self, action: Action, error: BayeuxError, failures: int) -> None:
        if action is Action.STOP:
            raise StreamingStoppedError(f"stopped: {error.describe()}", error=error)
        if action is Action.RETRY:
            await self.report(ConnectionLostError(error.describe(), error=error))
            if error.channel == cometd.CONNECT:
                # A connect whose answer was lost may have carried events the server now
                # counts as delivered: only a re-subscription from the checkpoint gets them.
                await self._drop_client()
            await self.clock.asleep(self.backoff.delay(failures))
        elif action is Action.BACKOFF_REHANDSHAKE:
            await self.report(ConnectionLostError(error.describe(), error=error))
            self.client_id = None
            await self.clock.asleep(self.backoff.delay(failures, capacity=True))
        elif action is Action.REAUTHENTICATE:
            self.client_id = None
            self.reauthentications += 1
            # Refreshed at the top of the loop, so that a failing refresh is classified too.
            self._rejected = self._token.access_token if self._token is not None else ""
            if failures > 1:
                await self.clock.asleep(self.backoff.delay(failures - 1))
        else:  # REHANDSHAKE (REPLAY_FALLBACK is handled where the subscribe failed)
            self.client_id = None
            # The first re-handshake follows the advice (interval 0); repeats back off.
            delay = self.backoff.delay(failures - 1) if failures > 1 else 0.0
            advised = Advice(interval_ms=0).merged(error.advice).interval_ms / 1000
            await self.clock.asleep(max(delay, advised))

    # --- one step each ------------------------------------------------------------------------

    async def _handshake(self) -> None:
        self.client_id = None
        if isinstance(self.auth, SalesforceAuth):
            self._token = await self._guard(self.auth.aget_token(self.sender.http))
        reply = await self._exchange(cometd.build_handshake(self._next_id()), cometd.HANDSHAKE)
        client_id = reply.get("clientId")
        if not isinstance(client_id, str) or not client_id:
            raise _StepFailedError(
                BayeuxError(
                    kind=ErrorKind.SERVER_ERROR,
                    channel=cometd.HANDSHAKE,
                    text="handshake answered without a clientId",
                )
            )
        self.client_id = client_id
        self.handshakes += 1
        logger.info("handshake ok (%d channel(s) to subscribe)", len(self.channels))

    async def _subscribe(self, channel: str) -> None:
        assert self.client_id is not None
        replay_id = self.replay_from(channel)
        message = cometd.build_subscribe(self.client_id, channel, replay_id, self._next_id())
        try:
            await self._exchange(message, cometd.SUBSCRIBE)
        except _StepFailedError as failed:
            if failed.error.kind is not ErrorKind.INVALID_REPLAY_ID:
                raise
            await self._fall_back(channel, replay_id, failed.error)
            return
        logger.info("subscribed %s from replay id %d", channel, replay_id)

    async def _fall_back(self, channel: str, replay_id: int, error: BayeuxError) -> None:
        """The replay id is gone: take the configured fallback, and always say so."""
        fallback = self.replay_fallback
        shown: int | str = "stop" if fallback is ReplayFallback.STOP else int(fallback.value)
        report = ReplayIdInvalidError(channel, replay_id, shown, error=error)
        logger.error("%s (invalid_replay_id)", report)
        await self.report(report)
        if fallback is ReplayFallback.STOP or replay_id == shown:
            # Refusing -1/-2 themselves would loop forever: that is a server fault, stop.
            raise StreamingStoppedError(str(report), error=error)
        assert isinstance(shown, int)
        self.reset_replay(channel, shown)
        await self._subscribe(channel)

    async def _connect(self) -> None:
        assert self.client_id is not None
        message = cometd.build_connect(self.client_id, self._next_id())
        # Read timeout beyond the server's hold, or every idle poll would end in a timeout.
        read = self.advice.timeout_ms / 1000 + self.read_margin_s
        await self._exchange(message, cometd.CONNECT, read_timeout=read)

    async def _exchange(
        self, message: list[Message], channel: str, *, read_timeout: float | None = None
    ) -> Message:
        """POST, deliver whatever events rode along, then judge the meta reply."""
        read = self.request_timeout_s if read_timeout is None else read_timeout
        reply, events = await self._post(message, channel, read_timeout=read)
        if events:
            await self.deliver(events)
        error = cometd.classify_reply(reply)
        if error is not None:
            raise _StepFailedError(error)  # its advice is read from the error, never kept
        self.advice = self.advice.merged(reply.get("advice"))
        return reply

    async def _post(
        self, message: list[Message], channel: str, *, read_timeout: float
    ) -> tuple[Message, list[Message]]:
        """POST one message; (its meta reply, any data messages riding along)."""
        timeout = httpx.Timeout(
            connect=self.request_timeout_s,
            read=read_timeout,
            write=self.request_timeout_s,
            pool=self.request_timeout_s,
        )
        exchange = Exchange(
            method="POST",
            path=httpx.URL(self.url).path,
            build=lambda _, session: bearer(
                self.sender.http.build_request("POST", self.url, json=message, timeout=timeout),
                session,
            ),
            accept=_any_answer,  # Bayeux failures are read from the body by cometd.py
            rejected=never,  # a dead token is `401::`, acted on by the policy tables
        )
        response = await self._guard(self.sender.send(exchange, retry=_ONE_SEND), channel)
        try:
            body: Any = response.json()
        except (ValueError, UnicodeDecodeError):
            body = response.text
        failure = cometd.classify_status(response.status_code, body, channel)
        if failure is not None:
            raise _StepFailedError(failure)
        meta, events = cometd.split_reply(body)
        reply = next((m for m in meta if m.get("channel") == channel), None)
        if reply is None:
            raise _StepFailedError(
                BayeuxError(
                    kind=ErrorKind.SERVER_ERROR,
                    channel=channel,
                    code=response.status_code,
                    text=f"no {channel} reply in the answer ({_shape(body)})",
                )
            )
        return reply, events

    @property
    def auth(self) -> httpx.Auth:
        return self.sender.connection.auth

    async def _guard(self, call: Awaitable[Any], channel: str = "token") -> Any:
        """Failures of a send or of the auth flow, sorted: `invalid_grant` ends the run; a
        request that failed in transport (the CometD call on `channel`, or a token call the
        flow made first), or a token store that failed, is backed off and retried.

        A `TokenStoreError` after a rotation means the flow discarded the new token (nobody
        may run on a refresh token nobody stored). Retrying is safe: if the family is lost,
        the next refresh answers `invalid_grant`, which is terminal; if the store only
        blinked, the stored token is adopted or refreshed again."""
        try:
            return await call
        except InvalidGrantError:
            logger.error("invalid_grant: stopping; re-authorize (the stored token was cleared)")
            raise
        except TokenStoreError as exc:
            raise _StepFailedError(
                BayeuxError(kind=ErrorKind.TRANSPORT, channel="token store", text=str(exc)[:200])
            ) from None
        except (RequestNotSentError, OutcomeUnknownError) as exc:
            token_call = _failed_token_call(exc)
            raise _StepFailedError(
                BayeuxError(
                    kind=ErrorKind.TRANSPORT,
                    channel="token" if token_call else channel,
                    text=str(exc)[:200] if token_call else _cause(exc),
                )
            ) from None
        except AuthenticationError as exc:  # a raw access token that died: nothing to refresh
            raise StreamingStoppedError(f"authentication failed: {exc}") from None

    # --- tokens -------------------------------------------------------------------------------

    async def _token_replaced(self) -> bool:
        """True when the auth flow now holds another token than the handshake used."""
        if not isinstance(self.auth, SalesforceAuth) or self._token is None:
            return False
        current: TokenData = await self._guard(self.auth.aget_token(self.sender.http))
        return current.access_token != self._token.access_token

    async def _refresh_token(self, rejected: str) -> None:
        if not isinstance(self.auth, SalesforceAuth):
            raise StreamingStoppedError("CometD rejected the token and the auth cannot refresh")
        await self._guard(self.sender.refresh(rejected or None))

    async def _drop_client(self) -> None:
        await self.disconnect()
        self.client_id = None

    # --- shutdown -----------------------------------------------------------------------------

    async def disconnect(self) -> None:
        """Best effort `/meta/disconnect` so Salesforce frees the client slot now, not in 40 s."""
        client_id, self.client_id = self.client_id, None
        if client_id is None:
            return
        try:
            await self._post(
                cometd.build_disconnect(client_id, self._next_id()),
                cometd.DISCONNECT,
                read_timeout=min(self.request_timeout_s, 5.0),
            )
        except Exception as exc:  # best effort: the server forgets the client in 40 s anyway
            logger.info("disconnect not acknowledged (%s)", type(exc).__name__)

    def _next_id(self) -> str:
        return str(next(self._ids))


_ONE_SEND = RetryPolicy(max_attempts=1)  # re-sends follow Bayeux advice and policy.py's tables


def _any_answer(_: httpx.Response) -> bool:
    return True


def _failed_token_call(exc: Exception) -> bool:
    """Whether a transport failure was the auth flow's token call, not the CometD request."""
    cause = exc.__cause__
    if not isinstance(cause, httpx.TransportError):
        return False
    try:
        return cause.request.url.path.endswith("/oauth2/token")
    except RuntimeError:  # httpx raises when no request is attached
        return False


def _cause(exc: Exception) -> str:
    """The transport failure's class name (from the mapped error's cause), never a URL."""
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def _shape(body: Any) -> str:
    if isinstance(body, str):
        return f"text of {len(body)} chars"
    return json.dumps(body)[:200] if isinstance(body, list | dict) else type(body).__name__
