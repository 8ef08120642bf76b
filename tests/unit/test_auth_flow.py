"""SalesforceAuth over MockTransport and a fake clock: refresh, replay, RTR, single-flight."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest

from salesforce_typed.auth import AccessTokenAuth, RefreshTokenGrant, SalesforceAuth, TokenData
from salesforce_typed.core.clock import FakeClock
from salesforce_typed.core.errors import (
    AuthenticationError,
    InvalidGrantError,
    RequestNotSentError,
    TokenStoreError,
)
from salesforce_typed.stores import MemoryTokenStore

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = "https://login.salesforce.com/services/oauth2/token"
API_PATH = "/services/data/v59.0/sobjects/Account/001Hs00003ZkQp1IAF"
SEED = "rt-seed-0"
SECRET = "client-secret-Zq9"


class FakeOrg:
    """Just enough of Salesforce: a token endpoint with optional rotation and an API that
    accepts only access tokens it issued and has not revoked."""

    def __init__(self, expired_body: Any, *, rotate: bool = True) -> None:
        self.expired_body = expired_body
        self.rotate = rotate
        self.refresh_token: str | None = SEED
        self.valid: set[str] = set()
        self.issued = 0
        self.token_calls = 0
        self.token_forms: list[dict[str, str]] = []
        self.api_requests: list[httpx.Request] = []
        self.api_auth: list[str] = []  # as received: a replay reuses the request object
        self.on_api: Callable[[httpx.Request], None] | None = None
        self.token_answer: Callable[[httpx.Request], httpx.Response] | None = None
        self.api_answer: Callable[[httpx.Request], httpx.Response] | None = None
        self.mutex = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            return self.token(request)
        return self.api(request)

    def token(self, request: httpx.Request) -> httpx.Response:
        with self.mutex:
            self.token_calls += 1
            self.token_forms.append(dict(parse_qsl(request.content.decode())))
            if self.token_answer is not None:
                return self.token_answer(request)
            if self.token_forms[-1].get("refresh_token") != self.refresh_token:
                # RTR reuse detection: the whole family is revoked
                self.refresh_token = None
                self.valid.clear()
                return httpx.Response(
                    400,
                    json={
                        "error": "invalid_grant",
                        "error_description": "expired access/refresh token",
                    },
                )
            self.issued += 1
            access = f"00D!at-{self.issued}"
            self.valid.add(access)
            body = {
                "access_token": access,
                "instance_url": INSTANCE,
                "id": "https://login.salesforce.com/id/00Dx/005x",
                "token_type": "Bearer",
                "issued_at": "1714560000123",
                "signature": "sig=",
            }
            if self.rotate:
                self.refresh_token = f"rt-{self.issued}"
                body["refresh_token"] = self.refresh_token
            return httpx.Response(200, json=body)

    def api(self, request: httpx.Request) -> httpx.Response:
        with self.mutex:
            self.api_requests.append(request)
            self.api_auth.append(request.headers.get("Authorization", ""))
        if self.on_api is not None:
            self.on_api(request)
        if self.api_answer is not None:
            return self.api_answer(request)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid:
            return httpx.Response(200, json={"Id": "001Hs00003ZkQp1IAF"})
        return httpx.Response(401, json=self.expired_body)

    def revoke_all_access(self) -> None:
        self.valid.clear()


@attrs.define
class Env:
    org: FakeOrg
    clock: FakeClock
    store: MemoryTokenStore
    auth: SalesforceAuth

    @property
    def key(self) -> str:
        return self.auth.key

    def client(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.MockTransport(self.org.handle), auth=self.auth, base_url=INSTANCE
        )

    def async_client(self, handler: Any = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.MockTransport(handler or self.org.handle),
            auth=self.auth,
            base_url=INSTANCE,
        )

    def seed(
        self, *, access: str, refresh: str | None = SEED, version: int = 1, ttl: float = 7200
    ) -> TokenData:
        now = self.clock.now()
        data = TokenData(
            access_token=access,
            refresh_token=refresh,
            instance_url=INSTANCE,
            issued_at=now,
            expires_at=now + ttl,
            last_refreshed_at=now,
            version=version,
        )
        current = self.store.get_token_data(self.key)
        expected = None if current is None else current.version
        assert self.store.set_token_data(self.key, data, expected_version=expected)
        return data

    def stored(self) -> TokenData | None:
        return self.store.get_token_data(self.key)


@pytest.fixture
def expired_body(realdata: Path) -> Any:
    path = realdata / "fixtures" / "rest" / "restforce" / "expired_session_response.json"
    return json.loads(path.read_text())


class RefusingStore(MemoryTokenStore):
    """Refuses every token write once `refuse` is set (a lost fencing race)."""

    refuse = False

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        if self.refuse:
            return False
        return super().set_token_data(key, data, expected_version=expected_version)


def make_env(
    expired_body: Any,
    *,
    rotate: bool = True,
    store_cls: type[MemoryTokenStore] = MemoryTokenStore,
    **auth_kwargs: Any,
) -> Env:
    clock = FakeClock()
    store = store_cls(clock=clock)
    grant = RefreshTokenGrant(
        client_id="3MVG9-cid", refresh_token=SEED, client_secret=SECRET, token_url=TOKEN_URL
    )
    auth = SalesforceAuth(grant, store=store, clock=clock, **auth_kwargs)
    return Env(FakeOrg(expired_body, rotate=rotate), clock, store, auth)


@pytest.fixture
def env(expired_body: Any) -> Env:
    return make_env(expired_body)


# --- the basic path ---------------------------------------------------------------------------


def test_first_request_fetches_stores_then_sends_the_bearer(env: Env) -> None:
    with env.client() as client:
        response = client.get(API_PATH)
    assert response.status_code == 200
    assert env.org.token_calls == 1 and len(env.org.api_requests) == 1
    assert env.org.api_auth[0] == "Bearer 00D!at-1"
    assert env.org.token_forms[0]["refresh_token"] == SEED
    stored = env.stored()
    assert stored is not None and stored.version == 1 and stored.refresh_token == "rt-1"
    assert env.auth.refresh_count == 1 and env.auth.token == stored


def test_a_fresh_token_is_reused(env: Env) -> None:
    with env.client() as client:
        for _ in range(3):
            client.get(API_PATH)
        env.clock.advance(7200 - 300 - 1)  # still outside the margin
        client.get(API_PATH)
    assert env.org.token_calls == 1 and len(env.org.api_requests) == 4


def test_proactive_refresh_a_margin_before_expiry(env: Env) -> None:
    with env.client() as client:
        client.get(API_PATH)
        env.clock.advance(7200 - 300)
        response = client.get(API_PATH)
    assert response.status_code == 200
    assert env.org.token_calls == 2
    assert env.org.token_forms[1]["refresh_token"] == "rt-1"  # the rotated one
    assert env.org.api_auth == [
        "Bearer 00D!at-1",
        "Bearer 00D!at-2",
    ]  # no 401 on the way
    assert env.stored() is not None and env.stored().version == 2  # type: ignore[union-attr]


def test_margin_never_exceeds_half_a_short_session(expired_body: Any) -> None:
    env = make_env(expired_body, refresh_margin_s=3600)
    env.seed(access="00D!at-seeded", ttl=600)
    env.org.valid.add("00D!at-seeded")
    with env.client() as client:
        client.get(API_PATH)
        env.clock.advance(299)
        client.get(API_PATH)
    assert env.org.token_calls == 0


# --- 401 INVALID_SESSION_ID: refresh once, replay once --------------------------------------


def test_invalid_session_refreshes_once_and_replays_the_same_request(env: Env) -> None:
    env.seed(access="00D!revoked")
    with env.client() as client:
        response = client.post(API_PATH, json={"Name": "Acme"})
    assert response.status_code == 200
    assert env.org.token_calls == 1
    first, replay = env.org.api_requests
    assert env.org.api_auth == ["Bearer 00D!revoked", "Bearer 00D!at-1"]
    assert replay.content == first.content == b'{"Name":"Acme"}'
    assert [r.status_code for r in response.history] == [401, 200]  # 401, then the token call


def test_second_invalid_session_raises_without_recursing(env: Env) -> None:
    env.seed(access="00D!revoked")
    env.org.on_api = lambda request: env.org.revoke_all_access()  # every call fails
    with env.client() as client, pytest.raises(AuthenticationError) as info:
        client.get(API_PATH)
    assert env.org.token_calls == 1 and len(env.org.api_requests) == 2
    assert info.value.status_code == 401 and info.value.error_code == "INVALID_SESSION_ID"
    assert info.value.url == API_PATH and "00D!" not in str(info.value)


def test_other_401s_pass_through_untouched(env: Env) -> None:
    env.seed(access="00D!live")
    env.org.valid.add("00D!live")
    forbidden = [{"message": "bad header", "errorCode": "INVALID_AUTH_HEADER"}]
    env.org.api_answer = lambda request: httpx.Response(401, json=forbidden)
    with env.client() as client:
        response = client.get(API_PATH)
    assert response.status_code == 401 and env.org.token_calls == 0


# --- Refresh Token Rotation -------------------------------------------------------------------


def test_rotated_token_is_stored_before_the_replay_is_sent(env: Env) -> None:
    env.seed(access="00D!revoked")
    seen: list[TokenData | None] = []

    def check_store(request: httpx.Request) -> None:
        if request.headers["Authorization"] == "Bearer 00D!at-1":
            seen.append(env.stored())

    env.org.on_api = check_store
    with env.client() as client:
        client.get(API_PATH)
    assert len(seen) == 1 and seen[0] is not None
    assert seen[0].refresh_token == "rt-1" and seen[0].version == 2
    assert seen[0].access_token == "00D!at-1"


def test_rotated_token_is_stored_before_a_proactive_first_use(env: Env) -> None:
    seen: list[TokenData | None] = []
    env.org.on_api = lambda request: seen.append(env.stored())
    with env.client() as client:
        client.get(API_PATH)
    assert seen[0] is not None and seen[0].refresh_token == "rt-1"


def test_a_peers_fresher_token_is_adopted_without_a_token_call(env: Env) -> None:
    env.seed(access="00D!mine", version=1)
    env.org.valid.add("00D!mine")
    with env.client() as client:
        client.get(API_PATH)
        # a peer refreshed (version 2) and Salesforce no longer takes our copy
        env.seed(access="00D!peer", refresh="rt-peer", version=2)
        env.org.valid = {"00D!peer"}
        response = client.get(API_PATH)
    assert response.status_code == 200 and env.org.token_calls == 0
    assert env.org.api_auth[-1] == "Bearer 00D!peer"
    assert env.auth.adopted_count == 2 and env.auth.refresh_count == 0


def test_a_peers_token_is_adopted_on_proactive_refresh(env: Env) -> None:
    env.seed(access="00D!old", version=3)
    env.org.valid.add("00D!old")
    with env.client() as client:
        client.get(API_PATH)
        env.clock.advance(7200 - 300)  # ours is now inside the margin...
        env.seed(access="00D!newer", refresh="rt-newer", version=4)  # ...a peer refreshed
        env.org.valid.add("00D!newer")
        client.get(API_PATH)
    assert env.org.token_calls == 0
    assert env.org.api_auth[-1] == "Bearer 00D!newer"
    assert env.auth.token is not None and env.auth.token.version == 4


def test_failed_store_write_after_rotation_aborts(expired_body: Any) -> None:
    env = make_env(expired_body, store_cls=RefusingStore)
    store = env.store
    store.refuse = True  # type: ignore[attr-defined]
    with env.client() as client, pytest.raises(TokenStoreError) as info:
        client.get(API_PATH)
    assert env.org.token_calls == 1  # the rotation happened...
    assert env.org.api_requests == []  # ...but the new access token was never used
    assert env.auth.token is None and env.auth.refresh_count == 0
    assert "rt-1" not in str(info.value) and "00D!" not in str(info.value)
    assert store.acquire_lock(env.key, "someone-else", 1)  # lock released
    assert not env.auth._thread_lock.locked()


def test_failed_store_write_without_rotation_still_serves(expired_body: Any) -> None:
    env = make_env(expired_body, rotate=False, store_cls=RefusingStore)
    env.seed(access="00D!revoked", refresh=SEED)
    env.store.refuse = True  # type: ignore[attr-defined]
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200
    assert env.org.token_calls == 1 and env.auth.token is not None
    assert env.auth.token.refresh_token == SEED


def test_invalid_grant_clears_the_store_and_raises_once(env: Env) -> None:
    env.seed(access="00D!revoked", refresh="rt-rotated-out")
    with env.client() as client:
        with pytest.raises(InvalidGrantError) as info:
            client.get(API_PATH)
        assert env.org.token_calls == 1
        assert env.stored() is None and env.auth.token is None
        assert "rt-rotated-out" not in str(info.value)
        # later calls do not hammer the token endpoint with a dead refresh token
        with pytest.raises(InvalidGrantError):
            client.get(API_PATH)
        assert env.org.token_calls == 1 and len(env.org.api_requests) == 1
        # re-authorization elsewhere writes a token: the next call picks it up
        env.seed(access="00D!reauthorized", refresh="rt-new")
        env.org.valid.add("00D!reauthorized")
        assert client.get(API_PATH).status_code == 200
    assert env.org.token_calls == 1


def test_invalid_grant_adopts_a_token_a_peer_stored_meanwhile(env: Env) -> None:
    env.seed(access="00D!revoked", refresh="rt-rotated-out", version=1)

    def reject_and_let_a_peer_write(request: httpx.Request) -> httpx.Response:
        env.seed(access="00D!peer", refresh="rt-peer", version=2)
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "x"})

    env.org.token_answer = reject_and_let_a_peer_write
    env.org.valid.add("00D!peer")
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200
    assert env.stored() is not None and env.stored().version == 2  # type: ignore[union-attr]


def test_token_endpoint_outage_means_not_sent_and_frees_the_locks(env: Env) -> None:
    env.org.token_answer = lambda request: httpx.Response(503, text="<html>maintenance</html>")
    with env.client() as client, pytest.raises(RequestNotSentError) as info:
        client.get(API_PATH)
    assert "503" in str(info.value) and env.org.api_requests == []
    assert env.store.acquire_lock(env.key, "other", 1)
    assert not env.auth._thread_lock.locked()


def test_transport_failure_on_the_token_call_frees_the_locks(env: Env) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    env.org.token_answer = drop
    with env.client() as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(API_PATH)
        assert not env.auth._thread_lock.locked()
        assert env.store.acquire_lock(env.key, "other", 1)
        assert env.store.release_lock(env.key, "other")
        env.org.token_answer = None
        assert client.get(API_PATH).status_code == 200


def test_waits_for_a_peers_lock_on_the_clock_then_proceeds(expired_body: Any) -> None:
    env = make_env(expired_body, lock_wait_s=90)
    assert env.store.acquire_lock(env.key, "peer", 2.0)  # a peer mid-refresh
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200
    assert env.clock.sleeps[:4] == [0.05, 0.1, 0.2, 0.4]
    assert 2.0 <= env.clock.total_slept < 3.0  # until the peer's lease ran out
    assert env.org.token_calls == 1


def test_gives_up_on_a_lock_that_never_frees(expired_body: Any) -> None:
    env = make_env(expired_body, lock_wait_s=5)
    assert env.store.acquire_lock(env.key, "stuck-peer", 3600)
    with env.client() as client, pytest.raises(TokenStoreError, match="refresh lock"):
        client.get(API_PATH)
    assert env.clock.total_slept == pytest.approx(5.0)
    assert max(env.clock.sleeps) == 1.0
    assert env.org.token_calls == 0 and env.org.api_requests == []
    assert not env.auth._thread_lock.locked()


# --- single flight ----------------------------------------------------------------------------


class CountingLock:
    """A threading.Lock that opens a gate once `n` threads have tried to take it."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._mutex = threading.Lock()
        self.attempts = 0
        self.n = n
        self.all_waiting = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        with self._mutex:
            self.attempts += 1
            if self.attempts >= self.n:
                self.all_waiting.set()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


