"""Serving the fake org's Pub/Sub API: a grpc.aio server on loopback, in its own thread.

TLS with the org's CA when the org serves https (gRPC clients send call credentials only over
TLS, and Salesforce's endpoint is TLS-only); plaintext otherwise, for an http-only org.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc

from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.pubsub.service import PubSubConfig, PubSubService
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc


class PubSubServer:
    """Start with `start()`; `target` is the `host:port` a gRPC channel dials."""

    def __init__(
        self,
        state: OrgState,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        config: PubSubConfig | None = None,
    ) -> None:
        from salesforce_typed.testing import streaming

        self.host = host
        self.port = port
        self._tls = (cert_file, key_file) if cert_file and key_file else None
        # capture starts with the first call (`PubSubService._admit`), not at startup
        bus = streaming.enable(state, capture=False).bus
        self.service = PubSubService(state, bus, config or PubSubConfig())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: grpc.aio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> PubSubServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = self.service.loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start(), which raises it
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-org-pubsub", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _serve(self) -> None:
        from salesforce_typed.testing.pubsub.limits import SERVER_RECEIVE_BYTES

        # above the 4 MB publish limit, which the service answers as Salesforce does
        server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", SERVER_RECEIVE_BYTES)]
        )
        pb_grpc.add_PubSubServicer_to_server(self.service, server)
        wanted = self.port
        for port in (wanted, 0) if wanted else (0,):  # a remembered port may be taken now
            address = f"{self.host}:{port}" if ":" not in self.host else f"[{self.host}]:{port}"
            try:
                if self._tls is not None:
                    cert, key = (p.read_bytes() for p in self._tls)
                    creds = grpc.ssl_server_credentials([(key, cert)])
                    self.port = server.add_secure_port(address, creds)
                else:
                    self.port = server.add_insecure_port(address)
            except RuntimeError:  # grpc refuses a port it cannot bind
                self.port = 0
            if self.port:
                break
        await server.start()
        self._server = server

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None or loop.is_closed():
            return
        done = asyncio.run_coroutine_threadsafe(server.stop(grace=0), loop)
        done.result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
