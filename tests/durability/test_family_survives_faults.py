"""Every store fault keeps the token family alive (issue 10, "Store faults revoke the family").

Each scenario runs on real Redis and on real PostgreSQL, with two replica processes sharing
one refresh token of one fake org (Refresh Token Rotation on), each with its own journal.
Sessions are expired through `/_admin/expire-sessions`, so every expiry is exactly one
rotation when the replicas single-flight it. Every scenario ends with `Run.finish`: 0 family
revocations, 0 `invalid_grant`, every replica serves after one more expiry, and the store
holds the refresh token the fake org considers current. Token calls are asserted exactly
where a scenario determines them (one per expiry).

(a) the store comes back empty (Redis SIGKILLed and restarted without persistence; on
    PostgreSQL the row deleted, as a failover to an empty replica) and older (an earlier
    token restored): the replicas write their newer token back, never use the seed.
(b) the store's connection is cut while the token endpoint holds its answer; the reply to the
    rotated token's write is lost after the write went through; a 3 s outage during a rotation.
(c) a token endpoint slower (3 s) than the refresh lock's TTL (1 s): the heartbeat keeps it.
(d) the store blackholed while a refresh holds the lock: calls fail within the store's
    bound, nothing hangs, and after `heal()` the family is alive.
(e) a replica SIGKILLed between the token response and the store write, restarted on its
    journal: the journaled token is written back before the other replica needs a refresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from durability_harness import OwnRedis, Run, report, wait_for

from salesforce_typed.stores.journal import TokenJournal

KINDS = ["redis", "postgres"]
TWO = ["r0", "r1"]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _open(kind: str, folder: Path, server_url: str | None = None) -> Run:
    return Run(kind, folder, server_url=server_url)


@pytest.fixture
def run(kind: str, tmp_path: Path) -> Iterator[Run]:
    opened = _open(kind, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
        opened.drop_namespace()


def _start(run: Run, owners: list[str] = TWO, **cfg: Any) -> None:
    since = time.time()
    for owner in owners:
        run.spawn(owner, **cfg)
    run.wait_serving(since, owners, "first calls")
    run.wait_store_current()


def _rotate(run: Run, owners: list[str] = TWO) -> None:
    """One session expiry; returns once every replica served again on the rotated token."""
    since = run.expire_sessions()
    run.wait_serving(since, owners, "a rotation")
    run.wait_store_current()


def _wrote_back(run: Run) -> int:
    logs = "".join(p.read_text() for p in run.folder.glob("*.log"))
    return logs.count("writing back the newer token")


# --- (a) the store comes back empty or older --------------------------------------------------


def test_a_store_comes_back_empty_or_older(kind: str, tmp_path: Path) -> None:
    own = OwnRedis(tmp_path) if kind == "redis" else None
    if own is not None:
        own.start()
    run = _open(kind, tmp_path, own.url if own is not None else None)
    try:
        _start(run)
        older = run.stored()
        _rotate(run)
        calls = run.token_calls()
        assert calls == 2
        # Empty: the replicas keep their tokens in memory; the store forgot them.
        if own is not None:
            own.restart()  # SIGKILL, then an empty dataset on the same port
        else:
            run.inspector.clear_token_data(run.key)  # failover to an empty replica
        assert run.stored() is None
        _rotate(run)
        assert run.token_calls() == calls + 1  # refreshed with the newest token, not the seed
        assert _wrote_back(run) >= 1
        # Older: an earlier token (already rotated out) comes back.
        assert older is not None
        run.inspector.clear_token_data(run.key)
        assert run.inspector.set_token_data(run.key, older, expected_version=None)
        _rotate(run)
        assert run.token_calls() == calls + 2
        assert _wrote_back(run) >= 2
        figures = run.finish(TWO)
        assert figures["token_calls"] == calls + 3
        report("a-store-empty-or-older", kind, figures)
    finally:
        run.close()
        run.drop_namespace()
        if own is not None:
            own.stop()


# --- (b) connection cut, lost reply, 3 s outage during a rotation -----------------------------


def test_b_connection_dropped_and_outage_during_rotation(run: Run) -> None:
    proxy = run.through_proxy()
    _start(run, operation_timeout_s=2.0, lock_ttl_s=10.0)
    calls = run.token_calls()
    run.token_delay(1.0)

    # Cut while the token endpoint holds its answer: the write finds its connection dead.
    before = run.token_calls()
    since = run.expire_sessions()
    run.wait_token_call(before)
    proxy.cut()
    run.wait_serving(since, TWO, "a cut during the token call")
    run.wait_store_current()

    # The rotated token's write reaches the server; its reply is lost and the connection cut.
    before = run.token_calls()
    since = run.expire_sessions()
    run.wait_token_call(before)
    proxy.drop_next_reply(containing=b"refresh_token")  # only token writes carry that key
    run.wait_serving(since, TWO, "a lost reply to the token write")
    run.wait_store_current()
    assert proxy.replies_dropped == 1

    # A 3-second outage starting while the token endpoint holds its answer.
    before = run.token_calls()
    since = run.expire_sessions()
    run.wait_token_call(before)
    proxy.outage()
    time.sleep(3.0)
    proxy.heal()
    run.wait_serving(since, TWO, "a 3 s outage")
    run.wait_store_current()

    assert run.token_calls() == calls + 3  # one token call per rotation, faults or not
    figures = run.finish(TWO)
    report("b-cut-lost-reply-outage", run.kind, figures)


# --- (c) a token endpoint slower than the lock's TTL ------------------------------------------


def test_c_slow_token_endpoint_outlives_the_lock_ttl(run: Run) -> None:
    _start(run, lock_ttl_s=1.0)
    calls = run.token_calls()
    run.token_delay(3.0)
    _rotate(run)
    # A second replica refreshing with the same token would be a second call (and a revoked
    # family); the heartbeat kept the 1 s lock through the 3 s token call.
    assert run.token_calls() == calls + 1
    figures = run.finish(TWO)
    report("c-slow-token-endpoint", run.kind, figures)


# --- (d) a blackholed store while a refresh holds the lock -----------------------------------

BOUND = 2.0  # the replicas' operation_timeout_s
BLACKHOLE = 3.0
LOCK_TTL = 8.0  # above the blackhole: a holder cut off from the store must keep its lock
WRITE_DEADLINE = 10.0


def test_d_blackholed_store_during_a_refresh(run: Run) -> None:
    proxy = run.through_proxy()
    _start(
        run,
        operation_timeout_s=BOUND,
        lock_ttl_s=LOCK_TTL,
        store_write_deadline_s=WRITE_DEADLINE,
    )
    calls = run.token_calls()
    run.token_delay(1.0)
    before = run.token_calls()
    since = run.expire_sessions()
    run.wait_token_call(before)
    holed = time.time()
    proxy.blackhole()
    time.sleep(BLACKHOLE)
    proxy.heal()
    healed = time.time()
    run.wait_serving(since, TWO, "the blackhole's end")
    run.wait_store_current()
    assert run.token_calls() == calls + 1

    lines = [x for x in run.lines() if x["kind"] in ("ok", "error") and x["t"] >= since - 1]
    # Nothing hangs. The refresh holder's call is bounded by the token call plus its write
    # deadline; a waiting peer's by the lock: a blackholed lock attempt whose statement is
    # delivered after the client gave up can take the lock for an owner nobody releases
    # (seen on both stores), so a peer may wait out one more lock TTL.
    longest = max(x["dur"] for x in lines)
    assert longest <= 1.0 + WRITE_DEADLINE + 2 * BOUND + LOCK_TTL + 3.0, longest
    # Calls that ended during the blackhole failed fast: within the store's bound (two store
    # calls at most, a PostgreSQL connect counted in whole seconds), not at the heal.
    failed_inside = [
        x for x in lines if x["kind"] == "error" and holed <= x["t"] + x["dur"] < healed
    ]
    assert failed_inside, "no call failed during the blackhole"
    assert all(x["dur"] <= 2 * BOUND + 1.5 for x in failed_inside), failed_inside
    figures = run.finish(TWO)
    figures["longest_call_s"] = longest
    figures["fast_failures"] = len(failed_inside)
    report("d-blackholed-store", run.kind, figures)


# --- (e) SIGKILL between the token response and the store write -------------------------------


def _kill_after_journal_write(run: Run, owner: str) -> str:
    """Expire sessions while only `owner` runs; blackhole the store once its token call is in
    flight, so the write cannot land, and SIGKILL `owner` as soon as its journal holds the
    rotated token. Returns that token (the family's current one, stored nowhere else)."""
    proxy = run.proxy
    assert proxy is not None
    run.token_delay(0.5)
    before = run.token_calls()
    run.expire_sessions()
    run.wait_token_call(before)
    proxy.blackhole()
    journal = TokenJournal(run.journal_dir(owner))

    def journaled() -> bool:
        try:
            entry = journal.latest(run.key)
        except Exception:
            return False  # read while being replaced: look again
        return entry is not None and entry.refresh_token == run.current_refresh_token()

    wait_for(journaled, f"{owner}'s journal to hold the rotated token")
    run.kill(owner)
    proxy.cut()  # what the dead replica had sent but the proxy held back never arrives
    proxy.heal()
    run.token_delay(0)
    rotated = run.current_refresh_token()
    assert rotated is not None
    stored = run.stored()
    assert stored is not None and stored.refresh_token != rotated  # the store never got it
    return rotated


def test_e_killed_between_token_response_and_store_write(run: Run) -> None:
    run.through_proxy()
    _start(run, lock_ttl_s=2.0)
    calls = run.token_calls()
    run.pause("r1")  # r1 needs no refresh meanwhile (see the second test for when it does)
    rotated = _kill_after_journal_write(run, "r0")
    since = time.time()
    run.spawn("r0-restarted", journal="r0", lock_ttl_s=2.0)  # same host, same journal
    run.wait_serving(since, ["r0-restarted"], "the restarted replica")
    stored = run.stored()
    assert stored is not None and stored.refresh_token == rotated  # recovered and written back
    assert run.token_calls() == calls + 1
    run.resume("r1")
    figures = run.finish(["r0-restarted", "r1"])
    assert figures["token_calls"] == calls + 2
    assert _wrote_back(run) >= 1
    report("e-sigkill-before-store-write", run.kind, figures)


def test_e_peer_refreshes_before_the_killed_replica_restarts(run: Run) -> None:
    """The killed holder left its refresh claim in the shared store: the peer refuses to
    refresh with the store's spent token (a TokenStoreError, not an invalid_grant) until the
    killed replica restarts, recovers the rotated token from its journal and settles it."""
    run.through_proxy()
    _start(run, lock_ttl_s=2.0)
    calls = run.token_calls()
    run.pause("r1")
    rotated = _kill_after_journal_write(run, "r0")
    since = time.time()
    run.resume("r1")  # r1's session is expired too: it needs a refresh once r0's lock lapses

    def r1_refused() -> bool:
        lines = [x for x in run.lines() if x["owner"] == "r1" and x.get("t", 0) >= since]
        return any(x["kind"] in ("error", "invalid_grant") for x in lines)

    wait_for(r1_refused, "r1's first refused call after the kill")
    invalid = len(run.invalid_grants())
    assert run.revocations() == 0, "r1 refreshed with the store's rotated-out token"
    assert invalid == 0 and run.token_calls() == calls + 1  # r1 made no token call
    refused = [x for x in run.lines() if x["owner"] == "r1" and x.get("t", 0) >= since]
    assert {x["type"] for x in refused if x["kind"] == "error"} == {"TokenStoreError"}
    restarted = time.time()
    run.spawn("r0-restarted", journal="r0", lock_ttl_s=2.0)  # same host, same journal
    run.wait_serving(restarted, ["r0-restarted", "r1"], "the restart settling the claim")
    stored = run.stored()
    assert stored is not None and stored.refresh_token == rotated  # recovered, written back
    figures = run.finish(["r0-restarted", "r1"])
    print(
        f"\nDURABILITY e-peer-first [{run.kind}] revocations={figures.get('revocations', 0)} "
        f"invalid_grant={invalid} token_calls={run.token_calls()}"
    )
    report("e-peer-waits-for-the-restart", run.kind, figures)
