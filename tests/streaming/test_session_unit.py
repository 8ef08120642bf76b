"""The CometD session and listener against a scripted org (MockTransport, FakeClock): every
reply and error branch of the policy tables, with no sockets and no waiting."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from streaming_mock import CHANNEL, COMETD, MockOrg, cdc, make_listener

from salesforce_typed.core.clock import FakeClock, SystemClock
from salesforce_typed.core.errors import InvalidGrantError
from salesforce_typed.streaming import (
    EARLIEST,
    AsyncListener,
    Backoff,
    ChangeDataEvent,
    ConnectionLostError,
    MemoryCheckpoints,
    ReplayFallback,
    ReplayIdInvalidError,
    StreamingStoppedError,
)


def stop_when_idle(org: MockOrg, listener: AsyncListener, idle: int = 1) -> None:
    """Stop the listener after `idle` empty connects once the script ran out."""
    left = [idle]

    def empty() -> None:
        left[0] -= 1
        if left[0] <= 0:
            listener.stop()

    org.on_empty_connect = empty


async def run(listener: AsyncListener) -> None:
    # A bound on a hung test only; no assertion depends on time.
    await asyncio.wait_for(listener.run(), 30)


def bearer(request: httpx.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


def cometd_requests(org: MockOrg) -> list[httpx.Request]:
    return [r for r in org.requests if str(r.url) == COMETD]


async def test_handshake_subscribe_connect_delivers_typed_events_and_checkpoints() -> None:
    org = MockOrg()
    checkpoints = MemoryCheckpoints()
    listener, _auth, _store = make_listener(org, checkpoints=checkpoints)
    seen: list[ChangeDataEvent] = []
    svc = listener.channel(CHANNEL, replay=EARLIEST)
    svc.on_update(seen.append)
    org.push(cdc(11, Rating="Hot"), cdc(12, Rating="Warm"))
    stop_when_idle(org, listener)
    await run(listener)

    assert [e.replay_id for e in seen] == [11, 12]
    assert str(seen[0].record.Rating) == "Hot" and seen[0].record_ids == ["001Hs00003Zk000011"]
    assert type(seen[0].record).__name__ == "AccountChangeEvent"
    assert checkpoints.positions == {CHANNEL: 12}
    channels = [m["channel"] for m in org.messages]
    assert channels[:3] == ["/meta/handshake", "/meta/subscribe", "/meta/connect"]
    assert channels[-1] == "/meta/disconnect"  # the slot is freed on stop
    assert org.sent("/meta/subscribe")[0]["ext"] == {"replay": {CHANNEL: -2}}
    connect = org.sent("/meta/connect")[0]
    assert connect["clientId"] == "client-1" and connect["connectionType"] == "long-polling"
    # BAYEUX_BROWSER, set by the handshake, goes back on every later request.
    after = cometd_requests(org)[1:]
    assert after and all("BAYEUX_BROWSER=abc123" in r.headers.get("cookie", "") for r in after)
    assert org.token_calls == 1


async def test_connect_read_timeout_exceeds_the_advice_timeout() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)
    stop_when_idle(org, listener)
    await run(listener)
    connects = [r for r in cometd_requests(org) if b"/meta/connect" in r.content]
    read = connects[0].extensions["timeout"]["read"]
    assert read > 110.0


@pytest.mark.parametrize("error", ["403::Unknown client", "402::Unknown client"])
async def test_unknown_client_rehandshakes_and_resubscribes_from_the_checkpoint(error: str) -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    seen: list[int | None] = []
    listener.channel(CHANNEL, replay=-1, on_update=lambda e: seen.append(e.replay_id))
    org.push(cdc(21), cdc(22))
    org.batches.append([])  # after the events: one empty poll, then the drop
    stop_when_idle(org, listener, idle=2)

    calls = {"n": 0}
    original = org.handle

    def drop_after_events(request: httpx.Request) -> httpx.Response:
        if str(request.url) == COMETD and b"/meta/connect" in request.content:
            calls["n"] += 1
            if calls["n"] == 3:
                org.fail(
                    "/meta/connect",
                    {"error": error, "advice": {"reconnect": "handshake", "interval": 0}},
                )
        return original(request)

    org.handle = drop_after_events  # type: ignore[method-assign]
    await run(listener)

    assert seen == [21, 22]
    assert org.client_seq == 2  # re-handshaked once
    subs = org.sent("/meta/subscribe")
    assert [s["ext"]["replay"][CHANNEL] for s in subs] == [-1, 22]  # from the checkpoint
    assert subs[1]["clientId"] == "client-2"
    assert org.token_calls == 1  # Unknown client is not an auth problem


async def test_http_401_refreshes_the_token_once_then_rehandshakes() -> None:
    org = MockOrg()
    listener, auth, store = make_listener(org)
    listener.channel(CHANNEL, on_update=lambda e: None)
    org.push(cdc(5))

    def kill_token() -> None:  # the first token dies after the first events
        org.dead_tokens.add("tok-1")
        org.on_empty_connect = lambda: listener.stop()

    org.on_empty_connect = kill_token
    await run(listener)

    assert org.token_calls == 2 and org.access_tokens == ["tok-1", "tok-2"]
    handshakes = [r for r in cometd_requests(org) if b"/meta/handshake" in r.content]
    assert [bearer(r) for r in handshakes] == ["tok-1", "tok-2"]
    assert org.sent("/meta/subscribe")[-1]["ext"]["replay"][CHANNEL] == 5
    token = store.get_token_data(auth.key)
    assert token is not None and token.refresh_token == "rt-2"  # the rotated token was stored


async def test_handshake_denied_for_a_dead_token_refreshes() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)
    org.fail(
        "/meta/handshake",
        {
            "error": "403::Handshake denied",
            "ext": {"sfdc": {"failureReason": "401::Authentication invalid"}},
        },
    )
    stop_when_idle(org, listener)
    await run(listener)
    assert org.token_calls == 2 and org.client_seq == 1


async def test_handshake_denied_403_stops_without_refreshing() -> None:
    org = MockOrg()
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(org, on_error=errors.append)
    listener.channel(CHANNEL)
    org.fail("/meta/handshake", {"error": "403::Handshake denied"})
    with pytest.raises(StreamingStoppedError, match="Handshake denied") as info:
        await run(listener)
    assert org.token_calls == 1  # a 403 never refreshes
    assert errors == [info.value]


async def test_client_limit_backs_off_then_rehandshakes() -> None:
    org = MockOrg()
    clock = FakeClock()
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(
        org, clock=clock, on_error=errors.append, backoff=Backoff(limit_base=10, jitter=lambda c: c)
    )
    listener.channel(CHANNEL)
    denied = {
        "error": "403::Handshake denied",
        "ext": {"sfdc": {"failureReason": "403::Organization concurrent user limit exceeded"}},
    }
    org.fail("/meta/handshake", denied, denied)
    stop_when_idle(org, listener)
    await run(listener)
    assert clock.sleeps[:2] == [10.0, 20.0]
    assert [type(e) for e in errors] == [ConnectionLostError, ConnectionLostError]
    assert org.token_calls == 1


@pytest.mark.parametrize(
    ("fallback", "expected"), [(ReplayFallback.EARLIEST, -2), (ReplayFallback.TIP, -1)]
)
async def test_invalid_replay_id_takes_the_fallback_and_reports_it(
    fallback: ReplayFallback, expected: int
) -> None:
    org = MockOrg()
    org.invalid_replay_ids.add(4711)
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(
        org,
        on_error=errors.append,
        replay_fallback=fallback,
        checkpoints=MemoryCheckpoints({CHANNEL: 4711}),
    )
    seen: list[int | None] = []
    listener.channel(CHANNEL, on_update=lambda e: seen.append(e.replay_id))
    org.push(cdc(5000))
    stop_when_idle(org, listener)
    await run(listener)

    subs = [s["ext"]["replay"][CHANNEL] for s in org.sent("/meta/subscribe")]
    assert subs == [4711, expected]
    assert len(errors) == 1 and isinstance(errors[0], ReplayIdInvalidError)
    assert errors[0].channel == CHANNEL and errors[0].replay_id == 4711
    assert errors[0].fallback == expected
    assert seen == [5000]


async def test_invalid_replay_id_with_stop_fallback_stops_and_reports() -> None:
    org = MockOrg()
    org.invalid_replay_ids.add(4711)
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(
        org,
        on_error=errors.append,
        replay_fallback=ReplayFallback.STOP,
        checkpoints=MemoryCheckpoints({CHANNEL: 4711}),
    )
    listener.channel(CHANNEL)
    with pytest.raises(StreamingStoppedError):
        await run(listener)
    assert isinstance(errors[0], ReplayIdInvalidError) and errors[0].fallback == "stop"
    assert isinstance(errors[1], StreamingStoppedError)
    assert len(org.sent("/meta/subscribe")) == 1  # no retry loop


async def test_fallback_refused_too_stops_instead_of_looping() -> None:
    org = MockOrg()
    org.invalid_replay_ids.update({4711, -2})
    listener, _auth, _store = make_listener(org, checkpoints=MemoryCheckpoints({CHANNEL: 4711}))
    listener.channel(CHANNEL)
    with pytest.raises(StreamingStoppedError):
        await run(listener)


async def test_advice_none_on_a_successful_connect_stops() -> None:
    org = MockOrg()
    org.connect_advice = {"reconnect": "none"}
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)
    with pytest.raises(StreamingStoppedError, match="reconnect=none"):
        await run(listener)


async def test_advice_none_on_a_failure_stops_even_when_retryable() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)
    org.fail("/meta/connect", {"error": "403::Unknown client", "advice": {"reconnect": "none"}})
    with pytest.raises(StreamingStoppedError, match="Unknown client"):
        await run(listener)


async def test_advice_handshake_after_a_connect_rehandshakes() -> None:
    org = MockOrg()
    org.connect_advice = {"reconnect": "handshake", "interval": 0}
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)

    def second() -> None:  # the first connect advises a handshake; the next one retry
        org.on_empty_connect = lambda: setattr(org, "connect_advice", {"reconnect": "retry"})
        org.on_empty_connect = lambda: listener.stop() if org.client_seq == 2 else None

    org.on_empty_connect = second
    await run(listener)
    assert org.client_seq == 2


async def test_advice_interval_is_slept_on_the_clock() -> None:
    org = MockOrg()
    org.connect_advice = {"reconnect": "retry", "interval": 1500, "timeout": 110000}
    clock = FakeClock()
    listener, _auth, _store = make_listener(org, clock=clock)
    listener.channel(CHANNEL)
    stop_when_idle(org, listener, idle=3)
    await run(listener)
    assert clock.sleeps.count(1.5) >= 2


async def test_invalid_grant_shuts_down_cleanly_and_clears_the_store() -> None:
    org = MockOrg()
    errors: list[Exception] = []
    listener, auth, store = make_listener(org, on_error=errors.append)
    listener.channel(CHANNEL)
    org.push(cdc(7))

    def revoke() -> None:
        org.dead_tokens.add("tok-1")
        org.token_error = {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }

    org.on_empty_connect = revoke
    with pytest.raises(InvalidGrantError) as info:
        await run(listener)
    assert errors == [info.value]
    assert store.get_token_data(auth.key) is None  # cleared: re-authorize
    assert org.token_calls == 2
    requests_after = len(org.requests)
    assert listener.session is None and len(org.requests) == requests_after


@pytest.mark.parametrize(
    "failure", [503, httpx.ReadError("reset"), httpx.ConnectError("refused")], ids=str
)
async def test_server_errors_and_drops_back_off_then_retry(failure: Any) -> None:
    org = MockOrg()
    clock = FakeClock()
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(
        org, clock=clock, on_error=errors.append, backoff=Backoff(base=1, jitter=lambda c: c)
    )
    seen: list[int | None] = []
    listener.channel(CHANNEL, on_update=lambda e: seen.append(e.replay_id))
    org.fail("/meta/connect", failure, failure, failure)
    org.push(cdc(1))
    stop_when_idle(org, listener)
    await run(listener)
    assert clock.sleeps[:3] == [1.0, 2.0, 4.0]
    assert len(errors) == 3 and all(isinstance(e, ConnectionLostError) for e in errors)
    assert seen == [1]
    # A lost connect answer may have carried events: each retry re-subscribes from the
    # checkpoint on a new client id, after telling the server to drop the old one.
    assert org.client_seq == 4
    assert len(org.sent("/meta/disconnect")) >= 3


async def test_token_endpoint_down_is_retried_not_terminal() -> None:
    org = MockOrg()
    clock = FakeClock()
    listener, _auth, _store = make_listener(org, clock=clock)
    listener.channel(CHANNEL)
    org.token_error = None
    original = org.handle
    state = {"fail": 2}

    def flaky(request: httpx.Request) -> httpx.Response:
        if "oauth2/token" in str(request.url) and state["fail"] > 0:
            state["fail"] -= 1
            return httpx.Response(503, text="down")
        return original(request)

    org.handle = flaky  # type: ignore[method-assign]
    stop_when_idle(org, listener)
    await run(listener)
    assert org.client_seq == 1 and len(clock.sleeps) >= 2


async def test_proactive_rehandshake_before_the_token_expires() -> None:
    org = MockOrg()
    clock = FakeClock()
    listener, _auth, _store = make_listener(org, clock=clock)
    listener.channel(CHANNEL)
    polls = {"n": 0}

    def tick() -> None:
        polls["n"] += 1
        if polls["n"] == 1:
            clock.advance(7200 - 200)  # inside the refresh margin of a 2 h session
        elif polls["n"] >= 3:
            listener.stop()

    org.on_empty_connect = tick
    await run(listener)
    assert org.token_calls == 2
    assert org.client_seq == 2  # re-handshaked with the new token, before the old one died
    handshakes = [r for r in cometd_requests(org) if b"/meta/handshake" in r.content]
    assert [bearer(r) for r in handshakes] == ["tok-1", "tok-2"]
    assert org.sent("/meta/disconnect")[0]["clientId"] == "client-1"


async def test_repeated_auth_failures_stop_instead_of_spinning() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    listener.channel(CHANNEL)
    auth_invalid = {"error": "401::Authentication invalid", "advice": {"reconnect": "none"}}
    org.fail("/meta/connect", *[auth_invalid] * 10)
    with pytest.raises(StreamingStoppedError):
        await run(listener)
    assert org.token_calls == 4  # the first token and three refreshes


async def test_close_cancels_a_backoff_sleep_at_once() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org, clock=None, backoff=Backoff(base=10_000))
    listener.channel(CHANNEL)
    org.fail("/meta/connect", *[503] * 5)
    failed = asyncio.Event()
    listener.on_error = lambda e: failed.set()
    listener.clock = SystemClock()
    task = asyncio.create_task(listener.run())
    await asyncio.wait_for(failed.wait(), 30)
    await asyncio.wait_for(listener.aclose(), 30)  # would take hours if the sleep held
    assert task.done() and not task.cancelled() and task.exception() is None


async def test_events_riding_on_a_subscribe_reply_are_delivered() -> None:
    org = MockOrg()
    listener, _auth, _store = make_listener(org)
    seen: list[int | None] = []
    listener.channel(CHANNEL, on_update=lambda e: seen.append(e.replay_id))

    def subscribe_with_event(msg: dict[str, Any], request: httpx.Request) -> httpx.Response:
        reply = {
            "channel": "/meta/subscribe",
            "id": msg["id"],
            "successful": True,
            "subscription": CHANNEL,
        }
        return httpx.Response(200, json=[cdc(99), reply])

    org.fail("/meta/subscribe", subscribe_with_event)
    stop_when_idle(org, listener)
    await run(listener)
    assert seen == [99]


async def test_a_reply_without_the_meta_answer_is_a_server_error() -> None:
    org = MockOrg()
    clock = FakeClock()
    listener, _auth, _store = make_listener(org, clock=clock)
    listener.channel(CHANNEL)
    org.fail(
        "/meta/connect", lambda msg, req: httpx.Response(200, json=[{"channel": "/meta/other"}])
    )
    stop_when_idle(org, listener)
    await run(listener)
    assert len(clock.sleeps) == 1


async def test_a_refused_rotated_token_write_aborts_and_is_never_used() -> None:
    """SalesforceAuth's fenced write: when the store refuses the rotated token, the token is
    discarded; the listener reports it and retries, and under rotation the next refresh can
    only meet invalid_grant (the family is lost), which stops it cleanly."""
    org = MockOrg()
    errors: list[Exception] = []
    listener, auth, store = make_listener(org, on_error=errors.append)
    listener.channel(CHANNEL)
    original_set = store.aset_token_data
    writes = {"n": 0}

    async def refuse_second_write(key: str, data: Any, *, expected_version: int | None) -> bool:
        writes["n"] += 1
        if writes["n"] == 2:
            return False  # a peer wrote meanwhile (or the lock lapsed): the fence says no
        return await original_set(key, data, expected_version=expected_version)

    store.aset_token_data = refuse_second_write  # type: ignore[method-assign]

    def kill_token() -> None:
        org.dead_tokens.add("tok-1")

    org.on_empty_connect = kill_token
    with pytest.raises(InvalidGrantError):
        await run(listener)
    used = {bearer(r) for r in cometd_requests(org)}
    assert "tok-2" not in used  # the token nobody stored was never sent
    assert [type(e).__name__ for e in errors] == ["ConnectionLostError", "InvalidGrantError"]
    assert "token store" in str(errors[0])
    assert store.get_token_data(auth.key) is None


async def test_a_token_endpoint_away_during_reauthentication_is_backed_off_not_fatal() -> None:
    """CometD rejects the token; the refresh then meets a token endpoint that refuses
    connections twice. That is a transient failure (reported, backed off, retried), never an
    exception out of `run()`: the listener re-authenticates once the endpoint is back."""
    org = MockOrg()
    errors: list[Exception] = []
    listener, _auth, _store = make_listener(org, on_error=errors.append)
    listener.channel(CHANNEL)
    connects = {"n": 0}

    def script() -> None:
        connects["n"] += 1
        if connects["n"] == 1:
            org.dead_tokens.add("tok-1")  # the session ends: 401::Authentication invalid
            org.token_down = 2
        else:
            listener.stop()

    org.on_empty_connect = script
    await run(listener)
    used = {bearer(r) for r in cometd_requests(org)}
    assert "tok-2" in used  # re-authenticated with the refreshed token
    token_errors = [e for e in errors if "token request failed" in str(e)]
    assert len(token_errors) == 2 and all("ConnectError" in str(e) for e in token_errors)
