"""Multi-process checks for the shared stores: what threads in one process cannot prove.

Each check starts real OS processes (`multiprocessing`, spawn, so nothing is inherited but
what is passed) that build their own store from a `StoreSpec` and contend through the server.
Witnesses live in shared memory, outside the store under test, so a broken store cannot hide
its own mistakes. No check asserts on duration: waits are bounded by generous deadlines that
only turn a hang into a failure.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any, Literal

import attrs

from salesforce_typed.auth.token import TokenData
from salesforce_typed.stores.postgres import PostgresTokenStore
from salesforce_typed.stores.redis import RedisTokenStore

CTX = multiprocessing.get_context("spawn")
JOIN_DEADLINE_S = 300.0  # a hang guard, not a timing assertion
HOLD = 60.0  # lock/lease TTL for holders that must not expire during a check
SHORT = 1.0  # TTL of holders that are meant to lapse


@attrs.frozen
class StoreSpec:
    """How a child process builds its own store (picklable: a kind, a URL/DSN, a prefix)."""

    kind: Literal["redis", "postgres"]
    target: str
    prefix: str

    def open(self) -> RedisTokenStore | PostgresTokenStore:
        if self.kind == "redis":
            return RedisTokenStore(self.target, prefix=self.prefix)
        return PostgresTokenStore(self.target, table_prefix=self.prefix)


def _child(body: Callable[..., None], *args: Any) -> None:
    """Run a worker body; report any failure through the exit code with a traceback."""
    try:
        body(*args)
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)


def _run_processes(target: Callable[..., None], argsets: list[tuple[Any, ...]]) -> None:
    procs = [CTX.Process(target=_child, args=(target, *a)) for a in argsets]
    for p in procs:
        p.start()
    deadline = time.monotonic() + JOIN_DEADLINE_S
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [p for p in procs if p.is_alive()]
    for p in hung:
        p.kill()
        p.join()
    assert not hung, f"{len(hung)} worker process(es) still running after {JOIN_DEADLINE_S}s"
    codes = [p.exitcode for p in procs]
    assert codes == [0] * len(procs), f"worker exit codes {codes} (tracebacks on stderr)"


def _token(version: int, access: str) -> TokenData:
    return TokenData(
        access_token=access,
        refresh_token="rt",
        instance_url="https://acme.my.salesforce.com",
        issued_at=1.0,
        expires_at=2.0,
        last_refreshed_at=1.0,
        version=version,
    )


# --- the lock: 8 processes x 200 critical sections ----------------------------------------------


def _lock_worker(
    spec: StoreSpec,
    key: str,
    rounds: int,
    counter: Any,  # a raw shared c_longlong: no lock of its own, on purpose
    occupancy: Synchronized[int],
    violations: Synchronized[int],
    start: Any,
) -> None:
    store = spec.open()
    start.wait(JOIN_DEADLINE_S)
    for n in range(rounds):
        owner = f"{os.getpid()}-{n}-{uuid.uuid4().hex[:6]}"
        while not store.acquire_lock(key, owner, HOLD):
            time.sleep(random.uniform(0.0005, 0.003))
        with occupancy.get_lock():
            occupancy.value += 1
            overlapping = occupancy.value != 1
        if overlapping:
            with violations.get_lock():
                violations.value += 1
        seen = counter.value  # an unguarded read-modify-write: only the lock protects it
        time.sleep(0)
        counter.value = seen + 1
        with occupancy.get_lock():
            occupancy.value -= 1
        if not store.release_lock(key, owner):
            with violations.get_lock():
                violations.value += 1
    store.close()


def check_lock_excludes_across_processes(
    spec: StoreSpec, *, processes: int = 8, rounds: int = 200
) -> None:
    key = f"process-contract:lock:{uuid.uuid4().hex}"
    counter = CTX.Value("q", 0, lock=False)
    occupancy = CTX.Value("i", 0)
    violations = CTX.Value("i", 0)
    start = CTX.Barrier(processes)
    args = (spec, key, rounds, counter, occupancy, violations, start)
    _run_processes(_lock_worker, [args] * processes)
    assert violations.value == 0, f"{violations.value} overlapping holders or lost releases"
    assert counter.value == processes * rounds  # no lost update


# --- the fenced CAS: concurrent increments through set_token_data -------------------------------


def _cas_worker(
    spec: StoreSpec, key: str, rounds: int, wins: Synchronized[int], start: Any
) -> None:
    store = spec.open()
    start.wait(JOIN_DEADLINE_S)
    for n in range(rounds):
        while True:
            current = store.get_token_data(key)
            assert current is not None
            access = f"{os.getpid()}-{n}"
            if store.set_token_data(
                key, _token(current.version + 1, access), expected_version=current.version
            ):
                break
    with wins.get_lock():
        wins.value += rounds
    store.close()


def check_cas_never_loses_an_update_across_processes(
    spec: StoreSpec, *, processes: int = 8, rounds: int = 25
) -> None:
    key = f"process-contract:cas:{uuid.uuid4().hex}"
    store = spec.open()
    try:
        assert store.set_token_data(key, _token(1, "seed"), expected_version=None)
        wins = CTX.Value("i", 0)
        start = CTX.Barrier(processes)
        _run_processes(_cas_worker, [(spec, key, rounds, wins, start)] * processes)
        final = store.get_token_data(key)
        assert wins.value == processes * rounds
        # Two writers accepted over one version would leave the version short of the wins.
        assert final is not None and final.version == 1 + processes * rounds
    finally:
        store.close()


def check_stale_writer_is_refused_across_stores(spec: StoreSpec) -> None:
    key = f"process-contract:stale:{uuid.uuid4().hex}"
    first, second = spec.open(), spec.open()
    try:
        assert first.set_token_data(key, _token(1, "seed"), expected_version=None)
        read_by_first = first.get_token_data(key)
        assert read_by_first is not None
        assert second.set_token_data(key, _token(2, "rotated"), expected_version=1)
        stale = _token(read_by_first.version + 1, "stale")
        assert not first.set_token_data(key, stale, expected_version=read_by_first.version)
        assert first.get_token_data(key) == _token(2, "rotated")
    finally:
        first.close()
        second.close()


# --- a crashed lock holder: the TTL lets the next owner in --------------------------------------


def _crash_holding_lock(spec: StoreSpec, key: str) -> None:
    store = spec.open()
    assert store.acquire_lock(key, "crashed", SHORT)
    os._exit(0)  # no release, no cleanup: a process killed mid-refresh


def check_crashed_holder_lock_expires(spec: StoreSpec) -> None:
    key = f"process-contract:crash:{uuid.uuid4().hex}"
    store = spec.open()
    try:
        started = time.monotonic()
        _run_processes(_crash_holding_lock, [(spec, key)])
        deadline = time.monotonic() + 60.0
        while not store.acquire_lock(key, "next", HOLD):
            assert time.monotonic() < deadline, "the crashed holder's lock never expired"
            time.sleep(0.02)
        # A lower bound only (load can only lengthen it): the lock was not free before its TTL.
        assert time.monotonic() - started >= SHORT - 0.05
        assert not store.release_lock(key, "crashed")
        assert store.release_lock(key, "next")
    finally:
        store.close()


# --- a paused leader: takeover bumps the epoch and fences its checkpoint writes -----------------


def _paused_leader(
    spec: StoreSpec,
    name: str,
    channel: str,
    acquired: Event,
    resume: Event,
    outcome: Synchronized[int],
) -> None:
    store = spec.open()
    lease = store.try_acquire_lease(name, "old-leader", SHORT)
    assert lease is not None
    assert store.write_checkpoint(channel, 100, lease_name=name, epoch=lease.epoch)
    acquired.set()
    assert resume.wait(JOIN_DEADLINE_S)  # "paused" past its TTL until the takeover is done
    refused = (
        not store.write_checkpoint(channel, 101, lease_name=name, epoch=lease.epoch),
        not store.renew_lease(name, "old-leader", lease.epoch, HOLD),
        not store.release_lease(name, "old-leader", lease.epoch),
    )
    outcome.value = sum(1 << i for i, r in enumerate(refused) if r)
    store.close()


def check_takeover_fences_paused_leader(spec: StoreSpec) -> None:
    name = f"process-contract:lease:{uuid.uuid4().hex}"
    channel = f"process-contract:channel:{uuid.uuid4().hex}"
    acquired, resume = CTX.Event(), CTX.Event()
    outcome = CTX.Value("i", -1)
    old = CTX.Process(
        target=_child, args=(_paused_leader, spec, name, channel, acquired, resume, outcome)
    )
    store = spec.open()
    try:
        old.start()
        assert acquired.wait(JOIN_DEADLINE_S), "the first leader never took the lease"
        deadline = time.monotonic() + 60.0
        while (lease := store.try_acquire_lease(name, "new-leader", HOLD)) is None:
            assert time.monotonic() < deadline, "the paused leader's lease never expired"
            time.sleep(0.02)
        assert lease.epoch == 2
        assert store.read_checkpoint(channel) == 100
        assert store.write_checkpoint(channel, 200, lease_name=name, epoch=lease.epoch)
        resume.set()
        old.join(JOIN_DEADLINE_S)
        assert old.exitcode == 0, "the paused leader failed (traceback on stderr)"
        assert outcome.value == 0b111, f"old leader's writes not all refused ({outcome.value:b})"
        assert store.read_checkpoint(channel) == 200
        assert store.renew_lease(name, "new-leader", lease.epoch, HOLD)
    finally:
        if old.is_alive():
            old.kill()
            old.join()
        store.close()


PROCESS_CHECKS: tuple[Callable[[StoreSpec], None], ...] = (
    check_lock_excludes_across_processes,
    check_cas_never_loses_an_update_across_processes,
    check_stale_writer_is_refused_across_stores,
    check_crashed_holder_lock_expires,
    check_takeover_fences_paused_leader,
)
