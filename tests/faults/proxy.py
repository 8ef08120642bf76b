"""`FaultProxy`: a loopback TCP proxy between a client under test and a real server.

Tests point a store at `proxy.port` instead of the server and flip switches while calls are
in flight, so a fault happens at a chosen moment on real sockets, with the real drivers:

- `cut()` closes every connection now (the server restarted, a NAT dropped the flow);
- `outage()` cuts and keeps cutting: new connections are accepted and closed at once;
- `stall(seconds)` forwards nothing for a while; `blackhole()` forwards nothing until `heal()`
  (connections stay open and unanswered, as behind a dead firewall: only a client-side
  deadline ends the wait);
- `drop_next_reply(containing)`: the next request holding those bytes (a unique value the
  test writes) reaches the server and is answered there, but the answer is thrown away and
  the connection cut: the write happened, the client cannot know;
- `heal()` ends every fault.

Threads, one per direction of each connection; `close()` (or leaving the `with`) stops them
all. Nothing here knows a protocol: a "request" is whatever one `recv` returns, which for the
small commands the stores send is one whole request.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

_POLL_S = 0.05


class _Pair:
    """One client connection and its upstream twin."""

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = client
        self.server = server
        self.drop_reply = False  # set when this pair carried the request whose reply we drop
        self.closed = threading.Event()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class FaultProxy:
    """Forwards 127.0.0.1:`port` to `target_host:target_port`, with fault switches."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._pairs: list[_Pair] = []
        self._refusing = False
        self._paused_until = 0.0  # monotonic; math.inf for a blackhole
        self._drop_next_reply: bytes | None = None
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL_S)
        self.port: int = self._listener.getsockname()[1]
        self.connections_accepted = 0
        self.replies_dropped = 0
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    # --- switches ---------------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection now; new ones are served normally."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def outage(self) -> None:
        """The server is gone until `heal()`: open connections are cut, new ones closed."""
        with self._lock:
            self._refusing = True
        self.cut()

    def stall(self, seconds: float) -> None:
        """Forward nothing in either direction for `seconds` (connections stay open)."""
        with self._lock:
            self._paused_until = time.monotonic() + seconds

    def blackhole(self) -> None:
        """Forward nothing until `heal()`; connections are accepted and left unanswered."""
        with self._lock:
            self._paused_until = float("inf")

    def drop_next_reply(self, containing: bytes = b"") -> None:
        """Let the next request holding `containing` through, swallow the server's answer,
        then cut that connection."""
        with self._lock:
            self._drop_next_reply = containing

    def heal(self) -> None:
        """End every fault; connections opened from now on work normally."""
        with self._lock:
            self._refusing = False
            self._paused_until = 0.0
            self._drop_next_reply = None

    # --- plumbing ---------------------------------------------------------------------------

    def _paused(self) -> bool:
        with self._lock:
            return time.monotonic() < self._paused_until

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections_accepted += 1
            with self._lock:
                refusing = self._refusing
            if refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
            for src, dst, upstream in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(pair, src, dst, upstream), daemon=True
                ).start()

    def _pump(self, pair: _Pair, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        src.settimeout(_POLL_S)
        while not pair.closed.is_set() and not self._stopped.is_set():
            if self._paused():
                time.sleep(_POLL_S)  # leave the bytes unread: nothing moves either way
                continue
            try:
                chunk = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            while self._paused() and not pair.closed.is_set():
                time.sleep(_POLL_S)  # paused while we read it: hold it back too
            if upstream:
                with self._lock:
                    marker = self._drop_next_reply
                    if marker is not None and marker in chunk:
                        self._drop_next_reply, pair.drop_reply = None, True
            elif pair.drop_reply:
                self.replies_dropped += 1
                break  # the server answered; the client never hears it
            try:
                dst.sendall(chunk)
            except OSError:
                break
        pair.close()
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        self.cut()
        self._acceptor.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
