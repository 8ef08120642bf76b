"""The parent side of the durability tests: one fake org, real stores, replica processes.

`Run` owns everything a scenario starts (replicas, a `FaultProxy`, a store namespace) and
reads the truth from the fake org itself, which runs in this process: the family of the
replicas' refresh token (revoked or not, and its *current* refresh token), and the number of
token-endpoint calls. Sessions are expired through `/_admin/expire-sessions` and the token
endpoint slowed through `/_admin/faults` `token_delay_s`, over HTTP, as against a separately
started `fake-org serve`.

Waits are bounded by generous deadlines that only turn a hang into a failure; the figures a
scenario reports (token calls, duration) are printed, not asserted on time.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from durability_replica import make_grant, read_lines, replica_main
from faults.proxy import FaultProxy

from salesforce_typed.auth.token import TokenData
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore
from salesforce_typed.testing.oauth import oauth_state, token_calls
from salesforce_typed.testing.server import FakeOrg

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_CANDIDATES = (
    os.environ.get("SALESFORCE_TYPED_TEST_POSTGRES_DSN") or "",
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
SPAWN = multiprocessing.get_context("spawn")
DEADLINE_S = 60.0  # a hang guard for every wait, not a timing assertion


def postgres_dsn() -> str:
    for dsn in filter(None, POSTGRES_CANDIDATES):
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return dsn
        except psycopg.Error:
            continue
    pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (make services)", pytrace=False)


def wait_for(predicate: Callable[[], object], what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of the test's own, without persistence; `restart()` SIGKILLs it and
    starts it again on the same port with an empty dataset."""

    def __init__(self, directory: Path) -> None:
        self.port, self._dir = free_port(), directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make services)"
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._dir)]
        self._proc = subprocess.Popen(
            [binary, *args, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            wait_for(lambda: _pings(probe), "the test's redis-server to start", 30.0)
        finally:
            probe.close()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=30)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class Run:
    """One scenario on one store kind: the org, the replicas and the faults it switches."""

    def __init__(self, kind: str, folder: Path, *, server_url: str | None = None) -> None:
        self.kind = kind
        self.folder = folder
        self.started = time.monotonic()
        if kind == "redis":
            self.server = server_url or REDIS_URL
            self.prefix = f"sft-dur-{uuid.uuid4().hex[:10]}"
        else:
            self.server = server_url or postgres_dsn()
            self.prefix = f"sft_dur_{uuid.uuid4().hex[:10]}"
        self.org = FakeOrg().start()
        self.creds = {k: v for k, v in self.org.credentials().items() if k != "ca_file"}
        self.seed = self.creds["refresh_token"]
        self.key = make_grant({"creds": self.creds}).store_key()
        self.proxy: FaultProxy | None = None
        self.procs: dict[str, Any] = {}
        self.base: dict[str, Any] = {
            "creds": self.creds,
            "store": kind,
            "target": self.server,
            "prefix": self.prefix,
            "folder": str(folder),
        }
        self.inspector = self.open_direct()

    # --- stores -------------------------------------------------------------------------------

    def open_direct(self) -> RedisTokenStore | PostgresTokenStore:
        if self.kind == "redis":
            return RedisTokenStore(self.server, prefix=self.prefix)
        return PostgresTokenStore(self.server, table_prefix=self.prefix)

    def through_proxy(self) -> FaultProxy:
        """Put a `FaultProxy` between the replicas (started from now on) and the server."""
        if self.kind == "redis":
            parts = httpx.URL(self.server)
            self.proxy = FaultProxy(parts.host, parts.port or 6379)
            self.base["target"] = f"redis://127.0.0.1:{self.proxy.port}{parts.path or '/0'}"
        else:
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            params = conninfo_to_dict(self.server)
            host = str(params.get("host") or "127.0.0.1")
            self.proxy = FaultProxy(host, int(str(params.get("port") or 5432)))
            self.base["target"] = make_conninfo(self.server, host="127.0.0.1", port=self.proxy.port)
        return self.proxy

    def stored(self) -> TokenData | None:
        return self.inspector.get_token_data(self.key)

    # --- the fake org's truth -------------------------------------------------------------------

    def _family(self) -> Any:
        oauth = oauth_state(self.org.state)
        with self.org.state.lock:
            return oauth.families[oauth.refresh_tokens[self.seed]]

    def current_refresh_token(self) -> str | None:
        """The family's current refresh token; None once the family is revoked."""
        current: str | None = self._family().current
        return current

    def revocations(self) -> int:
        oauth = oauth_state(self.org.state)
        with self.org.state.lock:
            return sum(1 for f in oauth.families.values() if f.current is None)

    def token_calls(self) -> int:
        return token_calls(self.org.state).get("refresh_token", 0)

    def expire_sessions(self) -> float:
        """Every access token stops working; returns the wall time after which every call
        started needs a refreshed token (a call started earlier may still have gone through)."""
        httpx.post(f"{self.org.instance_url}/_admin/expire-sessions", timeout=10).raise_for_status()
        return time.time()

    def token_delay(self, seconds: float) -> None:
        httpx.post(
            f"{self.org.instance_url}/_admin/faults", json={"token_delay_s": seconds}, timeout=10
        ).raise_for_status()

    def wait_token_call(self, before: int) -> None:
        wait_for(lambda: self.token_calls() > before, "a replica to call the token endpoint")

    # --- replicas -----------------------------------------------------------------------------

    def spawn(self, owner: str, *, journal: str | None = None, **cfg: Any) -> Any:
        """Start a replica; `journal` names the directory (default: the owner's own)."""
        directory = self.folder / f"journal-{journal or owner}"
        config = {**self.base, **cfg, "owner": owner, "journal": str(directory)}
        proc = SPAWN.Process(target=replica_main, args=(config,), daemon=True)
        proc.start()
        self.procs[owner] = proc
        return proc

    def journal_dir(self, owner: str) -> Path:
        return self.folder / f"journal-{owner}"

    def kill(self, owner: str) -> None:
        proc = self.procs[owner]
        proc.kill()
        proc.join(10)

    def pause(self, owner: str) -> None:
        since = time.time()
        (self.folder / f"pause-{owner}").touch()
        wait_for(
            lambda: any(
                x["kind"] == "paused" and x["owner"] == owner and x["t"] >= since
                for x in self.lines()
            ),
            f"{owner} to pause",
        )

    def resume(self, owner: str) -> None:
        (self.folder / f"pause-{owner}").unlink()

    def lines(self) -> list[dict[str, Any]]:
        return read_lines(self.folder)

    def invalid_grants(self) -> list[dict[str, Any]]:
        return [x for x in self.lines() if x["kind"] == "invalid_grant"]

    def serving_since(self, since: float, owners: list[str]) -> bool:
        """Every one of `owners` completed an API call that started at or after `since`."""
        lines = self.lines()
        assert not [x for x in lines if x["kind"] == "invalid_grant"], "invalid_grant"
        ok = {x["owner"] for x in lines if x["kind"] == "ok" and x["t"] >= since}
        return set(owners) <= ok

    def wait_serving(self, since: float, owners: list[str], what: str) -> None:
        wait_for(lambda: self.serving_since(since, owners), f"{owners} to serve again ({what})")

    def wait_store_current(self) -> None:
        """The store holds the refresh token the fake org considers current."""

        def current() -> bool:
            token = self.stored()
            return token is not None and token.refresh_token == self.current_refresh_token()

        wait_for(current, "the store to hold the family's current refresh token")

    # --- the end ------------------------------------------------------------------------------

    def finish(self, owners: list[str]) -> dict[str, Any]:
        """The end-of-scenario checks: no revocation, no invalid_grant, every live replica
        serves after one more session expiry, and the store holds the current token."""
        if self.proxy is not None:
            self.proxy.heal()
        self.token_delay(0)
        assert self.revocations() == 0, "the token family was revoked"
        since = self.expire_sessions()
        self.wait_serving(since, owners, "after the final session expiry")
        self.wait_store_current()
        stored = self.stored()
        assert stored is not None and stored.refresh_token != self.seed
        assert not self.invalid_grants()
        assert self.revocations() == 0 and self.current_refresh_token() is not None
        return {
            "revocations": self.revocations(),
            "token_calls": self.token_calls(),
            "store_version": stored.version,
            "duration_s": round(time.monotonic() - self.started, 1),
        }

    def close(self) -> None:
        (self.folder / "stop").touch()
        for proc in self.procs.values():
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        if self.proxy is not None:
            self.proxy.close()
        self.inspector.close()
        self.org.stop()

    def drop_namespace(self) -> None:
        if self.kind == "redis":
            client = redis.Redis.from_url(self.server, socket_timeout=5)
            try:
                keys = list(client.scan_iter(match=f"{self.prefix}:*"))
                if keys:
                    client.delete(*keys)
            except redis.RedisError:
                pass  # the test's own redis-server is gone already
            finally:
                client.close()
            return
        tables = PostgresTokenStore(self.server, table_prefix=self.prefix).table_names
        with psycopg.connect(self.server, autocommit=True) as conn:
            for table in tables:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def report(scenario: str, kind: str, figures: dict[str, Any]) -> None:
    """One line per scenario and store (`pytest -s` shows it; the session report quotes it)."""
    print(f"\nDURABILITY {scenario} [{kind}] " + " ".join(f"{k}={v}" for k, v in figures.items()))
