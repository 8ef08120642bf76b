"""The shared stores under network and server faults, on real Redis and real PostgreSQL.

Each store talks to its server through a `FaultProxy` (tests/faults/proxy.py) that the test
switches: a reply lost after the write went through, a 3-second outage, a blackholed server.
Redis restarts run on a redis-server of the test's own (another port, its own directory), with
and without AOF. What must hold:

- a call whose connection broke after its write was applied still returns the right answer;
- during an outage calls fail with `TokenStoreError` within the bound, and work after it;
- an unresponsive server never hangs a call: `TokenStoreError` within `operation_timeout_s`;
- Redis restarted without persistence is detected and reported; with AOF the token survives.

Timings are asserted only as upper bounds with generous slack (a hang guard, not a benchmark);
each fault prints what it measured (`pytest -s` shows it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import psycopg
import pytest
import redis
from contract import token
from faults.proxy import FaultProxy
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_postgres_store import _find_dsn

from salesforce_typed.core.errors import TokenStoreError
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BOUND = 3.0  # operation_timeout_s of every store here
SLACK = 1.5  # scheduling on a busy 2-core machine
OUTAGE = 3.0

Store = RedisTokenStore | PostgresTokenStore


@attrs.define
class Backend:
    """One server kind: where it listens, and how to open a store through a proxy's port."""

    name: str
    host: str
    port: int
    open: Callable[[int], Store]


def _redis_backend(prefix: str) -> Backend:
    parts = urlsplit(REDIS_URL)

    def open_store(port: int) -> Store:
        url = f"redis://{parts.hostname}:{port}{parts.path or '/0'}"
        return RedisTokenStore(url, prefix=prefix, operation_timeout_s=BOUND)

    return Backend("redis", parts.hostname or "127.0.0.1", parts.port or 6379, open_store)


def _postgres_backend(dsn: str, prefix: str) -> Backend:
    params = conninfo_to_dict(dsn)

    def open_store(port: int) -> Store:
        proxied = make_conninfo(dsn, host="127.0.0.1", port=port)
        return PostgresTokenStore(proxied, table_prefix=prefix, operation_timeout_s=BOUND)

    host, port = str(params.get("host") or "127.0.0.1"), int(str(params.get("port") or 5432))
    return Backend("postgres", host, port, open_store)


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    return _find_dsn()


@pytest.fixture(scope="module", params=["redis", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "redis":
        prefix = f"sft-faults-{uuid.uuid4().hex[:12]}"
        yield _redis_backend(prefix)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
        client.close()
        return
    dsn = request.getfixturevalue("pg_dsn")
    prefix = f"sft_faults_{uuid.uuid4().hex[:12]}"
    yield _postgres_backend(dsn, prefix)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in PostgresTokenStore(dsn, table_prefix=prefix).table_names:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture
def proxy(backend: Backend) -> Iterator[FaultProxy]:
    with FaultProxy(backend.host, backend.port) as opened:
        yield opened


@pytest.fixture
def store(backend: Backend, proxy: FaultProxy) -> Iterator[Store]:
    opened = backend.open(proxy.port)
    yield opened
    opened.close()


def _key() -> str:
    return f"faults:{uuid.uuid4().hex}"


def _fails_within_bound(call: Callable[[], object], what: str) -> float:
    started = time.monotonic()
    with pytest.raises(TokenStoreError):
        call()
    elapsed = time.monotonic() - started
    print(f"{what}: TokenStoreError after {elapsed:.2f}s (bound {BOUND}s)")
    assert elapsed <= BOUND + SLACK
    return elapsed


# --- (a) the connection drops after the write went through -----------------------------------


def test_lost_reply_after_a_write_still_gives_the_right_answer(
    backend: Backend, proxy: FaultProxy, store: Store
) -> None:
    key = _key()
    first = token(1, access=f"at-1-{uuid.uuid4().hex}")
    assert store.set_token_data(key, first, expected_version=None)  # a warm connection
    for version in (2, 3):
        data = token(version, access=f"at-{version}-{uuid.uuid4().hex}")
        proxy.drop_next_reply(containing=data.access_token.encode())
        assert store.set_token_data(key, data, expected_version=version - 1)
        assert proxy.replies_dropped == version - 1
        assert store.get_token_data(key) == data
    # A create whose answer was lost, and a stale writer that must still lose.
    fresh, data = _key(), token(1, access=f"at-new-{uuid.uuid4().hex}")
    proxy.drop_next_reply(containing=data.access_token.encode())
    assert store.set_token_data(fresh, data, expected_version=None)
    assert proxy.replies_dropped == 3
    assert not store.set_token_data(fresh, token(1, access="other"), expected_version=None)
    print(f"{backend.name}: 3 writes whose replies were dropped all returned True")


def test_lost_reply_after_lock_acquire_and_renew(
    backend: Backend, proxy: FaultProxy, store: Store
) -> None:
    key, owner = _key(), f"owner-{uuid.uuid4().hex}"
    assert store.get_token_data(key) is None  # a warm connection
    proxy.drop_next_reply(containing=owner.encode())
    assert store.acquire_lock(key, owner, 30.0)
    proxy.drop_next_reply(containing=owner.encode())
    assert store.renew_lock(key, owner, 30.0)
    assert proxy.replies_dropped == 2
    assert not store.acquire_lock(key, "someone-else", 30.0)
    assert store.release_lock(key, owner)


async def test_lost_reply_after_an_async_write(
    backend: Backend, proxy: FaultProxy, store: Store
) -> None:
    key = _key()
    assert await store.aset_token_data(key, token(1), expected_version=None)
    data = token(2, access=f"at-2-{uuid.uuid4().hex}")
    proxy.drop_next_reply(containing=data.access_token.encode())
    assert await store.aset_token_data(key, data, expected_version=1)
    assert proxy.replies_dropped == 1
    assert await store.aget_token_data(key) == data
    await store.aclose()


# --- (b) a 3-second outage --------------------------------------------------------------------


def test_outage_fails_fast_and_heals(backend: Backend, proxy: FaultProxy, store: Store) -> None:
    key = _key()
    assert store.set_token_data(key, token(1), expected_version=None)
    proxy.outage()
    started = time.monotonic()
    _fails_within_bound(lambda: store.get_token_data(key), f"{backend.name} outage, read")
    _fails_within_bound(
        lambda: store.set_token_data(key, token(2), expected_version=1),
        f"{backend.name} outage, write",
    )
    _fails_within_bound(lambda: store.acquire_lock(key, "a", 30.0), f"{backend.name} outage, lock")
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - started)))
    proxy.heal()
    healed = time.monotonic()
    assert store.get_token_data(key) == token(1)
    assert store.set_token_data(key, token(2), expected_version=1)
    assert store.acquire_lock(key, "a", 30.0)
    print(f"{backend.name}: after heal, read+write+lock in {time.monotonic() - healed:.2f}s")


