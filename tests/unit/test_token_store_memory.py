"""MemoryTokenStore specifics (TTL edges on the fake clock), TokenData and store keys."""

from __future__ import annotations

import json

import pytest

from salesforce_typed.auth.token import TokenData, TokenStore, fingerprint, token_key
from salesforce_typed.core.clock import FakeClock, SystemClock
from salesforce_typed.stores import MemoryTokenStore
from salesforce_typed.stores import token_key as reexported_token_key

ACCESS = "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1e"
REFRESH = "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJvvHUI3eUGNAN29qlXzOSY7CkdMmSMNMJHbD8iG7Q8xhuvX"


def data(version: int = 1) -> TokenData:
    return TokenData(
        access_token=ACCESS,
        refresh_token=REFRESH,
        instance_url="https://na1.salesforce.com",
        issued_at=100.0,
        expires_at=7300.0,
        last_refreshed_at=100.0,
        version=version,
    )


def test_memory_store_satisfies_the_protocol() -> None:
    assert isinstance(MemoryTokenStore(), TokenStore)


def test_lease_ends_exactly_at_ttl_on_the_injected_clock() -> None:
    clock = FakeClock()
    store = MemoryTokenStore(clock=clock)
    assert store.acquire_lock("k", "a", 30)
    clock.advance(29.999)
    assert not store.acquire_lock("k", "b", 30)
    clock.advance(0.001)
    assert store.acquire_lock("k", "b", 30)


def test_release_after_expiry_reports_false() -> None:
    clock = FakeClock()
    store = MemoryTokenStore(clock=clock)
    assert store.acquire_lock("k", "a", 1)
    clock.advance(2)
    assert not store.release_lock("k", "a")
    assert store.acquire_lock("k", "b", 1)


@pytest.mark.parametrize("ttl", [0, -1])
def test_non_positive_ttl_is_refused(ttl: float) -> None:
    with pytest.raises(ValueError, match="TTL"):
        MemoryTokenStore().acquire_lock("k", "a", ttl)


def test_store_repr_leaks_nothing() -> None:
    store = MemoryTokenStore()
    store.set_token_data("k", data(), expected_version=None)
    assert ACCESS not in repr(store) and REFRESH not in repr(store)


def test_token_repr_and_str_mask_secrets_but_tell_tokens_apart() -> None:
    text = repr(data())
    assert ACCESS not in text and REFRESH not in text
    assert str(data()) == text
    assert fingerprint(ACCESS) in text and "version=1" in text
    other = TokenData(**{**data().to_dict(), "access_token": "other"})
    assert repr(other) != text


def test_token_dict_round_trip_is_json_ready() -> None:
    token = data(3)
    assert TokenData.from_dict(json.loads(json.dumps(token.to_dict()))) == token
    no_refresh = TokenData(**{**token.to_dict(), "refresh_token": None})
    assert TokenData.from_dict(no_refresh.to_dict()).refresh_token is None


def test_expires_within() -> None:
    token = data()
    assert not token.expires_within(300, now=7000.0 - 0.001)
    assert token.expires_within(300, now=7000.0)
    assert token.expires_within(0, now=7300.0)


def test_fingerprint_is_stable_short_and_not_the_secret() -> None:
    assert fingerprint(ACCESS) == fingerprint(ACCESS)
    assert fingerprint(ACCESS) != fingerprint(REFRESH)
    assert ACCESS not in fingerprint(ACCESS) and len(fingerprint(ACCESS)) < 20
    assert fingerprint(None) == "None"


def test_token_key_normalises_the_url_and_separates_identities() -> None:
    base = token_key("https://login.salesforce.com", "cid", "user@example.com")
    assert base == token_key("HTTPS://Login.Salesforce.com/", "cid", "user@example.com")
    assert base == token_key(
        "https://login.salesforce.com/services/oauth2/token", "cid", "user@example.com"
    )
    assert base.startswith("salesforce-typed:token:login.salesforce.com:")
    others = {
        token_key("https://test.salesforce.com", "cid", "user@example.com"),
        token_key("https://login.salesforce.com", "cid2", "user@example.com"),
        token_key("https://login.salesforce.com", "cid", "other@example.com"),
        token_key("https://login.salesforce.com:8443", "cid", "user@example.com"),
        # no separator games: "a\nb" + "c" must not equal "a" + "b\nc"
        token_key("https://login.salesforce.com", "cid\nuser@example.com", ""),
    }
    assert base not in others and len(others) == 5
    assert "user@example.com" not in base
    assert reexported_token_key is token_key


def test_system_clock_behaves() -> None:
    clock = SystemClock()
    assert clock.now() > 1_600_000_000
    first = clock.monotonic()
    clock.sleep(0)
    assert clock.monotonic() >= first


async def test_fake_clock_sleeps_advance_time_and_are_recorded() -> None:
    clock = FakeClock(start=10.0, monotonic_start=5.0)
    clock.sleep(1.5)
    await clock.asleep(2.5)
    assert clock.now() == 14.0 and clock.monotonic() == 9.0
    assert clock.sleeps == [1.5, 2.5] and clock.total_slept == 4.0
    with pytest.raises(ValueError):
        clock.advance(-1)
