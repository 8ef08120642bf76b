"""Child processes of test_pubsub_multiprocess.py (started with multiprocessing "spawn"):
replicas of a Pub/Sub listener (`api="pubsub"`) under one `LeaderElection` on a shared store.

The log helpers are the CometD replicas' (tests/streaming/streaming_replicas.py): each child
appends JSON lines to its own file, flushed per line, so a SIGKILLed child leaves at worst a
torn last line, which readers skip.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "streaming"))

from streaming_replicas import (  # type: ignore[import-not-found,unused-ignore]
    Log,
    make_grant,
    make_store,
    read_logs,
    wait_for,
)

from salesforce_typed.auth.flow import SalesforceAuth

__all__ = ["read_logs", "replica_main", "wait_for"]


def replica_main(cfg: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_replica(cfg))


async def _replica(cfg: dict[str, Any]) -> None:
    from salesforce_typed.streaming import (
        EARLIEST,
        AsyncListener,
        Backoff,
        ChangeDataEvent,
        LeaderElection,
    )

    log = Log(cfg["log"])
    owner = cfg["owner"]
    store = make_store(cfg["store"], cfg["target"], cfg["prefix"])
    auth = SalesforceAuth(make_grant(cfg), store=store, lock_ttl_s=5.0)
    election = LeaderElection(
        store, name=cfg["lease"], owner=owner, ttl_s=cfg["ttl_s"], poll_every_s=0.1
    )
    listener = AsyncListener(
        auth=auth,
        verify=cfg["creds"]["ca_file"],
        api="pubsub",
        pubsub_target=cfg["creds"]["pubsub_url"],
        election=election,
        backoff=Backoff(base=0.05, cap=0.5),
        on_error=lambda e: log.write(kind="error", owner=owner, type=type(e).__name__),
    )

    def handled(event: ChangeDataEvent) -> None:
        lease = election.lease
        epoch = lease.epoch if lease else None
        log.write(kind="event", owner=owner, epoch=epoch, replay=event.replay_id)

    listener.channel(cfg["channel"], replay=EARLIEST, on_update=handled)

    async def leadership() -> None:
        last: tuple[int | None, bool] | None = None
        while True:
            state = (election.lease.epoch if election.lease else None, listener.subscribed)
            if state != last:
                log.write(kind="state", owner=owner, epoch=state[0], subscribed=state[1])
                last = state
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(leadership())
    try:
        await listener.run()
    finally:
        watcher.cancel()
