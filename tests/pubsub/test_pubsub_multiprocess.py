"""Pub/Sub listener replicas as real processes on real Redis and PostgreSQL, against the fake
org's gRPC Pub/Sub API over TLS: three replicas elect one leader, the leader is SIGKILLed
mid-stream, a standby takes over from the checkpoint (opaque replay id bytes) and nothing
is lost. Repeats are only events the dead leader handled after its last checkpoint: at most
one batch (`num_requested`, 100), each of them above the checkpoint.

SFT_PUBSUB_REPLICA_EVENTS sets the size (default 3,000). Events are published with the
fake org's own hook while the leader dies. Children are bounded in time and killed at the
end; each store gets a fresh prefix and is cleaned up afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from pubsub_replicas import read_logs, replica_main, wait_for

from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore
from salesforce_typed.testing import streaming
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.server import FakeOrg

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get(
    "SALESFORCE_TYPED_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
ACCOUNTS = "/data/AccountChangeEvent"
KEY = "pubsub:" + ACCOUNTS  # where the listener checkpoints a channel read over Pub/Sub
EVENTS = int(os.environ.get("SFT_PUBSUB_REPLICA_EVENTS", "3000"))
BATCH = 100  # num_requested: what a leader may handle after its last checkpoint
SPAWN = multiprocessing.get_context("spawn")


def _event(n: int) -> dict[str, object]:
    header = {
        "entityName": "Account",
        "changeType": "UPDATE",
        "recordIds": [f"001R{n:014d}"],
        "changedFields": ["Rating"],
    }
    return {"ChangeEventHeader": header, "Rating": "Warm"}


@pytest.fixture(params=["redis", "postgres"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str, Any]]:
    """(kind, target, prefix, a store on it for the parent); the namespace is dropped after."""
    kind = request.param
    if kind == "redis":
        prefix = f"sft-psmp-{uuid.uuid4().hex[:10]}"
        store: Any = RedisTokenStore(REDIS_URL, prefix=prefix)
        yield kind, REDIS_URL, prefix, store
        store.close()
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    prefix = f"sft_psmp_{uuid.uuid4().hex[:10]}"
    store = PostgresTokenStore(POSTGRES_DSN, table_prefix=prefix)
    yield kind, POSTGRES_DSN, prefix, store
    store.close()
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        for table in store.table_names:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture
def children() -> Iterator[list[Any]]:
    """Spawned processes, all killed and reaped at the end whatever happened."""
    procs: list[Any] = []
    yield procs
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    for proc in procs:
        proc.join(10)


def test_leader_sigkilled_standby_resumes_from_the_checkpoint_nothing_lost(
    shared_store: tuple[str, str, str, Any], children: list[Any], tmp_path: Path
) -> None:
    kind, target, prefix, store = shared_store
    config = OrgConfig(daily_api_limit=50_000_000)
    with FakeOrg(tls=True, pubsub=True, config=config) as org:
        streaming.enable(org.state)
        creds = org.credentials()
        base = {
            "creds": creds,
            "store": kind,
            "target": target,
            "prefix": prefix,
            "lease": f"{prefix}:accounts",
            "channel": ACCOUNTS,
            "ttl_s": 2.0,
        }
        procs: dict[str, Any] = {}
        for n in range(3):
            owner = f"replica-{n}"
            cfg = {**base, "owner": owner, "log": str(tmp_path / f"{owner}.jsonl")}
            proc = SPAWN.Process(target=replica_main, args=(cfg,), daemon=True)
            proc.start()
            children.append(proc)
            procs[owner] = proc

        def lines(kind: str) -> list[dict[str, Any]]:
            return [x for x in read_logs(tmp_path) if x["kind"] == kind]

        wait_for(lambda: [x for x in lines("state") if x["subscribed"]], 90, "a leader")
        first = next(x for x in lines("state") if x["subscribed"])["owner"]

        published: list[int] = []
        done = threading.Event()

        def publish() -> None:  # events keep coming while the leader dies
            chunk = max(EVENTS // 30, 1)
            for start in range(0, EVENTS, chunk):
                for n in range(start, min(start + chunk, EVENTS)):
                    published.append(streaming.publish_raw(org.state, ACCOUNTS, _event(n)))
                done.wait(0.05)
            done.set()

        writer = threading.Thread(target=publish, daemon=True)
        writer.start()
        wait_for(lambda: len(lines("event")) >= EVENTS // 3, 90, "the leader to handle events")
        os.kill(procs[first].pid, signal.SIGKILL)
        procs[first].join(10)
        time.sleep(0.1)  # a checkpoint write already on the wire lands
        at_kill = store.read_checkpoint(KEY)
        writer.join(120)
        assert not writer.is_alive()

        def all_seen() -> bool:
            return set(published) <= {x["replay"] for x in lines("event")}

        wait_for(all_seen, 120, "every event after the takeover")
        time.sleep(0.3)  # a repeat still in flight would show up now
        final = store.read_checkpoint(KEY)
        events = lines("event")
        errors = lines("error")
        for proc in children:  # before the org stops: no connection is left to it
            proc.kill()
            proc.join(10)
    assert isinstance(at_kill, bytes) and len(at_kill) == 8
    checkpoint = int.from_bytes(at_kill, "big")
    by_owner: dict[str, list[int]] = {}
    for x in events:
        by_owner.setdefault(x["owner"], []).append(x["replay"])
    successors = [o for o in by_owner if o != first]
    assert len(successors) == 1, by_owner.keys()
    successor = successors[0]
    epochs = {x["owner"]: x["epoch"] for x in events}
    assert epochs[successor] > epochs[first]
    # the standby resumed right after the dead leader's checkpoint
    assert min(by_owner[successor]) == min(r for r in published if r > checkpoint)
    repeats = set(by_owner[first]) & set(by_owner[successor])
    assert all(r > checkpoint for r in repeats)
    assert len(repeats) <= BATCH
    assert len(by_owner[successor]) == len(set(by_owner[successor]))  # none twice in one
    assert {x["replay"] for x in events} == set(published)  # nothing lost
    assert final == published[-1].to_bytes(8, "big")
    assert not [e for e in errors if e["type"] in ("InvalidGrantError", "TokenStoreError")]
    print(
        f"{kind}: events={len(published)} leader={len(by_owner[first])}"
        f" standby={len(by_owner[successor])} repeats={len(repeats)}"
        f" checkpoint at kill={checkpoint} errors={len(errors)}"
    )
