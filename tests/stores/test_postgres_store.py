"""`PostgresTokenStore` against the real PostgreSQL: both contracts, processes, specifics.

Each test module run uses fresh `sft_test_<random>` table prefixes and drops those tables
afterwards, so parallel or repeated runs never collide. An unreachable server fails the tests
(it is never a skip): `make test` starts it through scripts/services.sh. The DSN is
SALESFORCE_TYPED_TEST_POSTGRES_DSN, else user `postgres`, else `root`, on 127.0.0.1/test.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import psycopg
import pytest
from contract import ASYNC_CHECKS, SYNC_CHECKS, AsyncCheck, StoreHarness, SyncCheck, check_id
from contract import token as make_token
from lease_contract import (
    LEASE_ASYNC_CHECKS,
    LEASE_SYNC_CHECKS,
    AsyncLeaseCheck,
    LeaseCheck,
    LeaseHarness,
    lease_check_id,
)
from process_contract import PROCESS_CHECKS, StoreSpec
from psycopg.conninfo import make_conninfo

from salesforce_typed.core.errors import TokenStoreError
from salesforce_typed.stores import postgres as postgres_module
from salesforce_typed.stores.base import LeaseStore, TokenStore
from salesforce_typed.stores.postgres import PostgresTokenStore

_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)


def _find_dsn() -> str:
    env = os.environ.get("SALESFORCE_TYPED_TEST_POSTGRES_DSN")
    tried: list[str] = []
    for dsn in (env,) if env else _CANDIDATES:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return dsn
        except psycopg.Error as exc:
            tried.append(f"{dsn}: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    pytest.fail(
        "PostgreSQL is not reachable (" + "; ".join(tried) + "). Start it with `make services` "
        "(scripts/services.sh) or set SALESFORCE_TYPED_TEST_POSTGRES_DSN.",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def dsn() -> str:
    return _find_dsn()


@pytest.fixture(scope="module")
def new_prefix(dsn: str) -> Iterator[Callable[[], str]]:
    """Hands out fresh table prefixes and drops every table made under them at the end."""
    made: list[str] = []

    def new() -> str:
        made.append(f"sft_test_{uuid.uuid4().hex[:12]}")
        return made[-1]

    yield new
    with psycopg.connect(dsn, autocommit=True) as conn:
        for prefix in made:
            for table in PostgresTokenStore(dsn, table_prefix=prefix).table_names:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture(scope="module")
def prefix(new_prefix: Callable[[], str]) -> str:
    return new_prefix()


@pytest.fixture
def stores() -> Iterator[list[PostgresTokenStore]]:
    made: list[PostgresTokenStore] = []
    yield made
    for store in made:
        store.close()


@pytest.fixture
async def astores() -> AsyncIterator[list[PostgresTokenStore]]:
    made: list[PostgresTokenStore] = []
    yield made
    for store in made:
        await store.aclose()


def _factory(
    dsn: str, prefix: str, made: list[PostgresTokenStore]
) -> Callable[[], PostgresTokenStore]:
    def make() -> PostgresTokenStore:
        store = PostgresTokenStore(dsn, table_prefix=prefix)
        made.append(store)
        return store

    return make


# --- the contracts ----------------------------------------------------------------------------


@pytest.mark.parametrize("check", SYNC_CHECKS, ids=check_id)
def test_contract(
    check: SyncCheck, dsn: str, prefix: str, stores: list[PostgresTokenStore]
) -> None:
    make = _factory(dsn, prefix, stores)
    check(lambda: StoreHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", ASYNC_CHECKS, ids=check_id)
async def test_async_contract(
    check: AsyncCheck, dsn: str, prefix: str, astores: list[PostgresTokenStore]
) -> None:
    make = _factory(dsn, prefix, astores)
    await check(lambda: StoreHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", LEASE_SYNC_CHECKS, ids=lease_check_id)
def test_lease_contract(
    check: LeaseCheck, dsn: str, prefix: str, stores: list[PostgresTokenStore]
) -> None:
    make = _factory(dsn, prefix, stores)
    check(lambda: LeaseHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", LEASE_ASYNC_CHECKS, ids=lease_check_id)
async def test_async_lease_contract(
    check: AsyncLeaseCheck, dsn: str, prefix: str, astores: list[PostgresTokenStore]
) -> None:
    make = _factory(dsn, prefix, astores)
    await check(lambda: LeaseHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", PROCESS_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_across_processes(check: Callable[[StoreSpec], None], dsn: str, prefix: str) -> None:
    check(StoreSpec("postgres", dsn, prefix))


# --- PostgreSQL specifics ---------------------------------------------------------------------


def test_implements_both_protocols(dsn: str, prefix: str, stores: list[PostgresTokenStore]) -> None:
    store = _factory(dsn, prefix, stores)()
    assert isinstance(store, TokenStore)
    assert isinstance(store, LeaseStore)


def test_tables_are_created_once_under_concurrent_first_use(
    dsn: str, new_prefix: Callable[[], str]
) -> None:
    # Concurrent CREATE TABLE IF NOT EXISTS can fail on the catalog's unique index; the
    # advisory lock around creation must make 12 stores' simultaneous first calls all succeed.
    fresh = new_prefix()
    made = [PostgresTokenStore(dsn, table_prefix=fresh) for _ in range(12)]
    barrier, errors = threading.Barrier(len(made)), []

    def first_call(store: PostgresTokenStore) -> None:
        barrier.wait()
        try:
            store.get_token_data("k")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_call, args=(s,)) for s in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for store in made:
        store.close()
    assert errors == []
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE %s", [f"{fresh}\\_%"]
        ).fetchone()
    assert rows == (4,)


def test_sync_calls_reuse_one_pooled_connection(dsn: str, prefix: str) -> None:
    tag = f"sft-pool-{uuid.uuid4().hex[:8]}"
    store = PostgresTokenStore(make_conninfo(dsn, application_name=tag), table_prefix=prefix)
    try:
        for n in range(20):
            store.set_token_data(f"pool:{tag}", make_token(n + 1), expected_version=n or None)
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [tag]
            ).fetchone()
        assert row == (1,)
    finally:
        store.close()


async def test_connection_factory_serves_both_faces(dsn: str, prefix: str) -> None:
    opened: list[psycopg.Connection[object]] = []

    def connect() -> psycopg.Connection[object]:
        conn: psycopg.Connection[object] = psycopg.connect(dsn)  # not autocommit: the store sets it
        opened.append(conn)
        return conn

    store, key = PostgresTokenStore(connect, table_prefix=prefix), f"factory:{uuid.uuid4().hex}"
    try:
        assert store.set_token_data(key, make_token(1), expected_version=None)
        assert await store.aset_token_data(key, make_token(2), expected_version=1)
        assert await store.aget_token_data(key) == make_token(2)
        assert repr(store) == f"PostgresTokenStore(connection factory, table_prefix='{prefix}')"
    finally:
        await store.aclose()
    assert opened and all(conn.closed for conn in opened)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_server_raises_without_secrets() -> None:
    port = _closed_port()
    bad = PostgresTokenStore(f"postgresql://operator:s3cret-pw@127.0.0.1:{port}/test")
    assert "s3cret-pw" not in repr(bad)
    with pytest.raises(TokenStoreError) as caught:
        bad.set_token_data("k", make_token(1, access="AT-SECRET"), expected_version=None)
    message = str(caught.value)
    assert f"127.0.0.1:{port}/test" in message and "OperationalError" in message
    assert "s3cret-pw" not in message and "AT-SECRET" not in message
    assert caught.value.__suppress_context__
    with pytest.raises(TokenStoreError, match="try_acquire_lease failed"):
        await bad.atry_acquire_lease("n", "a", 1.0)


def test_sql_errors_keep_only_the_sqlstate(dsn: str, new_prefix: Callable[[], str]) -> None:
    broken = new_prefix()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{broken}_tokens" (key integer)')  # the wrong shape
    store = PostgresTokenStore(dsn, table_prefix=broken)
    try:
        with pytest.raises(TokenStoreError, match=r"SQLSTATE \w{5}\)$") as caught:
            store.set_token_data("k", make_token(1, access="AT-SECRET"), expected_version=None)
        assert "AT-SECRET" not in str(caught.value)
    finally:
        store.close()


def test_invalid_arguments_are_refused(dsn: str) -> None:
    for bad in ("", "1abc", "drop table;", "x" * 49):
        with pytest.raises(ValueError):
            PostgresTokenStore(dsn, table_prefix=bad)
    with pytest.raises(TokenStoreError, match="invalid PostgreSQL DSN"):
        PostgresTokenStore("host=127.0.0.1 password='unterminated")
    with pytest.raises(ValueError):
        PostgresTokenStore(dsn).acquire_lock("k", "a", -1.0)


def test_checkpoint_fence_holds_against_an_uncommitted_takeover(dsn: str, prefix: str) -> None:
    # The fence check and the write are one statement that locks the lease row FOR SHARE: a
    # write racing a takeover waits for it, then sees the new epoch and is refused. (Reading
    # the lease without the lock would see the old epoch and let the stale write through.)
    tag = f"sft-fence-{uuid.uuid4().hex[:8]}"
    store = PostgresTokenStore(make_conninfo(dsn, application_name=tag), table_prefix=prefix)
    name, channel = f"fence:{uuid.uuid4().hex}", f"fence:{uuid.uuid4().hex}"
    leases = store.table_names[2]
    result: list[bool] = []
    try:
        old = store.try_acquire_lease(name, "old", 60.0)
        assert old is not None
        with psycopg.connect(dsn) as takeover, psycopg.connect(dsn, autocommit=True) as probe:
            takeover.execute(
                f'UPDATE "{leases}" SET epoch = epoch + 1, owner = %s WHERE name = %s',
                ["new", name],
            )  # row locked, not committed
            writer = threading.Thread(
                target=lambda: result.append(
                    store.write_checkpoint(channel, 5, lease_name=name, epoch=old.epoch)
                )
            )
            writer.start()
            deadline = time.monotonic() + 60.0
            while probe.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                [tag],
            ).fetchone() != (1,):
                assert writer.is_alive(), "the stale write did not wait for the takeover"
                assert time.monotonic() < deadline, "the stale write never blocked"
                time.sleep(0.01)
            takeover.commit()
            writer.join(timeout=60)
        assert result == [False]
        assert store.read_checkpoint(channel) is None
    finally:
        store.close()


def test_unreadable_token_raises_without_quoting_it(
    dsn: str, prefix: str, stores: list[PostgresTokenStore]
) -> None:
    store, key = _factory(dsn, prefix, stores)(), f"corrupt:{uuid.uuid4().hex}"
    store.clear_token_data(key)  # creates the tables
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{store.table_names[0]}" (key, version, data) VALUES (%s, 1, %s)',
            [key, '{"access_token":"AT-'],
        )
    with pytest.raises(TokenStoreError, match="unreadable") as caught:
        store.get_token_data(key)
    assert "AT-" not in str(caught.value) and caught.value.__suppress_context__


def test_pooled_connection_killed_while_idle_is_replaced(
    dsn: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refresh comes hours after the last call; a session the server dropped meanwhile
    # (restart, NAT timeout) must be noticed and replaced, not fail the refresh.
    monkeypatch.setattr(postgres_module, "_CHECK_IDLE_AFTER_S", 0.0)
    tag = f"sft-idle-{uuid.uuid4().hex[:8]}"
    store = PostgresTokenStore(make_conninfo(dsn, application_name=tag), table_prefix=prefix)
    key = f"idle:{uuid.uuid4().hex}"
    try:
        assert store.set_token_data(key, make_token(1), expected_version=None)
        with psycopg.connect(dsn, autocommit=True) as probe:
            probe.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                [tag],
            )
            deadline = time.monotonic() + 60.0
            while probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [tag]
            ).fetchone() != (0,):
                assert time.monotonic() < deadline, "the pooled session never ended"
                time.sleep(0.01)
        assert store.get_token_data(key) == make_token(1)
    finally:
        store.close()


def test_a_lock_blocked_write_ends_at_lock_timeout_without_a_retry(dsn: str, prefix: str) -> None:
    # lock_timeout (a quarter of operation_timeout_s) is set on every session: a row held by
    # another transaction fails the write (LockNotAvailable, 55P03), an answer not retried.
    store, key = PostgresTokenStore(dsn, table_prefix=prefix, operation_timeout_s=2.0), "held"
    key = f"{key}:{uuid.uuid4().hex}"
    try:
        assert store.set_token_data(key, make_token(1), expected_version=None)
        with psycopg.connect(dsn) as holder:
            holder.execute(
                f'SELECT 1 FROM "{store.table_names[0]}" WHERE key = %s FOR UPDATE', [key]
            )
            started = time.monotonic()
            with pytest.raises(TokenStoreError, match="LockNotAvailable"):
                store.set_token_data(key, make_token(2), expected_version=1)
            assert time.monotonic() - started < 2.0  # one attempt of 0.5 s, not the bound
        assert store.get_token_data(key) == make_token(1)
    finally:
        store.close()


def test_dsn_connections_get_timeouts_and_keepalives(
    dsn: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []
    connect = psycopg.connect

    def spy(conninfo: str, **kwargs: object) -> psycopg.Connection[object]:
        seen.append(kwargs)
        return connect(conninfo, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(psycopg, "connect", spy)
    store = PostgresTokenStore(dsn, table_prefix=prefix, operation_timeout_s=6.0)
    try:
        store.get_token_data("k")
    finally:
        store.close()
    assert seen and seen[0]["connect_timeout"] == 3 and seen[0]["keepalives"] == 1
    assert {"keepalives_idle", "keepalives_interval", "keepalives_count"} <= seen[0].keys()
    assert seen[0]["tcp_user_timeout"] == 6000
    with pytest.raises(ValueError):
        PostgresTokenStore(dsn, operation_timeout_s=0)
