"""One replica process of the durability tests (started with multiprocessing "spawn").

A replica is what a deployment runs: its own `SalesforceAuth(RefreshTokenGrant(...),
store=<Redis or PostgreSQL>, journal=TokenJournal(<its own directory>))` and a sync
`Salesforce` client calling `GET /limits` in a loop until a stop file appears. It knows
nothing of the faults: the parent switches them (fake org, `FaultProxy`, redis-server).

Each replica appends JSON lines to its own log (flushed per line; a SIGKILLed replica leaves
at worst a torn last line, which `read_lines` skips) and its WARNING+ log records to
`<owner>.log`, so a test can check what the flow said (e.g. that it wrote a token back).

The journal directory is the replica's own, never shared: replicas of a real deployment run
on different hosts, and a shared journal would let one replica recover another's rotated
token, which no real deployment can do. A restarted replica gets the directory of the one it
replaces (a pod restarted on the same volume).

`chaos=True` adds self-SIGKILLs at the two points where a dead process leaves the refresh
lock held (right after taking it, right after storing the rotated token), rationed across
processes through marker files.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

from salesforce_typed import Salesforce
from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import RefreshTokenGrant
from salesforce_typed.core.errors import InvalidGrantError
from salesforce_typed.stores.journal import TokenJournal


def open_store(cfg: dict[str, Any]) -> Any:
    """The replica's store: `cfg["target"]` may point at a `FaultProxy` instead of the server."""
    timeout = cfg.get("operation_timeout_s", 5.0)
    if cfg["store"] == "redis":
        from salesforce_typed.stores.redis import RedisTokenStore

        return RedisTokenStore(cfg["target"], prefix=cfg["prefix"], operation_timeout_s=timeout)
    from salesforce_typed.stores.postgres import PostgresTokenStore

    return PostgresTokenStore(
        cfg["target"], table_prefix=cfg["prefix"], operation_timeout_s=timeout
    )


def make_grant(cfg: dict[str, Any]) -> RefreshTokenGrant:
    c = cfg["creds"]
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
        session_timeout_s=cfg.get("session_timeout_s", 3600.0),
    )


def read_lines(folder: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):  # the torn last line of a killed replica
                lines.append(json.loads(raw))
    return lines


class _Log:
    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept for the process

    def write(self, **line: Any) -> None:
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()


class _KillingStore:
    """The real store, plus a rationed self-SIGKILL after taking the refresh lock and after
    storing a token (chaos runs only)."""

    def __init__(self, store: Any, folder: str, max_kills: int, rate: float) -> None:
        self._store, self._folder, self._max_kills, self._rate = store, folder, max_kills, rate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _maybe_die(self, where: str) -> None:
        if random.random() >= self._rate:
            return
        first = 0 if where == "after-lock" else 1  # both kinds happen in every run
        for n in range(first, self._max_kills, 2):
            try:
                fd = os.open(
                    os.path.join(self._folder, f"kill-{n}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY
                )
            except FileExistsError:
                continue
            os.write(fd, where.encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)

    def acquire_lock(self, key: str, owner: str, ttl_s: float) -> bool:
        got: bool = self._store.acquire_lock(key, owner, ttl_s)
        if got:
            self._maybe_die("after-lock")
        return got

    def set_token_data(self, key: str, data: Any, *, expected_version: int | None) -> bool:
        ok: bool = self._store.set_token_data(key, data, expected_version=expected_version)
        if ok:
            self._maybe_die("after-store")
        return ok


def replica_main(cfg: dict[str, Any]) -> None:
    folder = Path(cfg["folder"])
    owner = cfg["owner"]
    handler = logging.FileHandler(folder / f"{owner}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.basicConfig(level=cfg.get("log_level", logging.WARNING), handlers=[handler])
    log = _Log(str(folder / f"{owner}.jsonl"))
    store = open_store(cfg)
    if cfg.get("chaos"):
        store = _KillingStore(store, str(folder), cfg["max_kills"], cfg["kill_rate"])
    auth = SalesforceAuth(
        make_grant(cfg),
        store=store,
        journal=TokenJournal(cfg["journal"]),
        lock_ttl_s=cfg.get("lock_ttl_s", 10.0),
        store_write_deadline_s=cfg.get("store_write_deadline_s", 20.0),
    )
    log.write(kind="start", owner=owner, pid=os.getpid())
    stop, pause = folder / "stop", folder / f"pause-{owner}"
    paused = False
    with Salesforce(auth=auth) as sf:
        while not stop.exists():
            if pause.exists():
                if not paused:
                    log.write(kind="paused", owner=owner, t=time.time())
                    paused = True
                time.sleep(0.02)
                continue
            paused = False
            started = time.time()
            try:
                sf.request("GET", "/limits")
                kind, error = "ok", ""
            except InvalidGrantError:
                kind, error = "invalid_grant", "InvalidGrantError"
            except Exception as exc:  # store faults surface here; counted, not fatal
                kind, error = "error", type(exc).__name__
            log.write(
                kind=kind,
                owner=owner,
                t=started,
                dur=round(time.time() - started, 3),
                type=error,
                refreshes=auth.refresh_count,
            )
            time.sleep(cfg.get("pause_s", 0.05))
    log.write(kind="done", owner=owner, refreshes=auth.refresh_count)
    store.close()
