"""Two CDC listener replicas sharing Redis: one leads, the leader is killed, the other takes over.

    python examples/cdc_listener_redis.py          # REDIS_URL=redis://127.0.0.1:6379/0

Both replicas share one refresh token and one Redis: the token store single-flights token
refreshes across processes (Refresh Token Rotation would revoke a family refreshed twice),
and a lease with an epoch elects the one replica that opens a CometD session. The leader
checkpoints each handled batch, fenced by its epoch; when it is SIGKILLed, its lease lapses
and the standby resumes from the last checkpoint. Exits 0 when every Account created
through REST was handled by one replica or the other.
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

import redis

import salesforce_typed_std as std
from salesforce_typed import MemoryTokenStore, RefreshTokenGrant, Salesforce, SalesforceAuth
from salesforce_typed.stores.redis import RedisTokenStore
from salesforce_typed.streaming import EARLIEST, AsyncListener, ChangeDataEvent, LeaderElection
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL = "/data/AccountChangeEvent"
LEASE_TTL_S = 2.0


def replica(name: str, creds: dict[str, str], prefix: str, out: Any) -> None:
    """One replica: a listener that consumes only while it holds the lease."""

    async def main() -> None:
        store = RedisTokenStore(REDIS_URL, prefix=prefix)  # tokens, lock, lease, checkpoints
        grant = RefreshTokenGrant(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"],
            token_url=creds["token_url"],
        )
        election = LeaderElection(store, name="accounts", owner=name, ttl_s=LEASE_TTL_S)
        listener = AsyncListener(auth=SalesforceAuth(grant, store=store), election=election)

        @listener.channel(CHANNEL, replay=EARLIEST).on_create
        def created(event: ChangeDataEvent) -> None:
            out.send(("event", name, event.record_ids[0], election.lease.epoch))  # type: ignore[union-attr]

        async def report_leadership() -> None:
            while not listener.subscribed:
                await asyncio.sleep(0.05)
            out.send(("leader", name, None, election.lease.epoch))  # type: ignore[union-attr]

        watcher = asyncio.create_task(report_leadership())
        try:
            await listener.run()
        finally:
            watcher.cancel()

    asyncio.run(main())


def wait(pipes: list[Any], want: str, deadline: float) -> tuple[str, str, str | None, int]:
    """The next message of kind `want` from any replica (events seen meanwhile are kept).

    One pipe per replica, not a shared queue: a SIGKILLed writer could die holding a shared
    queue's lock and block every other writer."""
    while time.monotonic() < deadline:
        for ready in connection.wait(pipes, timeout=0.1):
            conn: connection.Connection = ready  # type: ignore[assignment]
            try:
                item: tuple[str, str, str | None, int] = conn.recv()
            except EOFError:  # that replica is gone
                pipes.remove(conn)
                continue
            if item[0] == want:
                return item
            if item[0] == "event":
                handled.append(item)
    raise SystemExit(f"timed out waiting for {want}")


handled: list[tuple[str, str, str | None, int]] = []


def stop(procs: dict[str, Any]) -> None:
    for proc in procs.values():
        if proc.is_alive():
            proc.kill()
        proc.join(10)


def main() -> int:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis is not reachable at {REDIS_URL}: {type(exc).__name__}", file=sys.stderr)
        return 2
    prefix = f"example-{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    pipes: list[Any] = []
    procs: dict[str, Any] = {}
    try:
        with FakeOrg() as org:
            streaming.configure(org.state, timeout_ms=1000)
            creds = {k: v for k, v in org.credentials().items() if k != "ca_file"}
            for name in ("replica-a", "replica-b"):
                reader, writer_end = ctx.Pipe(duplex=False)
                procs[name] = ctx.Process(target=replica, args=(name, creds, prefix, writer_end))
                procs[name].start()
                writer_end.close()  # the parent only reads
                pipes.append(reader)
            deadline = time.monotonic() + 60
            _, leader, _, epoch = wait(pipes, "leader", deadline)
            print(f"{leader} leads (epoch {epoch}); the other replica stands by")

            # The writer is a separate authorization: it must not share the replicas' token.
            writer = RefreshTokenGrant(
                client_id=creds["client_id"],
                client_secret=creds["client_secret"],
                refresh_token=org.new_refresh_token(),
                token_url=creds["token_url"],
            )
            made: list[str] = []
            with Salesforce(auth=writer, token_store=MemoryTokenStore()) as sf:
                made += [sf.create(std.Account(Name=f"before-{i}")).id for i in range(5)]
                while len({h[2] for h in handled} & set(made)) < 5:
                    handled.append(wait(pipes, "event", deadline))
                print(f"{leader} handled {len(made)} creates; killing it (SIGKILL)")
                os.kill(procs[leader].pid, signal.SIGKILL)
                procs[leader].join(10)
                made += [sf.create(std.Account(Name=f"after-{i}")).id for i in range(5)]
            while not set(made) <= {h[2] for h in handled}:
                handled.append(wait(pipes, "event", deadline))
            takers = {(h[1], h[3]) for h in handled if h[2] in made[5:]}
            for name, term in sorted(takers):
                print(f"{name} took over (epoch {term}) and handled the rest from the checkpoint")
            ok = all(name != leader for name, _ in takers)
            print("every record handled" if ok else "unexpected: the dead leader handled events")
            stop(procs)  # before the org goes away, so the survivor does not see it vanish
            return 0 if ok else 1
    finally:
        stop(procs)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    sys.exit(main())
