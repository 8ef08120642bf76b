"""`Listener`: the blocking facade, running an `AsyncListener` on a loop thread of its own.

    with sf.listener() as listener:           # or Listener(auth=RefreshTokenGrant(...))
        listener.channel("/data/AccountChangeEvent", on_update=print)
        listener.run()                       # blocks; Ctrl-C or close() from a handler ends it

Long polling is orchestration, and orchestration is written once, async-first (STYLE §3.6):
rather than a second, generated copy of the session loop, the sync API drives the async one
on a private event loop. Handlers (plain functions are fine) run on that loop's thread.
`sf.listener(api="pubsub", pubsub_target=...)` runs the same handlers over the Pub/Sub API.

What must stay true:
- `close()` and `stop()` are thread-safe and return only when the loop thread has finished
  (bounded by `timeout`); the loop never outlives the facade.
- A terminal error raised by the listener is re-raised by `run()`/`wait()` in the caller's
  thread, after `on_error` has seen it.
- The loop thread never touches a pool of another loop: `from_client` opens one of its own,
  with the client's `verify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Unpack

from salesforce_typed.streaming._async.listener import AsyncListener, ChannelService
from salesforce_typed.streaming.leader import ReplayPosition
from salesforce_typed.streaming.options import ListenerAuth, ListenerOptions, Verify
from salesforce_typed.streaming.policy import TIP

if TYPE_CHECKING:
    from salesforce_typed.auth.token import TokenStore
    from salesforce_typed.rest._async.client import AsyncSalesforce
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = ["Listener"]


class Listener:
    """Blocking Streaming API listener; `AsyncListener`'s arguments but `http_client` (its
    loop is private, so it opens its own pool)."""

    def __init__(
        self,
        *,
        auth: ListenerAuth,
        instance_url: str | None = None,
        token_store: TokenStore | None = None,
        verify: Verify = True,
        **options: Unpack[ListenerOptions],
    ) -> None:
        self._setup(
            AsyncListener(
                auth=auth,
                instance_url=instance_url,
                token_store=token_store,
                verify=verify,
                **options,
            )
        )

    @classmethod
    def from_client(
        cls,
        client: Salesforce | AsyncSalesforce,
        *,
        verify: Verify | None = None,
        **options: Unpack[ListenerOptions],
    ) -> Listener:
        """A listener on `client`'s connection; `sf.listener(...)` is the usual spelling.

        Shares the auth flow (same token, token store and refresh lock), instance URL, TLS
        setting (`verify=None`), and by default the API version, package and clock; the
        pool is its own, opened on the listener's loop.
        """
        facade = cls.__new__(cls)
        listener = AsyncListener._for_client(client, verify=verify, http_client=None, **options)
        facade._setup(listener)
        return facade

    def _setup(self, listener: AsyncListener) -> None:
        self.listener = listener
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Listener({list(self.listener.services)!r}, {state})"

    def channel(
        self, channel: str, *, replay: ReplayPosition = TIP, **handlers: Any
    ) -> ChannelService:
        return self.listener.channel(channel, replay=replay, **handlers)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def delivered(self) -> int:
        return self.listener.delivered

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start consuming in the background; returns once the loop thread runs."""
        if self.running:
            raise RuntimeError("the listener is already running")
        self.error = None
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._main, name="salesforce-typed-listener", daemon=True
        )
        self._thread.start()
        self._ready.wait()

    def run(self) -> None:
        """Start and block until the listener ends; Ctrl-C closes it cleanly."""
        self.start()
        try:
            self.wait()
        except KeyboardInterrupt:
            self.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the listener ends (True) or `timeout` passes (False); re-raises the
        terminal error."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return False
        if self.error is not None:
            raise self.error
        return True

    def stop(self, timeout: float | None = 30.0) -> None:
        """End after the event being handled (from a handler) or at once (elsewhere)."""
        if threading.current_thread() is self._thread:
            self.listener.stop()  # inside a handler: graceful, its checkpoint is written
            return
        self._call(self.listener.stop)
        self._join(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel at once and wait for the loop thread; safe to call twice."""
        self.stop(timeout)

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the loop thread ----------------------------------------------------------------------

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.call_soon(self._ready.set)  # first: a busy listener must not delay start()
            task = loop.create_task(self.listener.run())
            try:
                loop.run_until_complete(task)
            except BaseException as exc:  # handed to the caller's thread by wait()
                self.error = exc
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._ready.set()
            self._loop = None
            loop.close()

    def _call(self, fn: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        # RuntimeError: the loop closed in between, so there is nothing left to stop.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn)

    def _join(self, timeout: float | None) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
