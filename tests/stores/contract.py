"""The `TokenStore` contract, as checks any store implementation must pass.

Each check takes a `StoreFactory` returning a fresh `StoreHarness`: the store under test and
an `advance(seconds)` that lets lock leases run out (a fake clock for the memory store, a
real sleep for Redis/PostgreSQL). Checks use unique keys, so a shared server needs no
cleanup. Parametrise a test module over `SYNC_CHECKS` and `ASYNC_CHECKS`:

    @pytest.mark.parametrize("check", SYNC_CHECKS, ids=check_id)
    def test_contract(check): check(make_harness)
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable

import attrs

from salesforce_typed.auth.token import TokenData, TokenStore


@attrs.frozen
class StoreHarness:
    store: TokenStore
    advance: Callable[[float], None]


StoreFactory = Callable[[], StoreHarness]
SyncCheck = Callable[[StoreFactory], None]
AsyncCheck = Callable[[StoreFactory], Awaitable[None]]

TTL = 0.5  # short, so real-server harnesses wait little
PAST_TTL = 0.8


def new_key() -> str:
    return f"contract:{uuid.uuid4().hex}"


def token(version: int, *, access: str | None = None, refresh: str | None = "rt") -> TokenData:
    return TokenData(
        access_token=access or f"at-{version}",
        refresh_token=refresh,
        instance_url="https://acme.my.salesforce.com",
        issued_at=1_714_560_000.123,
        expires_at=1_714_567_200.5,
        last_refreshed_at=1_714_560_001.25,
        version=version,
    )


def check_id(check: Callable[..., object]) -> str:
    return check.__name__.removeprefix("check_").removeprefix("acheck_")


# --- sync checks ------------------------------------------------------------------------------


def check_missing_key_reads_none(make: StoreFactory) -> None:
    assert make().store.get_token_data(new_key()) is None


def check_round_trip_keeps_every_field(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    for data in (token(1), token(1, refresh=None)):
        k = f"{key}:{data.refresh_token}"
        assert store.set_token_data(k, data, expected_version=None)
        assert store.get_token_data(k) == data


def check_create_only_when_absent(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert store.set_token_data(key, token(1), expected_version=None)
    assert not store.set_token_data(key, token(1, access="other"), expected_version=None)
    assert store.get_token_data(key) == token(1)


def check_compare_and_set_on_version(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert store.set_token_data(key, token(1), expected_version=None)
    assert store.set_token_data(key, token(2), expected_version=1)
    assert not store.set_token_data(key, token(3, access="stale"), expected_version=1)
    assert not store.set_token_data(key, token(3, access="future"), expected_version=7)
    assert store.get_token_data(key) == token(2)


def check_set_on_missing_with_version_fails(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert not store.set_token_data(key, token(2), expected_version=1)
    assert store.get_token_data(key) is None


def check_clear_removes_and_allows_create(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    store.clear_token_data(key)  # clearing nothing is fine
    assert store.set_token_data(key, token(4), expected_version=None)
    store.clear_token_data(key)
    assert store.get_token_data(key) is None
    assert store.set_token_data(key, token(1), expected_version=None)


def check_keys_are_isolated(make: StoreFactory) -> None:
    store, a, b = make().store, new_key(), new_key()
    assert store.set_token_data(a, token(1, access="a"), expected_version=None)
    assert store.get_token_data(b) is None
    assert store.acquire_lock(a, "owner", TTL)
    assert store.acquire_lock(b, "owner", TTL)
    store.clear_token_data(b)
    assert store.get_token_data(a) == token(1, access="a")


def check_lock_is_exclusive_and_not_reentrant(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert store.acquire_lock(key, "a", TTL)
    assert not store.acquire_lock(key, "b", TTL)
    assert not store.acquire_lock(key, "a", TTL)


def check_release_is_compare_and_delete(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert not store.release_lock(key, "a")  # nothing held
    assert store.acquire_lock(key, "a", TTL)
    assert not store.release_lock(key, "b")
    assert not store.acquire_lock(key, "b", TTL)  # b's release did not free it
    assert store.release_lock(key, "a")
    assert not store.release_lock(key, "a")  # already released
    assert store.acquire_lock(key, "b", TTL)


def check_lock_lease_expires(make: StoreFactory) -> None:
    harness = make()
    store, key = harness.store, new_key()
    assert store.acquire_lock(key, "a", TTL)
    harness.advance(PAST_TTL)
    assert store.acquire_lock(key, "b", TTL)
    assert not store.release_lock(key, "a")  # a's lease is gone; b's must survive
    assert not store.acquire_lock(key, "c", TTL)
    assert store.release_lock(key, "b")


def check_renew_extends_only_the_holders_live_lease(make: StoreFactory) -> None:
    harness = make()
    store, key = harness.store, new_key()
    assert not store.renew_lock(key, "a", TTL)  # nothing held
    assert store.acquire_lock(key, "a", TTL)
    assert not store.renew_lock(key, "b", TTL)  # not b's
    harness.advance(TTL * 0.6)
    assert store.renew_lock(key, "a", TTL)  # a heartbeat: another TTL from now
    harness.advance(TTL * 0.6)  # past the first TTL, within the renewed one
    assert not store.acquire_lock(key, "b", TTL)
    harness.advance(PAST_TTL)
    assert not store.renew_lock(key, "a", TTL)  # lapsed: a must not write any more
    assert store.acquire_lock(key, "b", TTL)
    assert store.release_lock(key, "b")


def check_lock_and_token_do_not_interfere(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert store.set_token_data(key, token(1), expected_version=None)
    assert store.acquire_lock(key, "a", TTL)
    store.clear_token_data(key)
    assert not store.acquire_lock(key, "b", TTL)  # clearing the token kept the lock
    assert store.set_token_data(key, token(1), expected_version=None)
    assert store.release_lock(key, "a")
    assert store.get_token_data(key) == token(1)  # releasing the lock kept the token


def _race(n: int, attempt: Callable[[int], bool]) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = [False] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = attempt(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def check_concurrent_lock_has_one_winner(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    results = _race(16, lambda i: store.acquire_lock(key, f"owner-{i}", 30.0))
    assert results.count(True) == 1


def check_concurrent_cas_has_one_winner(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert store.set_token_data(key, token(1), expected_version=None)
    results = _race(
        16,
        lambda i: store.set_token_data(key, token(2, access=f"at-{i}"), expected_version=1),
    )
    assert results.count(True) == 1
    winner = results.index(True)
    assert store.get_token_data(key) == token(2, access=f"at-{winner}")


SYNC_CHECKS: tuple[SyncCheck, ...] = (
    check_missing_key_reads_none,
    check_round_trip_keeps_every_field,
    check_create_only_when_absent,
    check_compare_and_set_on_version,
    check_set_on_missing_with_version_fails,
    check_clear_removes_and_allows_create,
    check_keys_are_isolated,
    check_lock_is_exclusive_and_not_reentrant,
    check_release_is_compare_and_delete,
    check_lock_lease_expires,
    check_renew_extends_only_the_holders_live_lease,
    check_lock_and_token_do_not_interfere,
    check_concurrent_lock_has_one_winner,
    check_concurrent_cas_has_one_winner,
)


# --- async twins ------------------------------------------------------------------------------


async def acheck_round_trip_and_cas(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    assert await store.aget_token_data(key) is None
    assert await store.aset_token_data(key, token(1), expected_version=None)
    assert not await store.aset_token_data(key, token(1), expected_version=None)
    assert await store.aset_token_data(key, token(2), expected_version=1)
    assert not await store.aset_token_data(key, token(3), expected_version=1)
    assert await store.aget_token_data(key) == token(2)
    assert store.get_token_data(key) == token(2)  # one state behind both faces


async def acheck_clear(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    await store.aclear_token_data(key)
    assert await store.aset_token_data(key, token(1), expected_version=None)
    await store.aclear_token_data(key)
    assert await store.aget_token_data(key) is None


async def acheck_lock(make: StoreFactory) -> None:
    harness = make()
    store, key = harness.store, new_key()
    assert await store.aacquire_lock(key, "a", TTL)
    assert not await store.aacquire_lock(key, "b", TTL)
    assert not store.acquire_lock(key, "b", TTL)
    assert not await store.arelease_lock(key, "b")
    assert await store.arelease_lock(key, "a")
    assert await store.aacquire_lock(key, "b", TTL)
    assert await store.arenew_lock(key, "b", TTL)
    assert not await store.arenew_lock(key, "a", TTL)
    harness.advance(PAST_TTL)
    assert not await store.arenew_lock(key, "b", TTL)
    assert await store.aacquire_lock(key, "c", TTL)
    assert not await store.arelease_lock(key, "b")


async def acheck_concurrent_lock_has_one_winner(make: StoreFactory) -> None:
    store, key = make().store, new_key()
    results = await asyncio.gather(*(store.aacquire_lock(key, f"o{i}", 30.0) for i in range(16)))
    assert list(results).count(True) == 1


ASYNC_CHECKS: tuple[AsyncCheck, ...] = (
    acheck_round_trip_and_cas,
    acheck_clear,
    acheck_lock,
    acheck_concurrent_lock_has_one_winner,
)
