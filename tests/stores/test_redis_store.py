"""`RedisTokenStore` against the real Redis: both contracts, processes, and Redis specifics.

Every key lives under a random per-module prefix, deleted afterwards, so parallel or repeated
runs never collide. An unreachable server fails the tests (it is never a skip): `make test`
starts it through scripts/services.sh.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis
import redis.asyncio
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

from salesforce_typed.core.errors import TokenStoreError
from salesforce_typed.stores.base import LeaseStore, TokenStore
from salesforce_typed.stores.redis import RedisTokenStore

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.fail(
            f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc}). "
            "Start it with `make services` (scripts/services.sh) or set "
            "SALESFORCE_TYPED_TEST_REDIS_URL.",
            pytrace=False,
        )
    name = f"sft-test-{uuid.uuid4().hex[:12]}"
    yield name
    for key in client.scan_iter(match=f"{name}:*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture
def stores(prefix: str) -> Iterator[list[RedisTokenStore]]:
    made: list[RedisTokenStore] = []
    yield made
    for store in made:
        store.close()


@pytest.fixture
async def astores(prefix: str) -> AsyncIterator[list[RedisTokenStore]]:
    made: list[RedisTokenStore] = []
    yield made
    for store in made:
        await store.aclose()  # on the test's own loop, where its asyncio client lives


def _factory(prefix: str, made: list[RedisTokenStore]) -> Callable[[], RedisTokenStore]:
    def make() -> RedisTokenStore:
        store = RedisTokenStore(REDIS_URL, prefix=prefix)
        made.append(store)
        return store

    return make


# --- the contracts ----------------------------------------------------------------------------


@pytest.mark.parametrize("check", SYNC_CHECKS, ids=check_id)
def test_contract(check: SyncCheck, prefix: str, stores: list[RedisTokenStore]) -> None:
    make = _factory(prefix, stores)
    check(lambda: StoreHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", ASYNC_CHECKS, ids=check_id)
async def test_async_contract(
    check: AsyncCheck, prefix: str, astores: list[RedisTokenStore]
) -> None:
    make = _factory(prefix, astores)
    await check(lambda: StoreHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", LEASE_SYNC_CHECKS, ids=lease_check_id)
def test_lease_contract(check: LeaseCheck, prefix: str, stores: list[RedisTokenStore]) -> None:
    make = _factory(prefix, stores)
    check(lambda: LeaseHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", LEASE_ASYNC_CHECKS, ids=lease_check_id)
async def test_async_lease_contract(
    check: AsyncLeaseCheck, prefix: str, astores: list[RedisTokenStore]
) -> None:
    make = _factory(prefix, astores)
    await check(lambda: LeaseHarness(store=make(), advance=time.sleep))


@pytest.mark.parametrize("check", PROCESS_CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_across_processes(check: Callable[[StoreSpec], None], prefix: str) -> None:
    check(StoreSpec("redis", REDIS_URL, prefix))


# --- Redis specifics --------------------------------------------------------------------------


def test_implements_both_protocols(prefix: str, stores: list[RedisTokenStore]) -> None:
    store = _factory(prefix, stores)()
    assert isinstance(store, TokenStore)
    assert isinstance(store, LeaseStore)


def test_key_layout_and_server_side_expiry(prefix: str, stores: list[RedisTokenStore]) -> None:
    store, key = _factory(prefix, stores)(), f"layout:{uuid.uuid4().hex}"
    assert store.acquire_lock(key, "a", 30.0)
    assert store.set_token_data(key, make_token(3), expected_version=None)
    raw = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert raw.get(f"{prefix}:lock:{key}") == "a"
        assert 0 < raw.pttl(f"{prefix}:lock:{key}") <= 30_000  # Redis expires it, not us
        stored = raw.hgetall(f"{prefix}:token:{key}")
        assert stored["version"] == "3"
        assert '"version":3' in stored["data"]
    finally:
        raw.close()


def test_client_with_decoded_responses_works(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    store, key = RedisTokenStore(client, prefix=prefix), f"decoded:{uuid.uuid4().hex}"
    try:
        assert store.set_token_data(key, make_token(1), expected_version=None)
        assert store.get_token_data(key) == make_token(1)
        lease = store.try_acquire_lease(key, "a", 30.0)
        assert lease is not None
        assert store.write_checkpoint(key, 9, lease_name=key, epoch=lease.epoch)
        assert store.read_checkpoint(key) == 9
        store.close()  # not the store's client: it stays open
        assert client.ping()
    finally:
        client.close()


async def test_sync_client_serves_async_calls_in_a_thread(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    store, key = RedisTokenStore(client, prefix=prefix), f"thread:{uuid.uuid4().hex}"
    try:
        assert await store.aset_token_data(key, make_token(1), expected_version=None)
        assert await store.aget_token_data(key) == make_token(1)
        assert await store.aacquire_lock(key, "a", 30.0)
        assert not store.acquire_lock(key, "b", 30.0)
    finally:
        client.close()


async def test_async_client_refuses_sync_calls(prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    store, key = RedisTokenStore(client, prefix=prefix), f"async:{uuid.uuid4().hex}"
    try:
        assert await store.aacquire_lock(key, "a", 30.0)
        with pytest.raises(TokenStoreError, match="asyncio client"):
            store.acquire_lock(key, "b", 30.0)
    finally:
        await client.aclose()


def test_asyncio_client_stays_on_its_event_loop(prefix: str) -> None:
    store, key = RedisTokenStore(REDIS_URL, prefix=prefix), f"loops:{uuid.uuid4().hex}"
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(store.aacquire_lock(key, "a", 30.0))
        with pytest.raises(TokenStoreError, match="another event loop"):
            asyncio.run(store.aacquire_lock(key, "b", 30.0))
        loop.run_until_complete(store.aclose())
        assert not asyncio.run(_acquire_and_close(store, key))  # a fresh client, same lock
    finally:
        loop.close()


async def _acquire_and_close(store: RedisTokenStore, key: str) -> bool:
    try:
        return await store.aacquire_lock(key, "c", 30.0)
    finally:
        await store.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_server_raises_without_secrets() -> None:
    url = f"redis://operator:s3cret-pw@127.0.0.1:{_closed_port()}/0"
    store = RedisTokenStore(url, operation_timeout_s=2.0)
    assert "s3cret-pw" not in repr(store)
    for call in (
        lambda: store.get_token_data("k"),
        lambda: store.set_token_data("k", make_token(1, access="AT-SECRET"), expected_version=None),
    ):
        with pytest.raises(TokenStoreError) as caught:
            call()
        assert "127.0.0.1" in str(caught.value)
        assert "s3cret-pw" not in str(caught.value) and "AT-SECRET" not in str(caught.value)
        assert caught.value.__suppress_context__
    with pytest.raises(TokenStoreError, match="acquire_lock failed"):
        await store.aacquire_lock("k", "a", 1.0)
    await store.aclose()


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        RedisTokenStore(REDIS_URL, prefix="has space")
    for url in ("http://user:pw@host/0", "redis://user:pa/ss@host/0"):
        with pytest.raises(TokenStoreError, match="invalid Redis URL") as caught:
            RedisTokenStore(url)
        assert str(caught.value) == "invalid Redis URL for RedisTokenStore"  # no URL parts
    store = RedisTokenStore(REDIS_URL)
    with pytest.raises(ValueError):
        store.acquire_lock("k", "a", 0)
    store.close()


def test_unreadable_token_raises_without_quoting_it(
    prefix: str, stores: list[RedisTokenStore]
) -> None:
    store, key = _factory(prefix, stores)(), f"corrupt:{uuid.uuid4().hex}"
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        raw.hset(f"{prefix}:token:{key}", mapping={"version": "1", "data": '{"access_token":"AT-'})
        with pytest.raises(TokenStoreError, match="unreadable") as caught:
            store.get_token_data(key)
        assert "AT-" not in str(caught.value) and caught.value.__suppress_context__
    finally:
        raw.close()