# --- (c) a blackholed server ------------------------------------------------------------------


def test_blackholed_server_never_hangs_a_call(
    backend: Backend, proxy: FaultProxy, store: Store
) -> None:
    key = _key()
    assert store.set_token_data(key, token(1), expected_version=None)  # a pooled connection
    proxy.blackhole()
    _fails_within_bound(
        lambda: store.set_token_data(key, token(2), expected_version=1),
        f"{backend.name} blackhole, write on a pooled connection",
    )
    cold = backend.open(proxy.port)
    try:
        _fails_within_bound(
            lambda: cold.get_token_data(key), f"{backend.name} blackhole, read on a new store"
        )
    finally:
        cold.close()
    proxy.heal()
    assert store.get_token_data(key) in (token(1), token(2))  # the write may have landed


async def test_blackholed_server_never_hangs_an_async_call(
    backend: Backend, proxy: FaultProxy, store: Store
) -> None:
    key = _key()
    assert await store.aset_token_data(key, token(1), expected_version=None)
    proxy.blackhole()
    started = time.monotonic()
    with pytest.raises(TokenStoreError):
        await store.aacquire_lock(key, "a", 30.0)
    elapsed = time.monotonic() - started
    print(f"{backend.name} blackhole, async lock: TokenStoreError after {elapsed:.2f}s")
    assert elapsed <= BOUND + SLACK
    proxy.heal()
    assert await store.aget_token_data(key) == token(1)
    await store.aclose()


# --- (d) Redis restarted, with and without persistence ----------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of this test's own; `restart()` kills it (SIGKILL) and starts it again."""

    def __init__(self, directory: Path, *, aof: bool) -> None:
        self.port, self._dir, self._aof = _free_port(), directory, aof
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self._aof
            else ["--appendonly", "no"]
        )
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._dir)]
        self._proc = subprocess.Popen(
            [binary, *args, "--save", "", *persistence],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + 30.0
        try:
            while True:
                try:
                    if probe.ping():
                        return
                except redis.RedisError:
                    assert time.monotonic() < deadline, "own redis-server did not start"
                    time.sleep(0.05)
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


@pytest.fixture
def own_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path, aof=request.param == "aof")
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("own_redis", ["no-persistence"], indirect=True)
def test_redis_restart_without_persistence_is_detected(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="salesforce_typed.stores")
    losses: list[str] = []
    writer = RedisTokenStore(own_redis.url, on_data_loss=lambda: losses.append("writer"))
    other = RedisTokenStore(own_redis.url, on_data_loss=lambda: losses.append("other"))
    key = _key()
    try:
        assert writer.set_token_data(key, token(1), expected_version=None)
        assert other.get_token_data(key) == token(1)  # a second replica saw it too
        own_redis.restart()
        assert writer.get_token_data(key) is None  # the token is gone ...
        assert writer.data_loss_detected and losses == ["writer"]  # ... and that is known
        assert "Redis lost its data: the token store needs persistence (AOF)" in caplog.text
        # The writer puts its newer token back; the other replica still learns of the loss.
        assert writer.set_token_data(key, token(1), expected_version=None)
        assert other.get_token_data(key) == token(1)
        assert other.data_loss_detected and losses == ["writer", "other"]
        assert writer.get_token_data(key) == token(1) and losses == ["writer", "other"]
        print(f"no persistence: restart detected by both replicas ({len(losses)} reports)")
    finally:
        writer.close()
        other.close()


@pytest.mark.parametrize("own_redis", ["aof"], indirect=True)
def test_redis_restart_with_aof_keeps_the_token(own_redis: OwnRedis) -> None:
    store, key = RedisTokenStore(own_redis.url), _key()
    try:
        assert store.set_token_data(key, token(1), expected_version=None)
        assert store.set_token_data(key, token(2), expected_version=1)
        own_redis.restart()  # SIGKILL: only what appendfsync always wrote survives
        assert store.get_token_data(key) == token(2)
        assert not store.data_loss_detected
        print("AOF (appendfsync always): token kept across a SIGKILL restart")
    finally:
        store.close()


async def test_async_redis_restart_without_persistence_is_detected(tmp_path: Path) -> None:
    server = OwnRedis(tmp_path, aof=False)
    server.start()
    store, key = RedisTokenStore(server.url), _key()
    try:
        assert await store.aset_token_data(key, token(1), expected_version=None)
        await asyncio.to_thread(server.restart)
        assert await store.aget_token_data(key) is None
        assert store.data_loss_detected
    finally:
        await store.aclose()
        server.stop()
