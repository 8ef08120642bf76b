"""Replicas in real processes on real Redis and PostgreSQL, against the fake org.

- Three replicas elect one leader; the leader is SIGKILLed mid-stream; a standby takes over
  from the checkpoint and every record created through REST is seen at least once.
- Rotation chaos: eight processes share one refresh token under a very short session timeout;
  processes SIGKILL themselves in the middle of refreshes. No `invalid_grant`, and exactly
  one token call per rotation (the store's version counts rotations).

Sizes come from environment variables (defaults keep CI quick; raise them for manual runs):
SFT_REPLICA_RECORDS (60), SFT_ROTATIONS (200), SFT_ROTATION_PROCESSES (8), SFT_ROTATION_KILLS (4),
SFT_ROTATION_STORES (redis; "redis,postgres" for both).
Every child is bounded in time and killed at the end; stores get fresh prefixes and are
cleaned up afterwards.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from streaming_replicas import (
    make_grant,
    make_store,
    read_logs,
    replica_main,
    rotation_main,
    wait_for,
)

import salesforce_typed_std as std
from salesforce_typed import MemoryTokenStore, Salesforce
from salesforce_typed.testing import streaming
from salesforce_typed.testing.oauth import token_calls
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.server import FakeOrg

REDIS_URL = os.environ.get("SALESFORCE_TYPED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_CANDIDATES = (
    os.environ.get("SALESFORCE_TYPED_TEST_POSTGRES_DSN") or "",
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
ACCOUNTS = "/data/AccountChangeEvent"
RECORDS = int(os.environ.get("SFT_REPLICA_RECORDS", "60"))
ROTATIONS = int(os.environ.get("SFT_ROTATIONS", "200"))
PROCESSES = int(os.environ.get("SFT_ROTATION_PROCESSES", "8"))
KILLS = int(os.environ.get("SFT_ROTATION_KILLS", "4"))
# Redis by default (CI time); SFT_ROTATION_STORES=redis,postgres runs both.
ROTATION_STORES = os.environ.get("SFT_ROTATION_STORES", "redis").split(",")
SPAWN = multiprocessing.get_context("spawn")


def _postgres_dsn() -> str:
    for dsn in filter(None, POSTGRES_CANDIDATES):
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return dsn
        except psycopg.Error:
            continue
    pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (make services)", pytrace=False)


@pytest.fixture(params=["redis", "postgres"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    """(kind, target, prefix) of a fresh namespace on a real server; removed afterwards."""
    kind = request.param
    if kind == "redis":
        prefix = f"sft-stream-{uuid.uuid4().hex[:10]}"
        yield kind, REDIS_URL, prefix
        _drop_namespace(kind, REDIS_URL, prefix)
    else:
        dsn = _postgres_dsn()
        prefix = f"sft_stream_{uuid.uuid4().hex[:10]}"
        yield kind, dsn, prefix
        _drop_namespace(kind, dsn, prefix)


class Children:
    """Spawned processes, all killed and reaped at the end whatever happened."""

    def __init__(self) -> None:
        self.procs: list[Any] = []

    def start(self, target: Any, cfg: dict[str, Any]) -> Any:
        proc = SPAWN.Process(target=target, args=(cfg,), daemon=True)
        proc.start()
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
        for proc in self.procs:
            proc.join(10)


@pytest.fixture
def children() -> Iterator[Children]:
    made = Children()
    yield made
    made.close()


def _creds(org: FakeOrg) -> dict[str, str]:
    return {k: v for k, v in org.credentials().items() if k != "ca_file"}


def test_leader_killed_standby_resumes_from_the_checkpoint(
    shared_store: tuple[str, str, str], children: Children, tmp_path: Path
) -> None:
    kind, target, prefix = shared_store
    with FakeOrg() as org:
        streaming.configure(org.state, timeout_ms=1000)
        base = {
            "creds": _creds(org),
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
            procs[owner] = children.start(replica_main, cfg)

        def subscribed() -> list[dict[str, Any]]:
            return [x for x in read_logs(tmp_path) if x["kind"] == "state" and x["subscribed"]]

        wait_for(lambda: subscribed(), 60, "a leader to subscribe")
        first_leader = subscribed()[0]["owner"]
        # Standbys open no CometD session: one client in the org.
        assert streaming.stats(org.state)["clientCount"] == 1

        made: list[str] = []
        done = threading.Event()

        # The writer is another authorization (its own token family): sharing the replicas'
        # refresh token without sharing their store would be exactly the RTR mistake.
        writer_creds = {**base["creds"], "refresh_token": org.new_refresh_token()}

        def write() -> None:  # REST writes keep coming while the leader dies
            grant = make_grant({"creds": writer_creds})
            with Salesforce(auth=grant, token_store=MemoryTokenStore()) as sf:
                for i in range(RECORDS):
                    made.append(sf.create(std.Account(Name=f"acct-{i}")).id)
                    done.wait(0.02)
            done.set()

        writer = threading.Thread(target=write, daemon=True)
        writer.start()

        def events() -> list[dict[str, Any]]:
            return [x for x in read_logs(tmp_path) if x["kind"] == "event"]

        wait_for(lambda: len(events()) >= RECORDS // 3, 60, "the leader to handle events")
        os.kill(procs[first_leader].pid, signal.SIGKILL)
        procs[first_leader].join(10)
        writer.join(120)
        assert not writer.is_alive()

        def all_seen() -> bool:
            seen = {i for x in events() for i in x["ids"]}
            return set(made) <= seen

        wait_for(all_seen, 90, "every record id after the takeover")
        lines = events()
        by_owner = {x["owner"] for x in lines}
        assert first_leader in by_owner and len(by_owner) >= 2  # someone took over
        epochs = {x["owner"]: x["epoch"] for x in lines}
        successor = next(o for o in by_owner if o != first_leader)
        assert epochs[successor] > epochs[first_leader]
        errors = [x for x in read_logs(tmp_path) if x["kind"] == "error"]
        assert not [e for e in errors if e["type"] in ("InvalidGrantError", "TokenStoreError")]


@pytest.mark.parametrize("store_kind", ROTATION_STORES)
def test_rotation_chaos_no_invalid_grant_one_call_per_rotation(
    store_kind: str, children: Children, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    prefix = f"sft_rot_{uuid.uuid4().hex[:10]}"
    target = REDIS_URL if store_kind == "redis" else _postgres_dsn()
    config = OrgConfig(session_timeout=0.3, daily_api_limit=50_000_000)
    try:
        with FakeOrg(config=config) as org:
            streaming.configure(org.state, timeout_ms=300)
            base = {
                "creds": _creds(org),
                "store": store_kind,
                "target": target,
                "prefix": prefix,
                "channel": ACCOUNTS,
                "session_timeout_s": 0.3,
                "lock_ttl_s": 2.0,
                "pause_s": 0.05,
                "folder": str(tmp_path),
                "max_kills": KILLS,
                "kill_rate": 0.05,
            }
            store = make_store(store_kind, target, prefix)
            request.addfinalizer(store.close)
            key = make_grant(base).store_key()

            def version() -> int:
                token = store.get_token_data(key)
                return token.version if token is not None else 0

            spawned = 0

            def spawn() -> None:
                nonlocal spawned
                owner = f"worker-{spawned}"
                spawned += 1
                cfg = {**base, "owner": owner, "log": str(tmp_path / f"{owner}.jsonl")}
                children.start(rotation_main, cfg)

            for _ in range(PROCESSES):
                spawn()

            def progressed() -> bool:
                for proc in children.procs:  # replace the processes that killed themselves
                    if proc.exitcode == -signal.SIGKILL and not getattr(proc, "replaced", False):
                        proc.replaced = True
                        spawn()
                invalid = [x for x in read_logs(tmp_path) if x["kind"] == "invalid_grant"]
                assert not invalid, invalid
                return version() >= ROTATIONS

            wait_for(progressed, 240, f"{ROTATIONS} rotations")
            (tmp_path / "stop").touch()
            for proc in children.procs:
                proc.join(30)
            lines = read_logs(tmp_path)
            kills = sorted(p.name for p in tmp_path.glob("kill-*"))
            assert not [x for x in lines if x["kind"] in ("invalid_grant", "listener_died")]
            calls = token_calls(org.state).get("refresh_token", 0)
            final = version()
            # One token call per rotation: every call produced exactly one stored version.
            assert calls == final, (calls, final, kills)
            assert final >= ROTATIONS
            done = [x for x in lines if x["kind"] == "done"]
            assert len(done) >= PROCESSES - len(kills)
            print(f"rotations={final} token_calls={calls} kills={len(kills)} spawned={spawned}")
    finally:
        _drop_namespace(store_kind, target, prefix)


def _drop_namespace(kind: str, target: str, prefix: str) -> None:
    if kind == "redis":
        client = redis.Redis.from_url(target, socket_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    from salesforce_typed.stores.postgres import PostgresTokenStore

    tables = PostgresTokenStore(target, table_prefix=prefix).table_names
    with psycopg.connect(target, autocommit=True) as conn:
        for table in tables:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