def test_sixteen_threads_one_token_call(env: Env) -> None:
    env.seed(access="00D!expired", ttl=0)
    lock = CountingLock(16)
    env.auth._thread_lock = lock  # type: ignore[assignment]
    plain_token = env.org.token

    def gated_token(request: httpx.Request) -> httpx.Response:
        assert lock.all_waiting.wait(timeout=10), "threads never queued on the refresh"
        return plain_token(request)

    env.org.token = gated_token  # type: ignore[method-assign]
    statuses: list[int] = []
    with env.client() as client:
        barrier = threading.Barrier(16)

        def call() -> None:
            barrier.wait()
            statuses.append(client.get(API_PATH).status_code)

        threads = [threading.Thread(target=call) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert statuses == [200] * 16
    assert lock.attempts == 16 and env.org.token_calls == 1 and env.auth.refresh_count == 1


async def test_sixteen_tasks_one_token_call(env: Env) -> None:
    env.seed(access="00D!expired", ttl=0)
    started = 0
    all_waiting = asyncio.Event()
    real_lock = asyncio.Lock()

    class CountingAsyncLock:
        async def acquire(self) -> bool:
            nonlocal started
            started += 1
            if started >= 16:
                all_waiting.set()
            return await real_lock.acquire()

        def release(self) -> None:
            real_lock.release()

    counting = CountingAsyncLock()
    env.auth._loop_lock = lambda: counting  # type: ignore[assignment,method-assign,return-value]

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            await asyncio.wait_for(all_waiting.wait(), timeout=10)
        return env.org.handle(request)

    async with env.async_client(handler) as client:
        responses = await asyncio.gather(*(client.get(API_PATH) for _ in range(16)))
    assert [r.status_code for r in responses] == [200] * 16
    assert started == 16 and env.org.token_calls == 1 and env.auth.refresh_count == 1


# --- async client -----------------------------------------------------------------------------


async def test_async_refresh_and_replay(env: Env) -> None:
    env.seed(access="00D!revoked")
    seen: list[TokenData | None] = []
    env.org.on_api = lambda request: seen.append(env.stored())
    async with env.async_client() as client:
        response = await client.get(API_PATH)
    assert response.status_code == 200 and env.org.token_calls == 1
    assert seen[-1] is not None and seen[-1].refresh_token == "rt-1"


async def test_async_proactive_refresh_and_second_401(env: Env) -> None:
    async with env.async_client() as client:
        await client.get(API_PATH)
        env.clock.advance(7200)
        await client.get(API_PATH)
        assert env.org.token_calls == 2
        env.org.on_api = lambda request: env.org.revoke_all_access()
        with pytest.raises(AuthenticationError):
            await client.get(API_PATH)
    assert env.org.token_calls == 3


async def test_async_invalid_grant_and_store_abort(env: Env) -> None:
    env.seed(access="00D!revoked", refresh="rt-rotated-out")
    async with env.async_client() as client:
        with pytest.raises(InvalidGrantError):
            await client.get(API_PATH)
    assert env.org.token_calls == 1 and env.stored() is None


async def test_async_transport_failure_frees_the_locks(env: Env) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    env.org.token_answer = drop
    async with env.async_client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(API_PATH)
        assert env.store.acquire_lock(env.key, "other", 1)
        env.store.release_lock(env.key, "other")
        env.org.token_answer = None
        assert (await client.get(API_PATH)).status_code == 200


def test_one_auth_serves_several_event_loops(env: Env) -> None:
    async def once() -> int:
        async with env.async_client() as client:
            env.clock.advance(7200)  # force a refresh, so the loop's lock is used
            return (await client.get(API_PATH)).status_code

    assert asyncio.run(once()) == 200
    assert asyncio.run(once()) == 200
    assert env.org.token_calls == 2


async def test_async_lock_wait_sleeps_on_the_clock(expired_body: Any) -> None:
    env = make_env(expired_body)
    assert env.store.acquire_lock(env.key, "peer", 0.3)
    async with env.async_client() as client:
        assert (await client.get(API_PATH)).status_code == 200
    assert env.clock.sleeps[:3] == [0.05, 0.1, 0.2]


# --- the rest of the surface ------------------------------------------------------------------


def test_access_token_auth_sends_it_and_never_refreshes(env: Env) -> None:
    auth = SalesforceAuth(AccessTokenAuth(access_token="00D!raw", instance_url=INSTANCE))
    env.org.valid.add("00D!raw")
    transport = httpx.MockTransport(env.org.handle)
    with httpx.Client(transport=transport, auth=auth, base_url=INSTANCE) as client:
        assert client.get(API_PATH).status_code == 200
        env.org.revoke_all_access()
        with pytest.raises(AuthenticationError):
            client.get(API_PATH)
    assert env.org.token_calls == 0
    assert auth.token is not None and auth.token.instance_url == INSTANCE


def test_hook_sees_each_refresh_and_cannot_break_the_call(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[TokenData] = []

    def hook(token: TokenData) -> None:
        got.append(token)
        raise RuntimeError("hook bug")

    env.auth.on_token_refreshed = hook
    with caplog.at_level(logging.ERROR, "salesforce_typed.auth"), env.client() as client:
        assert client.get(API_PATH).status_code == 200
    assert [t.version for t in got] == [1]
    assert "on_token_refreshed hook failed" in caplog.text


def test_get_token_without_a_request(env: Env) -> None:
    with env.client() as client:
        token = env.auth.get_token(client)
        assert token.instance_url == INSTANCE and env.org.token_calls == 1
        assert env.auth.get_token(client) == token and env.org.token_calls == 1
    assert env.org.api_requests == []


async def test_aget_token_without_a_request(env: Env) -> None:
    async with env.async_client() as client:
        token = await env.auth.aget_token(client)
        assert await env.auth.aget_token(client) == token
    assert env.org.token_calls == 1 and env.org.api_requests == []


def test_reset_forgets_the_token(env: Env) -> None:
    with env.client() as client:
        client.get(API_PATH)
    env.auth.reset()
    assert env.auth.token is None


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


def test_tokens_never_reach_logs_or_reprs(env: Env, all_logs: pytest.LogCaptureFixture) -> None:
    env.seed(access="00D!revoked", refresh="rt-seeded")
    env.org.refresh_token = "rt-seeded"
    with env.client() as client:
        client.get(API_PATH)
        env.clock.advance(7200)
        client.get(API_PATH)
    env.org.refresh_token = "something-else"
    env.clock.advance(7200)
    with env.client() as client, pytest.raises(InvalidGrantError):
        client.get(API_PATH)
    text = all_logs.text + repr(env.auth) + repr(env.auth.credentials)
    assert "adopted" in text or "refreshed" in text  # decisions are logged...
    for secret in (
        "00D!revoked",
        "00D!at-1",
        "00D!at-2",
        "rt-seeded",
        "rt-1",
        "rt-2",
        SECRET,
        SEED,
    ):
        assert secret not in text, secret  # ...without the secrets


def test_auth_flow_is_not_driven_generically(env: Env) -> None:
    with pytest.raises(RuntimeError):
        env.auth.auth_flow(httpx.Request("GET", INSTANCE))


# -- the public "this token was rejected" (Bulk 1.0, SOAP and CometD report it their way) -----


def test_refresh_replaces_a_rejected_token_once_and_peers_adopt_it(expired_body: Any) -> None:
    env = make_env(expired_body)
    with env.client() as http:
        first = env.auth.get_token(http)
        fresh = env.auth.refresh(http, rejected=first.access_token)
        assert fresh.access_token != first.access_token and env.org.token_calls == 2
        # A second caller that saw the same rejection gets the new token, no second refresh.
        again = env.auth.refresh(http, rejected=first.access_token)
        assert again == fresh and env.org.token_calls == 2
        # The rotated refresh token was stored before the new access token was handed out.
        stored = env.stored()
        assert stored is not None and stored.refresh_token == env.org.refresh_token


async def test_arefresh_without_a_rejected_token_forces_a_new_one(expired_body: Any) -> None:
    env = make_env(expired_body)
    async with env.async_client() as http:
        first = await env.auth.aget_token(http)
        fresh = await env.auth.arefresh(http)
        assert fresh.access_token != first.access_token and env.org.token_calls == 2


def test_refresh_of_a_raw_access_token_is_an_authentication_error() -> None:
    auth = SalesforceAuth(AccessTokenAuth(access_token="00D!raw", instance_url=INSTANCE))
    assert not auth.can_refresh
    transport = httpx.MockTransport(lambda r: httpx.Response(500))
    with httpx.Client(transport=transport) as http, pytest.raises(AuthenticationError):
        auth.refresh(http, rejected="00D!raw")


def test_unreachable_token_endpoint_is_request_not_sent_naming_host_and_port(
    expired_body: Any,
) -> None:
    env = make_env(expired_body)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    with http, pytest.raises(RequestNotSentError) as err:
        env.auth.get_token(http)
    assert "login.salesforce.com:443" not in str(err.value)  # no port in the URL: none shown
    assert "login.salesforce.com/services/oauth2/token" in str(err.value)
    assert SECRET not in str(err.value) and SEED not in str(err.value)


# -- durability: the newest token wins, store faults, the journal, the heartbeat --------------


class ListJournal:
    """An in-memory `Journal` (the real one is `stores.journal.TokenJournal`, on disk)."""

    def __init__(self) -> None:
        self.entries: dict[str, list[TokenData]] = {}

    def record(self, key: str, data: TokenData) -> None:
        self.entries.setdefault(key, []).append(data)

    def latest(self, key: str) -> TokenData | None:
        items = self.entries.get(key) or []
        return max(items, key=lambda t: t.last_refreshed_at) if items else None

    def forget(self, key: str, *, upto: TokenData) -> None:
        self.entries[key] = [
            t for t in self.entries.get(key, []) if t.last_refreshed_at > upto.last_refreshed_at
        ]

    async def arecord(self, key: str, data: TokenData) -> None:
        self.record(key, data)

    async def alatest(self, key: str) -> TokenData | None:
        return self.latest(key)

    async def aforget(self, key: str, *, upto: TokenData) -> None:
        self.forget(key, upto=upto)


class FlakyStore(MemoryTokenStore):
    """`failures` token writes raise TokenStoreError (a dropped connection, an outage)."""

    failures = 0
    writes = 0

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        self.writes += 1
        if self.failures > 0:
            self.failures -= 1
            raise TokenStoreError("connection to the token store dropped")
        return super().set_token_data(key, data, expected_version=expected_version)


def test_a_store_that_lost_its_data_gets_the_newest_token_back_not_the_seed(
    expired_body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env = make_env(expired_body)
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200  # seed -> rt-1, stored
        env.store.clear_token_data(env.key)  # e.g. Redis restarted without persistence
        env.org.revoke_all_access()  # and the session ended
        with caplog.at_level(logging.WARNING, "salesforce_typed.auth"):
            assert client.get(API_PATH).status_code == 200
    # The second refresh used rt-1 (the seed would have revoked the family).
    assert [f["refresh_token"] for f in env.org.token_forms] == [SEED, "rt-1"]
    assert env.org.refresh_token == "rt-2" and env.stored().refresh_token == "rt-2"
    assert "writing back the newer token" in caplog.text and "rt-1" not in caplog.text


def test_a_store_that_went_back_to_an_older_token_is_corrected(expired_body: Any) -> None:
    env = make_env(expired_body)
    with env.client() as client:
        client.get(API_PATH)  # rt-1 stored as version 1
        old = env.stored()
        env.clock.advance(10)
        env.org.revoke_all_access()
        client.get(API_PATH)  # rt-2 stored as version 2
        # a failover to a replica that missed the last write: version 1 again
        env.store.clear_token_data(env.key)
        assert old is not None and env.store.set_token_data(env.key, old, expected_version=None)
        env.clock.advance(10)
        env.org.revoke_all_access()
        assert client.get(API_PATH).status_code == 200
    assert [f["refresh_token"] for f in env.org.token_forms] == [SEED, "rt-1", "rt-2"]
    assert env.org.token_calls == 3 and env.org.refresh_token == "rt-3"


def test_store_write_errors_are_retried_then_succeed(expired_body: Any) -> None:
    env = make_env(expired_body, store_cls=FlakyStore)
    env.store.failures = 2  # type: ignore[attr-defined]
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200
    assert env.store.writes == 3  # type: ignore[attr-defined]
    stored = env.stored()
    assert stored is not None and stored.refresh_token == env.org.refresh_token == "rt-1"


def test_a_store_that_stays_down_keeps_the_rotated_token_journaled_then_writes_it_back(
    expired_body: Any,
) -> None:
    journal = ListJournal()
    env = make_env(expired_body, store_cls=FlakyStore, journal=journal, store_write_deadline_s=5.0)
    env.store.failures = 10_000  # type: ignore[attr-defined]
    with env.client() as client:
        # The rotation happened; the store never took rt-1, but the request still ran on it.
        assert client.get(API_PATH).status_code == 200
        assert journal.latest(env.key) is not None
        assert journal.latest(env.key).refresh_token == "rt-1"  # type: ignore[union-attr]
        assert env.stored() is None
        # The refresh lock is left to lapse (not given back): no peer refreshes meanwhile.
        assert not env.store.acquire_lock(env.key, "a-peer", 1.0)
        env.store.failures = 0  # type: ignore[attr-defined]
        env.clock.advance(120)  # past the lock the failed refresh left to lapse
        env.org.revoke_all_access()
        assert client.get(API_PATH).status_code == 200
    assert [f["refresh_token"] for f in env.org.token_forms] == [SEED, "rt-1"]
    stored = env.stored()
    assert stored is not None and stored.refresh_token == "rt-2"
    assert journal.latest(env.key) is None  # forgotten once the store held it


def test_a_new_process_recovers_a_journaled_token_newer_than_the_store(
    expired_body: Any,
) -> None:
    journal = ListJournal()
    first = make_env(expired_body, journal=journal)
    with first.client() as client:
        client.get(API_PATH)  # rt-1 stored
    # Killed between the token response and the store write: rt-2 reached the journal only.
    rotated = attrs.evolve(
        first.stored(),  # type: ignore[arg-type]
        access_token="00D!at-2",
        refresh_token="rt-2",
        last_refreshed_at=first.clock.now() + 5,
    )
    journal.record(first.key, rotated)
    first.org.refresh_token = "rt-2"
    first.org.issued = 2
    again = SalesforceAuth(
        first.auth.credentials, store=first.store, clock=first.clock, journal=journal
    )
    first.clock.advance(60)
    with httpx.Client(transport=httpx.MockTransport(first.org.handle), auth=again) as client:
        assert client.get(f"{INSTANCE}{API_PATH}").status_code == 200
    assert first.org.token_forms[-1]["refresh_token"] == "rt-2"  # not the store's rt-1
    assert first.stored().refresh_token == "rt-3"  # type: ignore[union-attr]


def test_the_lock_is_renewed_while_a_slow_token_call_is_in_flight(expired_body: Any) -> None:
    import time

    from salesforce_typed.core.clock import SystemClock

    store = MemoryTokenStore(clock=SystemClock())
    org = FakeOrg(expired_body)
    grant = RefreshTokenGrant(
        client_id="3MVG9-cid", refresh_token=SEED, client_secret=SECRET, token_url=TOKEN_URL
    )
    auth = SalesforceAuth(grant, store=store, lock_ttl_s=0.3)
    stolen: list[bool] = []

    def slow_token(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/services/oauth2/token":
            time.sleep(1.0)  # more than three lock lifetimes
            stolen.append(store.acquire_lock(auth.key, "a-peer", 0.3))
        return org.handle(request)

    with httpx.Client(transport=httpx.MockTransport(slow_token), auth=auth) as client:
        assert client.get(f"{INSTANCE}{API_PATH}").status_code == 200
    assert stolen == [False]  # the heartbeat kept the refresh lock ours throughout


async def test_async_store_errors_are_retried_and_lost_data_is_written_back(
    expired_body: Any,
) -> None:
    env = make_env(expired_body, store_cls=FlakyStore)
    env.store.failures = 1  # type: ignore[attr-defined]
    async with env.async_client() as client:
        assert (await client.get(API_PATH)).status_code == 200  # one failed write, retried
        env.store.clear_token_data(env.key)
        env.org.revoke_all_access()
        assert (await client.get(API_PATH)).status_code == 200
    assert [f["refresh_token"] for f in env.org.token_forms] == [SEED, "rt-1"]
    assert env.stored().refresh_token == "rt-2"  # type: ignore[union-attr]


class AppliedThenLostStore(MemoryTokenStore):
    """The first token write is applied, but its answer is lost (an error is raised)."""

    lose_next = True

    def set_token_data(self, key: str, data: TokenData, *, expected_version: int | None) -> bool:
        written = super().set_token_data(key, data, expected_version=expected_version)
        if self.lose_next:
            self.lose_next = False
            raise TokenStoreError("the reply to the write was lost")
        return written


def test_a_write_whose_reply_was_lost_is_recognised_as_written(expired_body: Any) -> None:
    journal = ListJournal()
    env = make_env(expired_body, store_cls=AppliedThenLostStore, journal=journal)
    with env.client() as client:
        assert client.get(API_PATH).status_code == 200  # no abort: the retry saw our token
    stored = env.stored()
    assert stored is not None and stored.refresh_token == env.org.refresh_token == "rt-1"
    assert env.auth.refresh_count == 1 and journal.latest(env.key) is None
