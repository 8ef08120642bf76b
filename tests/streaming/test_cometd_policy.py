"""cometd.py (pure Bayeux messages and reply classification) and policy.py (the tables)."""

from __future__ import annotations

from typing import Any

import pytest

from salesforce_typed.streaming import cometd
from salesforce_typed.streaming.cometd import Advice, ErrorKind, classify_reply, classify_status
from salesforce_typed.streaming.policy import (
    EARLIEST,
    RETRYABLE,
    TERMINAL,
    TIP,
    Action,
    Backoff,
    ReplayFallback,
    action_for,
)

INVALID_REPLAY = (
    "400::The replayId {1553783} you provided was invalid.  Please provide a valid ID, "
    "-2 to replay all events, or -1 to replay only new events."
)


def test_builders_make_one_message_arrays() -> None:
    hs = cometd.build_handshake("1")
    assert hs == [
        {
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "ext": {"replay": True},
            "id": "1",
        }
    ]
    assert cometd.build_connect("c1", "2") == [
        {"channel": "/meta/connect", "clientId": "c1", "connectionType": "long-polling", "id": "2"}
    ]
    assert cometd.build_connect("c1", "2", timeout_ms=0)[0]["advice"] == {"timeout": 0}
    sub = cometd.build_subscribe("c1", "/data/AccountChangeEvent", 4711, "3")[0]
    # The replay map key is exactly the subscription string.
    assert sub["subscription"] == "/data/AccountChangeEvent"
    assert sub["ext"] == {"replay": {"/data/AccountChangeEvent": 4711}}
    assert cometd.build_unsubscribe("c1", "/event/X__e", "4")[0]["subscription"] == "/event/X__e"
    assert cometd.build_disconnect("c1", "5") == [
        {"channel": "/meta/disconnect", "clientId": "c1", "id": "5"}
    ]


@pytest.mark.parametrize("version", ["62.0", "v62.0"])
def test_cometd_path(version: str) -> None:
    assert cometd.cometd_path(version) == "/cometd/62.0"


def test_cometd_path_needs_a_version() -> None:
    with pytest.raises(ValueError, match=r"62\.0"):
        cometd.cometd_path("")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("403::Unknown client", (403, "Unknown client")),
        ("402::Unknown client", (402, "Unknown client")),
        ("401:arg1,arg2:Authentication invalid", (401, "Authentication invalid")),
        ("something odd", (None, "something odd")),
        (None, (None, "")),
    ],
)
def test_parse_error(error: Any, expected: tuple[int | None, str]) -> None:
    assert cometd.parse_error(error) == expected


def _failed(channel: str, error: str, **extra: Any) -> dict[str, Any]:
    return {"channel": channel, "successful": False, "error": error, **extra}


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (_failed("/meta/connect", "403::Unknown client"), ErrorKind.UNKNOWN_CLIENT),
        (_failed("/meta/connect", "402::Unknown client"), ErrorKind.UNKNOWN_CLIENT),
        (_failed("/meta/connect", "401::Authentication invalid"), ErrorKind.AUTHENTICATION),
        (
            _failed("/meta/connect", "401::Request requires authentication"),
            ErrorKind.NO_AUTH_HEADER,
        ),
        (
            _failed(
                "/meta/handshake",
                "403::Handshake denied",
                ext={"sfdc": {"failureReason": "401::Authentication invalid"}},
            ),
            ErrorKind.AUTHENTICATION,
        ),
        (
            _failed(
                "/meta/handshake",
                "403::Handshake denied",
                ext={"sfdc": {"failureReason": "403::Organization concurrent user limit exceeded"}},
            ),
            ErrorKind.CLIENT_LIMIT,
        ),
        (_failed("/meta/handshake", "403::Handshake denied"), ErrorKind.HANDSHAKE_DENIED),
        (_failed("/meta/subscribe", INVALID_REPLAY), ErrorKind.INVALID_REPLAY_ID),
        (
            _failed(
                "/meta/subscribe",
                "400::The replayId for channel {/topic/X} wasn't found using the provided "
                "replay ID map {{}}",
            ),
            ErrorKind.REPLAY_MAP_MISMATCH,
        ),
        (
            _failed("/meta/subscribe", "403::Organization total events daily limit exceeded"),
            ErrorKind.DAILY_EVENT_LIMIT,
        ),
        (
            _failed(
                "/meta/subscribe",
                "400::The channel you requested to subscribe to doesn't exist {/data/Nope}",
            ),
            ErrorKind.UNKNOWN_CHANNEL,
        ),
        (
            _failed(
                "/meta/connect",
                "400::Client abc has established a session, but no BAYEUX_BROWSER cookie present",
            ),
            ErrorKind.MISSING_COOKIE,
        ),
        (_failed("/meta/connect", "400::Invalid connection type"), ErrorKind.BAD_REQUEST),
        (_failed("/meta/connect", "500::boom"), ErrorKind.OTHER),
    ],
)
def test_classify_reply(reply: dict[str, Any], kind: ErrorKind) -> None:
    error = classify_reply(reply)
    assert error is not None and error.kind is kind
    assert error.channel == reply["channel"]


