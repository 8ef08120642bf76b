"""Bytes checkpoints (Pub/Sub replay ids) beside int ones, on real Redis and PostgreSQL: the
stored layout, and data written by the stores before bytes existed keeps reading as ints.

The kind-for-kind round trips and the fence with bytes are in `lease_contract.py`, run by
every store's own test file; this file holds what is specific to one store's storage.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from test_postgres_store import _find_dsn

from salesforce_typed.core.errors import TokenStoreError, UsageError
from salesforce_typed.stores.base import ReplayPosition
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

ODD_BYTES = b"\x00\xff\x00" + bytes(range(256)) * 4  # NULs, 0xff, over 1 KiB

# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    name = f"sft-ckpt-{uuid.uuid4().hex[:12]}"
    yield name
    for key in client.scan_iter(match=f"{name}:*", count=500):
        client.delete(key)
    client.close()


def _lease(store: RedisTokenStore | PostgresTokenStore, name: str) -> int:
    lease = store.try_acquire_lease(name, "a", 60.0)
    assert lease is not None
    return lease.epoch


def test_redis_keys_written_before_bytes_existed_read_as_ints(redis_prefix: str) -> None:
    raw = redis.Redis.from_url(REDIS_URL)
    store = RedisTokenStore(REDIS_URL, prefix=redis_prefix)
    try:
        # What the store always wrote for an int: its decimal digits, nothing else.
        for legacy, expected in (
            (b"4711", 4711),
            (b"-1", -1),
            (b"0", 0),
            (b"4611686018427387904", 2**62),
        ):
            raw.set(f"{redis_prefix}:checkpoint:/data/Old", legacy)
            stored = store.read_checkpoint("/data/Old")
            assert type(stored) is int and stored == expected
    finally:
        store.close()
        raw.close()


def test_redis_layout_keeps_ints_decimal_and_tags_bytes(redis_prefix: str) -> None:
    raw = redis.Redis.from_url(REDIS_URL)
    store = RedisTokenStore(REDIS_URL, prefix=redis_prefix)
    key = f"{redis_prefix}:checkpoint:/data/C"
    try:
        epoch = _lease(store, "lease")
        assert store.write_checkpoint("/data/C", 123, lease_name="lease", epoch=epoch)
        assert raw.get(key) == b"123"  # readable by the versions before bytes, too
        assert store.write_checkpoint("/data/C", b"123", lease_name="lease", epoch=epoch)
        assert raw.get(key) == b"x313233"
        assert store.read_checkpoint("/data/C") == b"123"
        assert store.write_checkpoint("/data/C", b"", lease_name="lease", epoch=epoch)
        assert raw.get(key) == b"x"
        assert store.read_checkpoint("/data/C") == b""
    finally:
        store.close()
        raw.close()


async def test_redis_decoded_responses_client_reads_any_bytes(redis_prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store = RedisTokenStore(client, prefix=redis_prefix)  # async calls run it in a thread
    try:
        epoch = _lease(store, "lease")
        assert store.write_checkpoint("/data/D", ODD_BYTES, lease_name="lease", epoch=epoch)
        assert store.read_checkpoint("/data/D") == ODD_BYTES
        assert await store.aread_checkpoint("/data/D") == ODD_BYTES
        assert await store.awrite_checkpoint("/data/D", 8, lease_name="lease", epoch=epoch)
        assert store.read_checkpoint("/data/D") == 8
    finally:
        client.close()


def test_redis_unreadable_checkpoint_raises_without_quoting_it(redis_prefix: str) -> None:
    raw = redis.Redis.from_url(REDIS_URL)
    store = RedisTokenStore(REDIS_URL, prefix=redis_prefix)
    try:
        for junk in (b"xZZ-secret", b"12abc-secret", b""):
            raw.set(f"{redis_prefix}:checkpoint:/data/J", junk)
            with pytest.raises(TokenStoreError, match="checkpoint is unreadable") as info:
                store.read_checkpoint("/data/J")
            assert "secret" not in str(info.value)
    finally:
        store.close()
        raw.close()


# --- PostgreSQL -------------------------------------------------------------------------------

# The tables as the store created them before bytes replay ids existed, and its old write.
_OLD_LEASES = """CREATE TABLE {leases} (
    name text PRIMARY KEY, epoch bigint NOT NULL, owner text, expires_at timestamptz NOT NULL)"""
_OLD_CHECKPOINTS = """CREATE TABLE {checkpoints} (
    channel text PRIMARY KEY, replay_id bigint NOT NULL, lease_name text NOT NULL,
    epoch bigint NOT NULL, updated_at timestamptz NOT NULL)"""
_OLD_WRITE = """
    WITH fence AS (
        SELECT 1 FROM {leases}
        WHERE name = %(lease)s AND epoch = %(epoch)s AND owner IS NOT NULL FOR SHARE)
    INSERT INTO {checkpoints} AS c (channel, replay_id, lease_name, epoch, updated_at)
    SELECT %(channel)s, %(replay_id)s, %(lease)s, %(epoch)s, clock_timestamp() FROM fence
    ON CONFLICT (channel) DO UPDATE SET replay_id = EXCLUDED.replay_id,
        lease_name = EXCLUDED.lease_name, epoch = EXCLUDED.epoch,
        updated_at = EXCLUDED.updated_at
    RETURNING 1"""


@pytest.fixture(scope="module")
def dsn() -> str:
    return _find_dsn()


@pytest.fixture
def pg_prefix(dsn: str) -> Iterator[str]:
    prefix = f"sft_ckpt_{uuid.uuid4().hex[:12]}"
    yield prefix
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in PostgresTokenStore(dsn, table_prefix=prefix).table_names:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


def _names(prefix: str) -> dict[str, str]:
    return {"leases": f'"{prefix}_leases"', "checkpoints": f'"{prefix}_checkpoints"'}


def _old_tables_with_an_int_row(dsn: str, prefix: str, replay_id: int) -> None:
    """The old shape, with a lease (epoch 1) and a checkpoint written by the old SQL."""
    names = _names(prefix)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_OLD_LEASES.format(**names))
        conn.execute(_OLD_CHECKPOINTS.format(**names))
        conn.execute(
            f"INSERT INTO {names['leases']} VALUES ('old', 1, 'a', now() + interval '1 hour')"
        )
        params = {"channel": "/data/Old", "replay_id": replay_id, "lease": "old", "epoch": 1}
        assert conn.execute(_OLD_WRITE.format(**names), params).fetchall() == [(1,)]


def _columns(dsn: str, table: str) -> dict[str, tuple[str, bool]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [f'"{table}"'],
        ).fetchall()
    return {name: (kind, notnull) for name, kind, notnull in rows}


def _new_tables_with_a_bytes_row(dsn: str, prefix: str, channel: str, value: bytes) -> int:
    """Tables made by the current store, `channel` at `value` under lease `lease`: its epoch."""
    store = PostgresTokenStore(dsn, table_prefix=prefix)
    try:
        epoch = _lease(store, "lease")
        assert store.write_checkpoint(channel, value, lease_name="lease", epoch=epoch)
    finally:
        store.close()
    return epoch


def test_postgres_old_table_is_migrated_and_its_int_row_kept(dsn: str, pg_prefix: str) -> None:
    _old_tables_with_an_int_row(dsn, pg_prefix, 2**62 + 5)
    assert _columns(dsn, f"{pg_prefix}_checkpoints")["replay_id"] == ("bigint", True)
    store = PostgresTokenStore(dsn, table_prefix=pg_prefix)
    try:
        stored = store.read_checkpoint("/data/Old")  # the first call migrates
        assert type(stored) is int and stored == 2**62 + 5
        columns = _columns(dsn, f"{pg_prefix}_checkpoints")
        assert columns["replay_id"] == ("bigint", False)
        assert columns["replay_bytes"] == ("bytea", False)
        # The old lease still fences: epoch 1 writes, epoch 2 does not.
        assert store.write_checkpoint("/data/Old", ODD_BYTES, lease_name="old", epoch=1)
        assert not store.write_checkpoint("/data/Old", b"\x01", lease_name="old", epoch=2)
        assert store.read_checkpoint("/data/Old") == ODD_BYTES
        assert store.write_checkpoint("/data/Old", 7, lease_name="old", epoch=1)
        stored = store.read_checkpoint("/data/Old")
        assert type(stored) is int and stored == 7
    finally:
        store.close()
    again = PostgresTokenStore(dsn, table_prefix=pg_prefix)  # a second start: nothing to do
    try:
        assert again.read_checkpoint("/data/Old") == 7
    finally:
        again.close()


async def test_postgres_old_table_is_migrated_by_an_async_first_call(
    dsn: str, pg_prefix: str
) -> None:
    _old_tables_with_an_int_row(dsn, pg_prefix, 4711)
    store = PostgresTokenStore(dsn, table_prefix=pg_prefix)
    assert await store.aread_checkpoint("/data/Old") == 4711
    assert await store.awrite_checkpoint("/data/New", b"", lease_name="old", epoch=1)
    stored = await store.aread_checkpoint("/data/New")
    assert type(stored) is bytes and stored == b""
    await store.aclose()


def test_postgres_row_never_holds_both_kinds(dsn: str, pg_prefix: str) -> None:
    """An old replica still running its int-only upsert over a bytes row fails loudly
    instead of leaving a row whose kind nobody could tell."""
    epoch = _new_tables_with_a_bytes_row(dsn, pg_prefix, "/data/B", b"\x00\x01")
    names = _names(pg_prefix)
    params = {"channel": "/data/B", "replay_id": 9, "lease": "lease", "epoch": epoch}
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(_OLD_WRITE.format(**names), params)
        row = conn.execute(
            f"SELECT replay_id, replay_bytes FROM {names['checkpoints']} WHERE channel = '/data/B'"
        ).fetchone()
    assert row == (None, b"\x00\x01")


def test_postgres_migrated_table_is_not_locked_again(dsn: str, pg_prefix: str) -> None:
    """A store starting while another session holds the checkpoint table (a long read, an
    operator's open transaction) must not queue an ALTER behind it."""
    epoch = _new_tables_with_a_bytes_row(dsn, pg_prefix, "/data/L", b"\x05")
    with psycopg.connect(dsn) as holder:
        holder.execute(f'LOCK TABLE "{pg_prefix}_checkpoints" IN ACCESS SHARE MODE')
        store = PostgresTokenStore(dsn, table_prefix=pg_prefix, operation_timeout_s=4.0)
        try:
            assert store.read_checkpoint("/data/L") == b"\x05"  # DDL ran, took no lock
            assert store.write_checkpoint("/data/L", 6, lease_name="lease", epoch=epoch)
        finally:
            store.close()
        holder.rollback()


def test_postgres_concurrent_first_use_migrates_once(dsn: str, pg_prefix: str) -> None:
    _old_tables_with_an_int_row(dsn, pg_prefix, 1)
    results: list[ReplayPosition | None | Exception] = [None] * 6
    barrier = threading.Barrier(len(results))

    def first_call(i: int) -> None:
        store = PostgresTokenStore(dsn, table_prefix=pg_prefix)
        barrier.wait()
        try:
            results[i] = store.read_checkpoint("/data/Old")
        except Exception as exc:
            results[i] = exc
        finally:
            store.close()

    threads = [threading.Thread(target=first_call, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [1] * len(results)


def test_postgres_refuses_an_int_beyond_bigint_before_sending(dsn: str, pg_prefix: str) -> None:
    epoch = _new_tables_with_a_bytes_row(dsn, pg_prefix, "/data/R", b"\x01")
    store = PostgresTokenStore(dsn, table_prefix=pg_prefix)
    try:
        for too_big in (2**63, -(2**63) - 1):
            with pytest.raises(UsageError, match="bigint"):
                store.write_checkpoint("/data/R", too_big, lease_name="lease", epoch=epoch)
        for edge in (2**63 - 1, -(2**63)):
            assert store.write_checkpoint("/data/R", edge, lease_name="lease", epoch=epoch)
            assert store.read_checkpoint("/data/R") == edge
    finally:
        store.close()
