"""The client under the fake org's injected faults: retries, unknown outcomes, single-flight.

Each test runs on both faces, sync and async (the `face` fixture, tests/faces.py).
"""

from __future__ import annotations

import pytest
from faces import Face

import salesforce_typed_std as std
from salesforce_typed import RefreshTokenGrant, RetryPolicy, Salesforce
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import OutcomeUnknownError, RowLockError, ServerError
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.testing import oauth
from salesforce_typed.testing.server import FakeOrg


def _client(face: Face, org: FakeOrg, **kw: object) -> Salesforce:
    c = org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
    clock = FakeClock()  # retries back off on a fake clock: tests never sleep
    policy = RetryPolicy(max_attempts=8, clock=clock)
    return face.salesforce(auth=grant, retry=policy, clock=clock, **kw)


def test_reads_survive_a_flaky_server(fake_org: FakeOrg, face: Face) -> None:
    with _client(face, fake_org) as sf:
        sf.create_many([std.Account(Name=f"A{i}") for i in range(30)])
        fake_org.state.faults.reseed(7)
        fake_org.state.faults.server_error_rate = 0.4
        rows = sf.query(std.Account, "SELECT Id FROM Account").all()
        fake_org.state.faults.server_error_rate = 0.0
        assert len(rows) == 30
        assert sf.clock.total_slept > 0  # type: ignore[attr-defined]


def test_503_is_retried_even_for_create_because_nothing_was_applied(
    fake_org: FakeOrg, face: Face
) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        fake_org.state.faults.reseed(3)
        fake_org.state.faults.server_error_rate = 0.5
        made = [sf.create(std.Account(Name=f"R{i}")) for i in range(5)]
        fake_org.state.faults.server_error_rate = 0.0
        names = {a.Name for a in sf.query(std.Account, "SELECT Name FROM Account").all()}
        assert names == {f"R{i}" for i in range(5)} and len(made) == 5


def test_row_lock_is_retried_then_surfaces_typed(fake_org: FakeOrg, face: Face) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        fake_org.state.faults.lock_rate = 1.0
        with pytest.raises(RowLockError) as err:
            sf.create(std.Account(Name="locked"))
        assert err.value.error_code == "UNABLE_TO_LOCK_ROW"
        fake_org.state.faults.lock_rate = 0.0


def test_dropped_connection_on_create_is_outcome_unknown_not_resent(
    fake_org: FakeOrg, face: Face
) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        fake_org.state.faults.drop_rate = 1.0
        with pytest.raises(OutcomeUnknownError):
            sf.create(std.Account(Name="maybe"))
        fake_org.state.faults.drop_rate = 0.0
        # The create was applied once and never blindly re-sent: reconcile by querying.
        rows = sf.query(std.Account, "SELECT Id FROM Account WHERE Name = 'maybe'").all()
        assert len(rows) == 1


def test_dropped_connection_on_read_is_retried(fake_org: FakeOrg, face: Face) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        fake_org.state.faults.reseed(11)
        fake_org.state.faults.drop_rate = 0.5
        for _ in range(5):
            assert "DailyApiRequests" in sf.limits()
        fake_org.state.faults.drop_rate = 0.0


def test_persistent_5xx_exhausts_attempts(fake_org: FakeOrg, face: Face) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        fake_org.state.faults.server_error_rate = 1.0
        with pytest.raises(ServerError) as err:
            sf.limits()
        assert err.value.status_code == 503
        fake_org.state.faults.server_error_rate = 0.0


def test_sixteen_concurrent_calls_on_an_expired_session_refresh_once(
    fake_org: FakeOrg, face: Face
) -> None:
    store = MemoryTokenStore()
    with _client(face, fake_org, token_store=store) as sf:
        sf.limits()
        before = oauth.token_calls(fake_org.state).get("refresh_token", 0)
        fake_org.state.expire_sessions()
        answers = face.concurrently(16, sf, "limits")  # threads, or tasks on one loop
        assert all("DailyApiRequests" in a for a in answers)
        after = oauth.token_calls(fake_org.state).get("refresh_token", 0)
        assert after - before == 1


def test_api_usage_exposed_from_limit_header(fake_org: FakeOrg, face: Face) -> None:
    with _client(face, fake_org) as sf:
        sf.limits()
        first = sf.api_usage
        sf.limits()
        assert first is not None and sf.api_usage is not None
        assert sf.api_usage.used == first.used + 1
        assert sf.api_usage.limit == fake_org.state.config.daily_api_limit
