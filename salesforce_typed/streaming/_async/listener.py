"""`AsyncListener`: typed handlers per channel on top of one CometD or Pub/Sub session.

    listener = AsyncListener(auth=RefreshTokenGrant(...))     # api="pubsub": the gRPC API
    accounts = listener.channel("/data/AccountChangeEvent", replay=EARLIEST)

    @accounts.on_update
    async def changed(event: ChangeDataEvent) -> None:
        print(event.record_ids, event.record.Rating)

    await listener.run()            # until close(), stop() or a terminal error

Dispatch: a CDC event goes to `on_create`/`on_update`/`on_delete`/`on_undelete`, `GAP_*` to
`on_gap`, `GAP_OVERFLOW` to `on_overflow` (else `on_gap`); anything without a more specific
handler, platform events included, goes to `on_message`. Handlers may be plain functions or
coroutine functions. Plain functions run on the event loop: keep them short, or pass
`sync_handlers_in_thread=True`.

`api="cometd"` (the default) long-polls the Streaming API (`CometDSession`); `api="pubsub"`
subscribes over the gRPC Pub/Sub API (`pubsub/_async/session.py`, at `pubsub_target`). Both
feed the same dispatch, dedupe window and checkpoints. Pub/Sub replay ids are opaque bytes:
they are checkpointed as bytes under `pubsub:<channel>`, so a CometD checkpoint (an int under
`<channel>`) is never fed to Pub/Sub nor the other way round.

What must stay true:
- At-least-once: an event's replay id becomes the channel's position only after its handler
  returned, and the checkpoint store is written after each delivered batch; a restart or a
  re-handshake resumes from there. A handler that keeps failing stops the listener before
  its event is checkpointed (`HandlerError`): nothing is skipped silently.
- A channel started at the tip (-1, no checkpoint) loses nothing published after `run()`
  began: re-subscribed before its first event, it replays from -2 and drops what predates
  the start (`tip.py`).
- Duplicates (the same `(channel, replayId)`, e.g. replayed after a re-handshake) reach no
  handler; a bounded window per channel remembers recent ids.
- Every error the user must know about reaches `on_error` and the log; `run()` raises the
  terminal one. `close()` cancels at once; `stop()` ends after the current event.
- With a `LeaderElection`, only the leader opens a session, and a refused checkpoint write
  (fenced by epoch) stops consuming at once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar, Unpack

import attrs
import httpx

from salesforce_typed.core._async.send import AsyncSender
from salesforce_typed.core.base_client import DEFAULT_API_VERSION
from salesforce_typed.core.change_events import ChangeType
from salesforce_typed.core.clock import Clock, SystemClock
from salesforce_typed.core.connection import Connection
from salesforce_typed.core.errors import (
    RequestNotSentError,
    StreamingStoppedError,
    TokenStoreError,
    UsageError,
)
from salesforce_typed.core.retry import DEFAULT_TIMEOUT
from salesforce_typed.core.transport import http_options, ssl_context
from salesforce_typed.streaming._async.session import CometDSession
from salesforce_typed.streaming.cometd import Message
from salesforce_typed.streaming.errors import (
    ConnectionLostError,
    HandlerError,
    LeadershipLostError,
)
from salesforce_typed.streaming.events import (
    DEFAULT_PACKAGE,
    ChangeDataEvent,
    EventDecoder,
    StreamEvent,
    replay_id_of,
)
from salesforce_typed.streaming.leader import (
    CheckpointStore,
    MemoryCheckpoints,
    ReplayPosition,
    cometd_replay_id,
)
from salesforce_typed.streaming.options import (
    ErrorHandler,
    ListenerAuth,
    ListenerOptions,
    Verify,
    check_options,
)
from salesforce_typed.streaming.policy import TIP, Backoff, ReplayFallback
from salesforce_typed.streaming.tip import TipStart

if TYPE_CHECKING:
    from salesforce_typed.auth.token import TokenStore
    from salesforce_typed.pubsub._async.client import PubSubMessage
    from salesforce_typed.pubsub._async.session import PubSubSession
    from salesforce_typed.rest._async.client import AsyncSalesforce
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = [
    "HANDLER_NAMES",
    "AsyncListener",
    "ChannelService",
    "ErrorHandler",
    "Handler",
    "MessageHandler",
]

logger = logging.getLogger("salesforce_typed.streaming")

Handler = Callable[[ChangeDataEvent], Awaitable[None] | None]
MessageHandler = Callable[[Any], Awaitable[None] | None]  # receives a StreamEvent subclass
C = TypeVar("C", bound=Handler)
M = TypeVar("M", bound=MessageHandler)
T = TypeVar("T")
APIS: Final = ("cometd", "pubsub")
PUBSUB_PREFIX: Final = "pubsub:"  # checkpoint key prefix of a channel consumed over Pub/Sub

_BY_CHANGE_TYPE = {
    ChangeType.CREATE: "on_create",
    ChangeType.UPDATE: "on_update",
    ChangeType.DELETE: "on_delete",
    ChangeType.UNDELETE: "on_undelete",
    ChangeType.GAP_CREATE: "on_gap",
    ChangeType.GAP_UPDATE: "on_gap",
    ChangeType.GAP_DELETE: "on_gap",
    ChangeType.GAP_UNDELETE: "on_gap",
    ChangeType.GAP_OVERFLOW: "on_overflow",
}


class _StopRequestedError(Exception):
    """stop() was called: end the run after the current event, checkpoint written."""


class ChannelService:
    """The handlers of one channel and where it starts when no checkpoint exists.

    `replay` is -1 (new events only; Pub/Sub's LATEST), -2 (everything retained; EARLIEST)
    or a replay id to resume after (an int for CometD, the bytes for Pub/Sub); a stored
    checkpoint always wins over it. Each `on_*` method sets a handler and returns it, so it
    works as a decorator.
    """

    def __init__(self, channel: str, *, replay: ReplayPosition = TIP) -> None:
        if not channel.startswith("/") or channel.startswith("/meta/"):
            raise UsageError(f"not a subscribable channel: {channel!r}")
        self.channel = channel
        self.replay = _position(replay)
        self.handlers: dict[str, Callable[..., Any]] = {}

    def __repr__(self) -> str:
        handlers = sorted(self.handlers)
        return f"ChannelService({self.channel!r}, replay={self.replay!r}, handlers={handlers})"

    def set_handler(self, name: str, fn: Callable[..., Any] | None) -> None:
        if name not in HANDLER_NAMES:
            raise TypeError(f"unknown handler {name!r}; expected one of {HANDLER_NAMES}")
        if fn is None:
            self.handlers.pop(name, None)
        else:
            self.handlers[name] = fn

    def on_create(self, fn: C) -> C:
        self.handlers["on_create"] = fn
        return fn

    def on_update(self, fn: C) -> C:
        self.handlers["on_update"] = fn
        return fn

    def on_delete(self, fn: C) -> C:
        self.handlers["on_delete"] = fn
        return fn

    def on_undelete(self, fn: C) -> C:
        self.handlers["on_undelete"] = fn
        return fn

    def on_gap(self, fn: C) -> C:
        """GAP_CREATE/UPDATE/DELETE/UNDELETE (and GAP_OVERFLOW without `on_overflow`):
        header only, re-read the records."""
        self.handlers["on_gap"] = fn
        return fn

    def on_overflow(self, fn: C) -> C:
        """GAP_OVERFLOW: over 100,000 changes in one transaction, no ids: resync the entity."""
        self.handlers["on_overflow"] = fn
        return fn

    def on_message(self, fn: M) -> M:
        """Platform events, PushTopic, generic events, and CDC without a specific handler."""
        self.handlers["on_message"] = fn
        return fn

    def handler_for(self, event: StreamEvent) -> Callable[..., Any] | None:
        if isinstance(event, ChangeDataEvent):
            change = event.header.changeType
            name = _BY_CHANGE_TYPE.get(change) if isinstance(change, ChangeType) else None
            chosen = self.handlers.get(name) if name else None
            if chosen is None and name == "on_overflow":
                chosen = self.handlers.get("on_gap")  # an overflow is a gap too
            if chosen is not None:
                return chosen
        return self.handlers.get("on_message")


HANDLER_NAMES = (
    "on_create",
    "on_update",
    "on_delete",
    "on_undelete",
    "on_gap",
    "on_overflow",
    "on_message",
)


@attrs.define(slots=True)
class _Window:
    """Recently handled replay ids of one channel (dedupe), oldest dropped first."""

    size: int
    ids: OrderedDict[ReplayPosition, None] = attrs.field(factory=OrderedDict)

    def seen(self, replay_id: ReplayPosition) -> bool:
        return replay_id in self.ids

    def add(self, replay_id: ReplayPosition) -> None:
        self.ids[replay_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)


class AsyncListener:
    """Streaming API consumer: channels, typed handlers, checkpoints, optional leadership.

    `auth` is a grant (`RefreshTokenGrant`, `PasswordGrant`, ...) or a `SalesforceAuth`
    shared with REST clients (same token, same single-flight refresh); `token_store` is
    the shared `TokenStore` replicas must use under Refresh Token Rotation. `verify` is
    the TLS setting of the pool the listener opens, unless `http_client` is given (that pool
    stays the caller's and must belong to the loop `run()` is awaited on); over Pub/Sub
    (`api="pubsub"`) its CAs are the gRPC channel's too. The other settings are
    `ListenerOptions`. From a client, prefer `sf.listener(...)`.
    """

    def __init__(
        self,
        *,
        auth: ListenerAuth,
        instance_url: str | None = None,
        token_store: TokenStore | None = None,
        verify: Verify = True,
        http_client: httpx.AsyncClient | None = None,
        **options: Unpack[ListenerOptions],
    ) -> None:
        check_options(options)
        self.api = options.get("api", "cometd")
        if self.api not in APIS:
            raise UsageError(f"api must be one of {APIS}, not {self.api!r}")
        self.pubsub_target = options.get("pubsub_target") or _default_target(self.api)
        self.handler_attempts = options.get("handler_attempts", 3)
        if self.handler_attempts < 1:
            raise UsageError("handler_attempts must be at least 1")
        self.clock: Clock = options.get("clock") or SystemClock()
        self.connection = Connection.create(
            auth, instance_url=instance_url, token_store=token_store, clock=self.clock
        )
        self.api_version = options.get("api_version", DEFAULT_API_VERSION).removeprefix("v")
        self.package = options.get("package", DEFAULT_PACKAGE)
        self.decoder = EventDecoder(self.package, strict=options.get("strict_decoding", False))
        self.checkpoints: CheckpointStore = options.get("checkpoints") or MemoryCheckpoints()
        self.election = options.get("election")
        self.replay_fallback = options.get("replay_fallback", ReplayFallback.EARLIEST)
        self.on_error = options.get("on_error")
        self.backoff = options.get("backoff") or Backoff()
        self.dedupe_window = options.get("dedupe_window", 10_000)
        self.sync_handlers_in_thread = options.get("sync_handlers_in_thread", False)
        # Loaded now: a missing CA file is a RequestNotSentError here, not a retried
        # ConnectError in run().
        self.verify: ssl.SSLContext | bool = ssl_context(verify)
        self.services: dict[str, ChannelService] = {}
        self.delivered = 0  # events handed to a handler successfully (or with none set)
        self.duplicates = 0  # events dropped by dedupe
        self.predating = 0  # events replayed for a tip channel but older than its start
        self.session: CometDSession | PubSubSession | None = None
        self._http = http_client
        self._positions: dict[str, ReplayPosition] = {}
        self._windows: dict[str, _Window] = {}
        self._tip = TipStart()
        self._task: asyncio.Task[Any] | None = None
        self._consumer: asyncio.Task[Any] | None = None
        self._stopping = False
        self._reported: deque[Exception] = deque(maxlen=16)

    def __repr__(self) -> str:
        return (
            f"AsyncListener(channels={list(self.services)!r}, api={self.api!r}, "
            f"api_version={self.api_version!r})"
        )

    @property
    def subscribed(self) -> bool:
        """True while a session is up with every channel subscribed."""
        return self.session is not None and self.session.subscribed

    @classmethod
    def from_client(
        cls,
        client: AsyncSalesforce | Salesforce,
        *,
        verify: Verify | None = None,
        **options: Unpack[ListenerOptions],
    ) -> AsyncListener:
        """A listener on `client`'s connection; `sf.listener(...)` is the usual spelling.

        It shares the client's auth flow (same token, token store and refresh lock),
        instance URL, TLS setting (`verify=None`), and by default its API version, package
        and clock. An `AsyncSalesforce`'s pool is shared too, so run the listener on that
        client's loop; a sync client's pool cannot serve a loop, so one is opened with the
        same `verify`, as it is when another `verify` is given.
        """
        pool = client.http
        shared = pool if verify is None and isinstance(pool, httpx.AsyncClient) else None
        return cls._for_client(client, verify=verify, http_client=shared, **options)

    @classmethod
    def _for_client(
        cls,
        client: AsyncSalesforce | Salesforce,
        *,
        verify: Verify | None,
        http_client: httpx.AsyncClient | None,
        **options: Unpack[ListenerOptions],
    ) -> AsyncListener:
        """`from_client` with the pool chosen by the caller (None: open one); the blocking
        `Listener`, whose loop is its own, always opens one."""
        check_options(options)
        options.setdefault("api_version", client.api_version)
        options.setdefault("package", client.package)
        options.setdefault("clock", client.clock)
        connection = client.connection
        return cls(
            auth=connection.auth,
            instance_url=connection.instance_url,
            verify=client.sender.verify if verify is None else verify,
            http_client=http_client,
            **options,
        )

    # --- configuration ------------------------------------------------------------------------

    def channel(
        self, channel: str, *, replay: ReplayPosition = TIP, **handlers: Any
    ) -> ChannelService:
        """The service for `channel` (created on first use); handlers may be passed here."""
        if isinstance(replay, bytes) and self.api != "pubsub":
            raise UsageError("a bytes replay id is a Pub/Sub one: pass api='pubsub'")
        service = self.services.get(channel)
        if service is None:
            service = self.services[channel] = ChannelService(channel, replay=replay)
        else:
            service.replay = _position(replay)
        for name, fn in handlers.items():
            service.set_handler(name, fn)
        return service

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncListener:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def run(self) -> None:
        """Consume until `close()`/`stop()` (returns) or a terminal error (raised)."""
        if not self.services:
            raise UsageError("no channel to listen to: call listener.channel(...) first")
        self._task = asyncio.current_task()
        try:
            if self._stopping:
                return
            if self.election is not None:
                await self.election.run(self._consume, self._report)
            else:
                await self._consume(self.checkpoints)
        except _StopRequestedError:
            return
        except asyncio.CancelledError:
            if self._stopping:
                return
            raise
        except Exception as exc:
            await self._report(exc)
            raise
        finally:
            self._task = None
            self._stopping = False

    def stop(self) -> None:
        """End `run()` gracefully. From a handler or the listener's own tasks: after the
        current event (its checkpoint written) or before the next poll. From another task or
        a loop callback: at once, like `aclose()` (at-least-once holds: a batch in progress
        is delivered again next time). Not thread-safe: from another thread use the sync
        facade or `loop.call_soon_threadsafe(listener.stop)`."""
        self._stopping = True
        try:
            current = asyncio.current_task()
        except RuntimeError:  # a sync handler running in a worker thread
            return
        if current is not None and current in (self._task, self._consumer):
            return  # the session loop and _deliver check the flag
        task = self._task
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel `run()` at once (a pending long poll or backoff sleep ends immediately)."""
        self._stopping = True
        task = self._task
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # --- consuming ----------------------------------------------------------------------------

    async def _consume(self, checkpoints: CheckpointStore) -> None:
        """One session from the stored checkpoints until cancelled or terminal."""
        http = self._http or httpx.AsyncClient(
            **http_options(timeout=DEFAULT_TIMEOUT, verify=self.verify)
        )
        self._consumer = asyncio.current_task()
        try:
            instance_url = await self._instance_url(http)
            await self._load_positions(checkpoints)
            logger.info("starting from %s", self._positions)
            if self.api == "pubsub":
                self.session = self._pubsub_session(http, instance_url, checkpoints)
            else:
                self.session = CometDSession(
                    sender=AsyncSender(connection=self.connection, http=http, clock=self.clock),
                    instance_url=instance_url,
                    api_version=self.api_version,
                    channels=list(self.services),
                    replay_from=self._cometd_replay_from,
                    reset_replay=self._reset_replay,
                    deliver=lambda batch: self._deliver(batch, checkpoints),
                    report=self._report,
                    stop_requested=lambda: self._stopping,
                    clock=self.clock,
                    backoff=self.backoff,
                    replay_fallback=self.replay_fallback,
                )
            try:
                await self.session.run()
            finally:
                await _uncancelled(self.session.disconnect())
        finally:
            self.session = None
            self._consumer = None
            if self._http is None:
                await _uncancelled(http.aclose())

    async def _load_positions(self, checkpoints: CheckpointStore) -> None:
        """Each channel's position: its checkpoint, else where its service starts."""
        self._positions = {}
        for name, service in self.services.items():
            try:
                stored = await checkpoints.aread(self._checkpoint_key(name))
                if self.api == "cometd":
                    stored = cometd_replay_id(stored)
            except Exception as exc:  # a leader that cannot read where to resume yields
                raise LeadershipLostError(
                    f"checkpoint of {name} unreadable ({type(exc).__name__})"
                ) from exc
            self._positions[name] = service.replay if stored is None else stored
            if stored is None and service.replay == TIP:
                self._tip.start(name, self.clock.now())
            self._windows.setdefault(name, _Window(self.dedupe_window))

    def _pubsub_session(
        self, http: httpx.AsyncClient, instance_url: str, checkpoints: CheckpointStore
    ) -> PubSubSession:
        """A Pub/Sub session on a REST client that shares this listener's auth flow (token,
        store, refresh lock) and pool: the metadata and the tenant id come from it."""
        from salesforce_typed.pubsub._async.client import AsyncPubSub
        from salesforce_typed.pubsub._async.session import PubSubSession
        from salesforce_typed.rest._async.client import AsyncSalesforce

        sf = AsyncSalesforce(
            auth=self.connection.auth,
            instance_url=instance_url,
            api_version=self.api_version,
            package=self.package,
            verify=self.verify,
            clock=self.clock,
            http_client=http,
        )
        return PubSubSession(
            pubsub=AsyncPubSub(sf, target=self.pubsub_target, decoder=self.decoder),
            channels=list(self.services),
            replay_from=self._replay_from,
            reset_replay=self._reset_replay,
            deliver=lambda batch: self._deliver_pubsub(batch, checkpoints),
            report=self._report,
            stop_requested=lambda: self._stopping,
            clock=self.clock,
            backoff=self.backoff,
            replay_fallback=self.replay_fallback,
        )

    def _checkpoint_key(self, channel: str) -> str:
        return PUBSUB_PREFIX + channel if self.api == "pubsub" else channel

    def _replay_from(self, channel: str) -> ReplayPosition:
        position = self._positions[channel]
        if isinstance(position, bytes):
            return position
        return self._tip.replay_for(channel, position)

    def _cometd_replay_from(self, channel: str) -> int:
        position = self._replay_from(channel)
        if isinstance(position, bytes):  # channel() and _load_positions refuse these
            raise StreamingStoppedError(f"{channel}: a Pub/Sub replay id cannot resume CometD")
        return position

    def _reset_replay(self, channel: str, replay: int) -> None:
        """A fallback Salesforce forced; falling back to the tip starts a tip window too."""
        self._positions[channel] = replay
        if replay == TIP:
            self._tip.fell_back(channel, self.clock.now())

    async def _instance_url(self, http: httpx.AsyncClient) -> str:
        """The instance URL (from the first token); a token endpoint that is down is waited
        out with backoff, like any other transient failure."""
        attempt = 0
        while True:
            try:
                return await self.connection.aget_instance_url(http)
            except (RequestNotSentError, TokenStoreError, httpx.TransportError) as exc:
                attempt += 1
                logger.warning("no token yet (%s): retrying (transport)", type(exc).__name__)
                await self._report(ConnectionLostError(f"token endpoint unreachable: {exc}"))
                await self.clock.asleep(self.backoff.delay(attempt))

    async def _deliver(self, batch: list[Message], checkpoints: CheckpointStore) -> None:
        """A CometD batch: Bayeux messages, decoded only once they are to be handled."""
        await self._dispatch(batch, _cometd_parts, self.decoder.decode, checkpoints)

    async def _deliver_pubsub(
        self, batch: list[PubSubMessage], checkpoints: CheckpointStore
    ) -> None:
        """A Pub/Sub batch: events already typed, keyed by their replay id bytes."""
        await self._dispatch(batch, _pubsub_parts, _pubsub_event, checkpoints)

    async def _dispatch(
        self,
        batch: Sequence[T],
        parts: Callable[[T], tuple[str, Any, ReplayPosition | None]],
        decode: Callable[[T], StreamEvent],
        checkpoints: CheckpointStore,
    ) -> None:
        """Hand each event of `batch` to its handler, then checkpoint what was handled.

        `parts(item)` gives (channel, raw data, replay position) without decoding, so that
        events that predate a tip start, and duplicates, are never decoded."""
        dirty: dict[str, ReplayPosition] = {}
        cancelled = False
        try:
            for item in batch:
                name, data, position = parts(item)
                service = self.services.get(name)
                if service is None:
                    logger.warning("event on unknown channel %s dropped", name)
                    continue
                if isinstance(data, dict) and self._tip.predates(name, data):
                    self.predating += 1
                    if position is not None:  # resume after it, never replay it
                        self._positions[name] = dirty[name] = position
                    continue
                window = self._windows[name]
                if position is not None and window.seen(position):
                    self.duplicates += 1
                    continue
                await self._handle(service, decode(item))
                self.delivered += 1
                self._tip.delivered(name)
                if position is not None:
                    window.add(position)
                    self._positions[name] = dirty[name] = position
                if self._stopping:
                    raise _StopRequestedError
        except asyncio.CancelledError:
            cancelled = True  # closing or stepping down: write nothing more
            raise
        finally:
            if not cancelled:
                # What was handled is checkpointed even when a later event failed.
                await self._checkpoint(dirty, checkpoints)

    async def _checkpoint(
        self, dirty: dict[str, ReplayPosition], checkpoints: CheckpointStore
    ) -> None:
        for channel, replay_id in dirty.items():
            try:
                written = await checkpoints.awrite(self._checkpoint_key(channel), replay_id)
            except Exception as exc:  # the store is down: progress cannot be recorded
                raise LeadershipLostError(
                    f"checkpoint of {channel} not written ({type(exc).__name__}): stepping down"
                ) from exc
            if not written:
                raise LeadershipLostError(
                    f"checkpoint of {channel} refused (fenced out): another replica leads"
                )

    async def _handle(self, service: ChannelService, event: StreamEvent) -> None:
        handler = service.handler_for(event)
        if handler is None:
            logger.debug("no handler for %s %s", event.channel, event.replay_id)
            return
        for attempt in range(1, self.handler_attempts + 1):
            try:
                if self.sync_handlers_in_thread and not inspect.iscoroutinefunction(handler):
                    result = await asyncio.to_thread(handler, event)
                else:
                    result = handler(event)
                if inspect.isawaitable(result):
                    await result
                return
            except Exception as exc:
                logger.warning(
                    "handler %s failed on %s %s (attempt %d/%d): %s",
                    getattr(handler, "__name__", "handler"),
                    event.channel,
                    event.replay_id,
                    attempt,
                    self.handler_attempts,
                    type(exc).__name__,
                )
                await self._report(exc)
                if attempt == self.handler_attempts:
                    raise HandlerError(event.channel, event.replay_id, attempt) from exc
                await self.clock.asleep(self.backoff.delay(attempt))

    async def _report(self, error: Exception) -> None:
        # One error may pass several layers (session, election, run): report it once.
        if any(error is seen for seen in self._reported):
            return
        self._reported.append(error)
        if self.on_error is None:
            return
        try:
            result = self.on_error(error)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("on_error handler failed")


async def _uncancelled(call: Awaitable[Any]) -> None:
    """Cleanup that must run even while the task is being cancelled."""
    try:
        await asyncio.shield(call)
    except (asyncio.CancelledError, Exception) as exc:
        logger.debug("cleanup interrupted (%s)", type(exc).__name__)


def _position(replay: ReplayPosition) -> ReplayPosition:
    """A replay position as given: bytes kept (Pub/Sub), anything else an int (CometD)."""
    return replay if isinstance(replay, bytes) else int(replay)


def _default_target(api: str) -> str:
    if api != "pubsub":
        return ""
    from salesforce_typed.pubsub._async.client import DEFAULT_TARGET

    return DEFAULT_TARGET


def _cometd_parts(message: Message) -> tuple[str, Any, int | None]:
    data = message.get("data")
    position = replay_id_of(data) if isinstance(data, dict) else None
    return str(message.get("channel", "")), data, position


def _pubsub_parts(message: PubSubMessage) -> tuple[str, Any, bytes]:
    return message.topic, message.event.data, message.replay_id


def _pubsub_event(message: PubSubMessage) -> StreamEvent:
    return message.event
