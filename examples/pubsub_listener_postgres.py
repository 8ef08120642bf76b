"""Two Pub/Sub listener processes sharing PostgreSQL: one leads, it is killed, the other takes
over from the fenced bytes checkpoint.

    python examples/pubsub_listener_postgres.py     # PG_DSN=postgresql://127.0.0.1:5432/test

Both replicas share one refresh token and one PostgreSQL database (`PostgresTokenStore`,
tables under a fresh `table_prefix`): the token store single-flights refreshes across
processes (Refresh Token Rotation would revoke a family refreshed twice), and a lease with
an epoch elects the one replica that opens a gRPC stream (`api="pubsub"`). The leader
writes the opaque Pub/Sub replay id after each handled batch, fenced by its epoch. After 5
creates it is SIGKILLed; its lease lapses, the standby resumes after the last checkpoint
and handles the next 5. Exits 0 when every Account created through REST was handled, each
once; the tables are dropped at the end.

Fake org only (it serves Pub/Sub over TLS with its CA); against a real org the replica code
is the same, with your connected app's grant and `pubsub_target` left at its default.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import time
import uuid
from multiprocessing import connection
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

import salesforce_typed_std as std
from salesforce_typed import MemoryTokenStore, RefreshTokenGrant, Salesforce, SalesforceAuth
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.streaming import EARLIEST, AsyncListener, ChangeDataEvent, LeaderElection
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

PG_DSN = os.environ.get("PG_DSN", "postgresql://127.0.0.1:5432/test")
CHANNEL = "/data/AccountChangeEvent"
KEY = "pubsub:" + CHANNEL  # where a Pub/Sub checkpoint of CHANNEL is kept
LEASE_TTL_S = 2.0
EACH = 5  # creates before the kill, and after it

Report = tuple[str, str, str | None, int, int | None]  # kind, replica, record id, epoch, replay


def _grant(creds: dict[str, str], refresh_token: str | None = None) -> RefreshTokenGrant:
    return RefreshTokenGrant(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=refresh_token or creds["refresh_token"],
        token_url=creds["token_url"],
    )


def replica(name: str, creds: dict[str, str], target: str, prefix: str, out: Any) -> None:
    """One replica: a Pub/Sub listener that consumes only while it holds the lease."""

    async def main() -> None:
        # Tokens, the refresh lock, the lease and the checkpoints, in PostgreSQL.
        store = PostgresTokenStore(PG_DSN, table_prefix=prefix)
        election = LeaderElection(store, name="accounts", owner=name, ttl_s=LEASE_TTL_S)
        listener = AsyncListener(
            auth=SalesforceAuth(_grant(creds), store=store),
            verify=creds["ca_file"],  # the fake org's CA, for REST and gRPC alike
            election=election,
            api="pubsub",
            pubsub_target=target,
        )

        def epoch() -> int:
            return election.lease.epoch if election.lease is not None else 0

        @listener.channel(CHANNEL, replay=EARLIEST).on_create
        def created(event: ChangeDataEvent) -> None:
            out.send(("event", name, event.record_ids[0], epoch(), event.replay_id))

        consuming = asyncio.create_task(listener.run())
        while not listener.subscribed:  # a standby waits here until its lease comes
            if consuming.done():
                break
            await asyncio.sleep(0.05)
        else:
            out.send(("leader", name, None, epoch(), None))
        await consuming  # until killed (or a terminal error, raised)

    asyncio.run(main())


class Replicas:
    """The parent's view: one pipe per replica, not a shared queue (a SIGKILLed writer could
    die holding a shared queue's lock and block every other writer)."""

    def __init__(self) -> None:
        self.pipes: list[Any] = []
        self.procs: dict[str, Any] = {}
        self.handled: list[Report] = []

    def start(self, names: tuple[str, ...], args: tuple[Any, ...]) -> None:
        ctx = multiprocessing.get_context("spawn")
        for name in names:
            reader, writer_end = ctx.Pipe(duplex=False)
            self.procs[name] = ctx.Process(target=replica, args=(name, *args, writer_end))
            self.procs[name].start()
            writer_end.close()  # the parent only reads
            self.pipes.append(reader)

    def wait(self, want: str, deadline: float) -> Report:
        """The next report of kind `want` (events seen meanwhile are kept)."""
        while time.monotonic() < deadline:
            for ready in connection.wait(self.pipes, timeout=0.1):
                conn: connection.Connection = ready  # type: ignore[assignment]
                try:
                    item: Report = conn.recv()
                except EOFError:  # that replica is gone
                    self.pipes.remove(conn)
                    continue
                if item[0] == "event":
                    self.handled.append(item)
                if item[0] == want:
                    return item
        raise SystemExit(f"timed out waiting for {want}")

    def until_handled(self, ids: list[str], deadline: float) -> None:
        while not set(ids) <= {h[2] for h in self.handled}:
            self.wait("event", deadline)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.is_alive():
                proc.kill()
            proc.join(10)


