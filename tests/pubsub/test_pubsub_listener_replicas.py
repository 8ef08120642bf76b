"""Replicas of a Pub/Sub listener under one `LeaderElection`: only the leader subscribes, its
checkpoints are the opaque replay id bytes, fenced by epoch, and a standby that takes over
resumes after the last one (in memory, and on the real Redis and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest
import redis

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce, PasswordGrant, Salesforce
from salesforce_typed.stores.base import LeaseStore
from salesforce_typed.stores.memory_lease import MemoryLeaseStore
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore
from salesforce_typed.streaming import (
    EARLIEST,
    AsyncListener,
    Backoff,
    ChangeDataEvent,
    LeaderElection,
    Listener,
)
from salesforce_typed.testing.server import FakeOrg

ACCOUNTS = "/data/AccountChangeEvent"
KEY = "pubsub:" + ACCOUNTS
REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get(
    "SALESFORCE_TYPED_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
FAST = Backoff(base=0.01, cap=0.05, jitter=lambda c: 0.0)


@pytest.fixture(params=["memory", "redis", "postgres"])
async def lease_store(request: pytest.FixtureRequest) -> AsyncIterator[LeaseStore]:
    if request.param == "memory":
        yield MemoryLeaseStore()
        return
    if request.param == "postgres":
        tables = f"sft_psl_{uuid.uuid4().hex[:12]}"
        pg = PostgresTokenStore(POSTGRES_DSN, table_prefix=tables)
        try:
            yield pg
        finally:
            await pg.aclose()
            with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
                for table in pg.table_names:
                    conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        return
    prefix = f"test-pubsub-listener-{uuid.uuid4().hex[:12]}"
    store = RedisTokenStore(REDIS_URL, prefix=prefix)
    try:
        yield store
    finally:
        await store.aclose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


async def until(predicate: Callable[[], object], task: asyncio.Task[Any]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            if task.done():
                task.result()
                raise AssertionError("the listener ended early")
            await asyncio.sleep(0.01)


def _ids(events: list[ChangeDataEvent]) -> list[str]:
    return [i for e in events for i in e.record_ids]


async def test_only_the_leader_subscribes_and_a_standby_resumes_from_its_checkpoint(
    org: FakeOrg, sf: AsyncSalesforce, lease_store: LeaseStore
) -> None:
    lease = f"pubsub-accounts-{uuid.uuid4().hex[:8]}"
    got: dict[str, list[ChangeDataEvent]] = {"a": [], "b": []}

    def replica(owner: str) -> AsyncListener:
        election = LeaderElection(lease_store, name=lease, owner=owner, ttl_s=2, poll_every_s=0.05)
        listener = sf.listener(
            api="pubsub", pubsub_target=org.pubsub_url, election=election, backoff=FAST
        )
        listener.channel(ACCOUNTS, replay=EARLIEST, on_create=got[owner].append)
        return listener

    a, b = replica("a"), replica("b")
    task_a = asyncio.create_task(a.run())
    await until(lambda: a.subscribed, task_a)
    task_b = asyncio.create_task(b.run())
    first = [(await sf.create(std.Account(Name=f"first-{i}"))).id for i in range(3)]
    await until(lambda: len(got["a"]) == 3, task_a)
    last = got["a"][-1].replay_id
    assert last is not None
    await until(lambda: lease_store.read_checkpoint(KEY) == last.to_bytes(8, "big"), task_a)
    assert b.session is None and b.election is not None and not b.election.is_leader
    assert _ids(got["a"]) == first and got["b"] == []

    await a.aclose()  # the leader goes away: its lease is released
    await task_a
    second = [(await sf.create(std.Account(Name=f"second-{i}"))).id for i in range(2)]
    await until(lambda: len(got["b"]) == 2, task_b)
    await asyncio.sleep(0.2)  # room for a repeat that should not come
    await b.aclose()
    await task_b
    assert _ids(got["b"]) == second  # nothing lost, nothing handled twice
    assert isinstance(lease_store.read_checkpoint(KEY), bytes)
    assert b.election is not None and b.election.terms == 1


def test_blocking_listener_over_pubsub(org: FakeOrg) -> None:
    creds = org.credentials()
    grant = PasswordGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        username=creds["username"],
        password=creds["password"],
        security_token=creds["security_token"],
        token_url=creds["token_url"],
    )
    with Salesforce(auth=grant, verify=creds["ca_file"]) as sf:
        made = [sf.create(std.Account(Name=f"sync-{i}")).id for i in range(2)]
        got: list[ChangeDataEvent] = []

        def handle(event: ChangeDataEvent) -> None:
            got.append(event)
            if len(got) == 2:
                listener.stop()  # from a handler: after its checkpoint

        with sf.listener(api="pubsub", pubsub_target=org.pubsub_url) as listener:
            assert isinstance(listener, Listener)
            listener.channel(ACCOUNTS, replay=EARLIEST, on_create=handle)
            listener.start()
            assert listener.wait(30)
        assert _ids(got) == made and listener.delivered == 2
