"""Running a fake org: `FakeOrg` starts uvicorn on a loopback socket in a background thread.

    with FakeOrg() as org:
        org.instance_url, org.credentials()["refresh_token"]

Port 0 picks a free port; `tls=True` serves https with a CA written to `ca_file`.
`pubsub=True` also serves the Pub/Sub API over gRPC (started on first use of `pubsub_url`
otherwise), over TLS with the same CA when `tls=True`; on `pubsub_port`, or with a data dir on
the port of the last run when it is free, so clients carry on across a restart.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import uvicorn

from salesforce_typed.testing.app import FakeOrgApp
from salesforce_typed.testing.org.http import Router
from salesforce_typed.testing.org.schema import OrgSchema
from salesforce_typed.testing.org.state import OrgConfig, OrgState
from salesforce_typed.testing.org.tls import TlsFiles, make_tls_files


def build_router(state: OrgState) -> Router:
    """Every API module registers its routes here, in order."""
    from salesforce_typed.testing import routes

    router = Router()
    routes.register_all(router, state)
    return router


def _unwind(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs once the server is done (Bulk jobs, between two steps) and let
    it unwind here, while its files are open: not at garbage collection, after they closed."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))


class FakeOrg:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        data_dir: Path | None = None,
        config: OrgConfig | None = None,
        schema: OrgSchema | None = None,
        pubsub: bool = False,
        pubsub_port: int = 0,
    ) -> None:
        self.host = host
        self.pubsub = pubsub
        self.pubsub_port = pubsub_port
        self._pubsub: Any = None  # testing.pubsub.PubSubServer once started
        self.port = port
        self.tls = tls
        self.data_dir = data_dir
        self.state = OrgState(config=config, schema=schema)
        self.state.extensions["data_dir"] = data_dir
        if data_dir is not None:
            from salesforce_typed.testing.org import persist

            persist.attach(self.state, Path(data_dir))
        capture = self.state.config.capture_changes
        if capture or (capture is None and data_dir is not None):
            from salesforce_typed.testing import streaming

            streaming.enable(self.state)  # CDC from the first write, not the first subscriber
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.tls_files: TlsFiles | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._refresh_token: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOrg:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        sock.bind((self.host, self.port))
        sock.listen(512)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        ssl: dict[str, Any] = {}
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="fake-org-tls-")
            self.tls_files = make_tls_files(Path(self._tmp.name), self.host)
            ssl = {
                "ssl_certfile": str(self.tls_files.cert_file),
                "ssl_keyfile": str(self.tls_files.key_file),
            }
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.state.instance_url = f"{scheme}://{host}:{self.port}"
        app = FakeOrgApp(self.state, build_router(self.state))
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
            http="httptools",
            **ssl,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()
        server = self._server
        if self.data_dir is not None:
            self._restore_jobs()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.state.extensions["loop"] = loop
            for resume in self.state.extensions.get("resumers", []):
                loop.call_soon(resume)  # restored jobs go on running, on this loop
            task = loop.create_task(server.serve(sockets=[sock]))
            loop.call_soon(ready.set)
            loop.run_until_complete(task)
            _unwind(loop)
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-org", daemon=True)
        self._thread.start()
        ready.wait(10)
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.01)
        if self.pubsub:
            self.start_pubsub()
        return self

    def start_pubsub(self) -> str:
        """Serve the Pub/Sub API (once); returns its `host:port` gRPC target."""
        if self._pubsub is None:
            from salesforce_typed.testing.pubsub import PubSubServer

            files = self.tls_files
            remembered = self.data_dir / "pubsub.port" if self.data_dir else None
            port = self.pubsub_port
            if not port and remembered is not None and remembered.is_file():
                port = int(remembered.read_text(encoding="ascii").strip() or 0)
            self._pubsub = PubSubServer(
                self.state,
                host=self.host,
                port=port,
                cert_file=files.cert_file if files else None,
                key_file=files.key_file if files else None,
            ).start()
            if remembered is not None:  # a restart on the data dir serves the same target
                remembered.write_text(str(self._pubsub.port), encoding="ascii")
        target: str = self._pubsub.target
        return target

    @property
    def pubsub_url(self) -> str:
        """The Pub/Sub API's gRPC target (`127.0.0.1:PORT`), started on first use."""
        return self.start_pubsub()

    def stop(self) -> None:
        if self._pubsub is not None:
            self._pubsub.stop()
            self._pubsub = None
        for stopper in self.state.extensions.get("stoppers", []):
            stopper()  # release held long-polls so the server can exit at once
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        for saver in self.state.extensions.get("savers", []):
            saver()  # the loop has stopped: jobs are between steps, their state consistent
        for closer in self.state.extensions.get("closers", []):
            closer()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> FakeOrg:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _restore_jobs(self) -> None:
        """Load the Bulk jobs an earlier run left in the data dir before any request."""
        from salesforce_typed.testing.bulk1.jobs import bulk_v1
        from salesforce_typed.testing.bulk2.jobs import jobs

        bulk_v1(self.state)
        jobs(self.state)

    # -- what clients need -----------------------------------------------------------------

    @property
    def instance_url(self) -> str:
        return self.state.instance_url

    @property
    def token_url(self) -> str:
        return f"{self.instance_url}/services/oauth2/token"

    def new_refresh_token(self) -> str:
        """Another authorization (a new token family), as a second user/app consent would."""
        from salesforce_typed.testing import oauth
        from salesforce_typed.testing.oauth import storage
        from salesforce_typed.testing.org import persist

        token = oauth.issue_refresh_token(self.state)
        book = persist.journal(self.state)
        if book is not None:
            storage.save(self.state, book)
        return token

    def _printed_refresh_token(self) -> str:
        """A new authorization; with a data dir, the one printed before while it still
        works (a token rotated out or revoked since is not printed again)."""
        from salesforce_typed.testing import oauth
        from salesforce_typed.testing.oauth import storage
        from salesforce_typed.testing.org import persist

        book = persist.journal(self.state)
        if book is None:
            return oauth.issue_refresh_token(self.state)
        printed = book.get("config", "printed_refresh_token")
        if isinstance(printed, str) and storage.is_current(self.state, printed):
            return printed
        token = oauth.issue_refresh_token(self.state)
        storage.save(self.state, book)
        book.put("config", "printed_refresh_token", token)
        return token

    def credentials(self) -> dict[str, str]:
        """The one JSON line `fake-org serve` prints: everything a client needs to connect."""

        cfg = self.state.config
        if self._refresh_token is None:  # one authorization per org: the same RT every call
            self._refresh_token = self._printed_refresh_token()
        creds = {
            "instance_url": self.instance_url,
            "token_url": self.token_url,
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
            "refresh_token": self._refresh_token,
            "username": cfg.username,
            "password": cfg.password,
            "security_token": cfg.security_token,
        }
        if self.tls_files is not None:
            creds["ca_file"] = str(self.tls_files.ca_file)
        if self._pubsub is not None:
            creds["pubsub_url"] = self._pubsub.target
        return creds