def _where(dsn: str) -> str:
    """Host, port and database of the DSN: never its password."""
    parts = conninfo_to_dict(dsn)
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def _checkpoint_reached(store: PostgresTokenStore, replay_id: int | None, deadline: float) -> bytes:
    """The stored checkpoint once it is the last handled event's (the fake org's replay ids
    are 8 big-endian bytes on the wire)."""
    while time.monotonic() < deadline:
        stored = store.read_checkpoint(KEY)
        if isinstance(stored, bytes) and int.from_bytes(stored, "big") == replay_id:
            return stored
        time.sleep(0.05)
    raise SystemExit("timed out waiting for the leader's checkpoint")


def run(prefix: str) -> int:
    replicas = Replicas()
    try:
        with FakeOrg(tls=True, pubsub=True) as org:
            streaming.enable(org.state)  # the fake org captures changes from now on
            creds = org.credentials()
            replicas.start(("replica-a", "replica-b"), (creds, org.pubsub_url, prefix))
            deadline = time.monotonic() + 60
            _, leader, _, epoch, _ = replicas.wait("leader", deadline)
            print(f"{leader} leads (epoch {epoch}) over Pub/Sub; the other replica stands by")

            # The writer is a separate authorization: it must not share the replicas' token.
            writer = _grant(creds, org.new_refresh_token())
            made: list[str] = []
            parent = PostgresTokenStore(PG_DSN, table_prefix=prefix)
            with Salesforce(
                auth=writer, verify=creds["ca_file"], token_store=MemoryTokenStore()
            ) as sf:
                made += [sf.create(std.Account(Name=f"before-{i}")).id for i in range(EACH)]
                replicas.until_handled(made, deadline)
                last = max((h[4] or 0) for h in replicas.handled)
                stored = _checkpoint_reached(parent, last, deadline)
                print(f"{leader} handled {EACH} creates; checkpoint {KEY} = {stored.hex()}")
                print(f"killing {leader} (SIGKILL)")
                os.kill(replicas.procs[leader].pid, signal.SIGKILL)
                replicas.procs[leader].join(10)
                made += [sf.create(std.Account(Name=f"after-{i}")).id for i in range(EACH)]
            _, successor, _, term, _ = replicas.wait("leader", deadline)
            print(f"{successor} leads (epoch {term}), resuming after {stored.hex()}")
            replicas.until_handled(made, deadline)
            parent.close()
            replicas.stop()  # before the org goes away, so the survivor does not see it vanish
    finally:
        replicas.stop()
    by_leader = [h[2] for h in replicas.handled if h[1] == leader]
    by_successor = [h[2] for h in replicas.handled if h[1] == successor]
    print(f"{successor} handled {len(by_successor)} creates after the takeover")
    every = [h[2] for h in replicas.handled] == made  # each once, in order
    ok = every and by_leader == made[:EACH] and by_successor == made[EACH:] and term > epoch
    print("every record handled, once" if ok else f"unexpected: {replicas.handled}")
    return 0 if ok else 1


def main() -> int:
    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(
            f"PostgreSQL is not reachable at {_where(PG_DSN)}: {type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    prefix = f"example_psl_{uuid.uuid4().hex[:8]}"
    print(f"PostgreSQL at {_where(PG_DSN)}, tables {prefix}_*")
    try:
        return run(prefix)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            for table in PostgresTokenStore(PG_DSN, table_prefix=prefix).table_names:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        print(f"dropped the {prefix}_* tables")


if __name__ == "__main__":
    sys.exit(main())
