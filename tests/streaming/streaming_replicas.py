"""Child processes for the multi-process tests (started with multiprocessing "spawn").

Each child appends JSON lines to its own log file (flushed per line), never to a shared
queue: a SIGKILLed child can at worst leave a torn last line, which readers skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import time
import traceback
from pathlib import Path
from typing import Any

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import RefreshTokenGrant
from salesforce_typed.core.errors import InvalidGrantError, TokenStoreError


def make_store(kind: str, target: str, prefix: str) -> Any:
    if kind == "redis":
        from salesforce_typed.stores.redis import RedisTokenStore

        return RedisTokenStore(target, prefix=prefix)
    from salesforce_typed.stores.postgres import PostgresTokenStore

    return PostgresTokenStore(target, table_prefix=prefix)


def make_grant(cfg: dict[str, Any]) -> RefreshTokenGrant:
    c = cfg["creds"]
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
        session_timeout_s=cfg.get("session_timeout_s", 7200.0),
    )


class Log:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept for the process

    def write(self, **line: Any) -> None:
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()


def read_logs(folder: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # a torn last line of a killed child
                lines.append(json.loads(raw))
    return lines


# --- replicas: leader election over a shared store -------------------------------------------


def replica_main(cfg: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_replica(cfg))


async def _replica(cfg: dict[str, Any]) -> None:
    from salesforce_typed.streaming import AsyncListener, ChangeDataEvent, LeaderElection

    log = Log(cfg["log"])
    owner = cfg["owner"]
    store = make_store(cfg["store"], cfg["target"], cfg["prefix"])
    auth = SalesforceAuth(make_grant(cfg), store=store, lock_ttl_s=5.0)
    election = LeaderElection(store, name=cfg["lease"], owner=owner, ttl_s=cfg["ttl_s"])
    listener = AsyncListener(
        auth=auth,
        election=election,
        on_error=lambda e: log.write(kind="error", owner=owner, type=type(e).__name__),
    )

    def handled(event: ChangeDataEvent) -> None:
        lease = election.lease
        log.write(
            kind="event",
            owner=owner,
            epoch=lease.epoch if lease else None,
            replay=event.replay_id,
            ids=event.record_ids,
        )

    listener.channel(cfg["channel"], replay=-2, on_create=handled)

    async def leadership() -> None:
        last: int | None = None
        while True:
            epoch = election.lease.epoch if election.lease else None
            subscribed = listener.subscribed
            if epoch != last or subscribed:
                log.write(kind="state", owner=owner, epoch=epoch, subscribed=subscribed)
                last = epoch
            await asyncio.sleep(0.05 if not subscribed else 0.5)

    watcher = asyncio.create_task(leadership())
    try:
        await listener.run()
    finally:
        watcher.cancel()


# --- rotation chaos: many processes, one refresh token ---------------------------------------


class KillingStore:
    """The shared store, plus a self-SIGKILL at the two points of a refresh where a dead
    process leaves the refresh lock held: just after taking it, and just after storing the
    rotated token. Kills are rationed across processes through marker files.

    (A kill between the token endpoint's answer and the store write is not among them: under
    Refresh Token Rotation the new refresh token dies with the process and Salesforce revokes
    the family on the next refresh. No client can survive that; see the report.)"""

    def __init__(self, store: Any, folder: str, max_kills: int, rate: float) -> None:
        self._store = store
        self._folder = folder
        self._max_kills = max_kills
        self._rate = rate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _maybe_die(self, where: str) -> None:
        if random.random() >= self._rate:
            return
        # Even markers for kills after taking the lock, odd ones after storing the token:
        # both kinds happen in every run.
        first = 0 if where == "after-lock" else 1
        for n in range(first, self._max_kills, 2):
            try:
                marker = os.path.join(self._folder, f"kill-{n}")
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.write(fd, where.encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

    async def aacquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        got: bool = await self._store.aacquire_lock(key, owner, ttl_s)
        if got:
            self._maybe_die("after-lock")
        return got

    async def aset_token_data(self, key: str, data: Any, *, expected_version: int | None) -> bool:
        ok: bool = await self._store.aset_token_data(key, data, expected_version=expected_version)
        if ok:
            self._maybe_die("after-store")
        return ok


def rotation_main(cfg: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.ERROR)  # 401s under churn are expected: keep it quiet
    asyncio.run(_rotation(cfg))


async def _rotation(cfg: dict[str, Any]) -> None:
    from salesforce_typed.rest._async.client import AsyncSalesforce
    from salesforce_typed.streaming import AsyncListener

    log = Log(cfg["log"])
    owner = cfg["owner"]
    base = make_store(cfg["store"], cfg["target"], cfg["prefix"])
    store = KillingStore(base, cfg["folder"], cfg["max_kills"], cfg["kill_rate"])
    auth = SalesforceAuth(make_grant(cfg), store=store, lock_ttl_s=cfg["lock_ttl_s"])
    errors: list[str] = []

    def on_error(error: Exception) -> None:
        errors.append(type(error).__name__)
        log.write(kind="error", owner=owner, type=type(error).__name__)

    listener = AsyncListener(auth=auth, on_error=on_error)
    listener.channel(cfg["channel"], replay=-1)
    stop_file = Path(cfg["folder"]) / "stop"
    async with AsyncSalesforce(auth=auth) as sf:
        task = asyncio.create_task(listener.run())
        calls = 0
        try:
            while not stop_file.exists() and not task.done():
                try:
                    await sf.request("GET", "/limits")
                    calls += 1
                except InvalidGrantError:
                    log.write(kind="invalid_grant", owner=owner)
                    return
                except TokenStoreError as exc:
                    log.write(kind="error", owner=owner, type=type(exc).__name__)
                except Exception as exc:  # 401 under churn etc.: counted, not fatal
                    log.write(kind="error", owner=owner, type=type(exc).__name__)
                await asyncio.sleep(cfg["pause_s"])
        finally:
            log.write(kind="done", owner=owner, calls=calls, refreshes=auth.refresh_count)
            await listener.aclose()
            if task.done() and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                kind = "invalid_grant" if isinstance(exc, InvalidGrantError) else "listener_died"
                detail = "".join(traceback.format_exception(exc)[-6:])
                log.write(kind=kind, owner=owner, type=type(exc).__name__, detail=detail)


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll a condition in the parent; the bound turns a hang into a failure."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