def test_successful_reply_is_not_an_error() -> None:
    assert classify_reply({"channel": "/meta/connect", "successful": True}) is None


def test_classified_error_keeps_advice_subscription_and_words() -> None:
    reply = _failed(
        "/meta/subscribe", INVALID_REPLAY, subscription="/data/X", advice={"reconnect": "none"}
    )
    error = classify_reply(reply)
    assert error is not None
    assert error.subscription == "/data/X" and error.code == 400
    assert error.reconnect_advice == "none"
    assert "1553783" in error.text and "/data/X" in error.describe()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, [_failed("/meta/connect", "401::Authentication invalid")], ErrorKind.AUTHENTICATION),
        (503, "<html>down</html>", ErrorKind.SERVER_ERROR),
        (502, None, ErrorKind.SERVER_ERROR),
        (429, "slow down", ErrorKind.SERVER_ERROR),
        (
            400,
            "Client x has established a session, but no BAYEUX_BROWSER cookie present",
            ErrorKind.MISSING_COOKIE,
        ),
        (404, "not here", ErrorKind.BAD_REQUEST),
    ],
)
def test_classify_status(status: int, body: Any, kind: ErrorKind) -> None:
    error = classify_status(status, body, "/meta/connect")
    assert error is not None and error.kind is kind and error.code == status


def test_classify_status_leaves_bayeux_failures_to_the_reply() -> None:
    body = [_failed("/meta/subscribe", INVALID_REPLAY)]
    assert classify_status(400, body, "/meta/subscribe") is None
    assert classify_status(200, [], "/meta/connect") is None


def test_split_reply() -> None:
    event = {"channel": "/data/X", "data": {}}
    meta, data = cometd.split_reply([event, {"channel": "/meta/connect"}, "junk"])
    assert meta == [{"channel": "/meta/connect"}] and data == [event]
    assert cometd.split_reply({"channel": "/meta/connect"}) == ([{"channel": "/meta/connect"}], [])
    assert cometd.split_reply("text") == ([], [])


def test_advice_merges_only_known_keys() -> None:
    advice = Advice()
    assert advice.timeout_ms == 110_000 and advice.reconnect == "retry"
    merged = advice.merged({"reconnect": "handshake", "interval": 250, "timeout": 5000})
    assert merged == Advice(reconnect="handshake", interval_ms=250, timeout_ms=5000)
    assert merged.merged({"reconnect": "bogus", "interval": True}) == merged
    assert merged.merged(None) is merged


# --- policy ----------------------------------------------------------------------------------


def test_every_kind_has_exactly_one_decision() -> None:
    assert not set(RETRYABLE) & TERMINAL
    for kind in ErrorKind:
        action = action_for(kind)
        assert (action is Action.STOP) == (kind in TERMINAL)


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        (ErrorKind.UNKNOWN_CLIENT, Action.REHANDSHAKE),  # not an auth problem
        (ErrorKind.AUTHENTICATION, Action.REAUTHENTICATE),
        (ErrorKind.HANDSHAKE_DENIED, Action.STOP),  # a 403 never refreshes
        (ErrorKind.INVALID_REPLAY_ID, Action.REPLAY_FALLBACK),
        (ErrorKind.CLIENT_LIMIT, Action.BACKOFF_REHANDSHAKE),
        (ErrorKind.SERVER_ERROR, Action.RETRY),
        (ErrorKind.TRANSPORT, Action.RETRY),
        (ErrorKind.DAILY_EVENT_LIMIT, Action.STOP),
        (ErrorKind.OTHER, Action.REHANDSHAKE),
    ],
)
def test_action_table(kind: ErrorKind, action: Action) -> None:
    assert action_for(kind) is action


def test_replay_fallback_values() -> None:
    assert ReplayFallback.EARLIEST.value == EARLIEST == -2
    assert ReplayFallback.TIP.value == TIP == -1
    assert ReplayFallback.STOP.value == "stop"


def test_backoff_is_capped_exponential_with_injected_jitter() -> None:
    backoff = Backoff(base=1.0, cap=8.0, jitter=lambda ceiling: ceiling)
    assert [backoff.delay(n) for n in range(0, 6)] == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0]
    no_jitter = Backoff(base=1.0, cap=8.0, jitter=lambda ceiling: 0.0)
    assert no_jitter.delay(1) == 0.5  # never zero: no hot loop
    capacity = Backoff(limit_base=10.0, limit_cap=300.0, jitter=lambda c: c)
    assert capacity.delay(1, capacity=True) == 10.0
    assert capacity.delay(30, capacity=True) == 300.0
