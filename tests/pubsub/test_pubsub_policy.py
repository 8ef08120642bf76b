"""The Pub/Sub listener's failure tables: `classify` maps every failure to one action."""

from __future__ import annotations

import grpc
import httpx
import pytest

from salesforce_typed.core.errors import (
    InvalidGrantError,
    PubSubError,
    RequestNotSentError,
    TokenStoreError,
    UsageError,
)
from salesforce_typed.pubsub.policy import (
    RETRYABLE_CODES,
    RETRYABLE_STATUSES,
    TERMINAL_CODES,
    TERMINAL_STATUSES,
    Action,
    classify,
    fallback_preset,
    replay_request,
)
from salesforce_typed.streaming.policy import ReplayFallback
from salesforce_typed.testing.pubsub.service import (
    AUTH_ERROR,
    REPLAY_CORRUPTED,
    REPLAY_INVALID,
    REQUESTED_INVALID,
    SCHEMA_NOT_FOUND,
    SERVICE_UNAVAILABLE,
    TOPIC_NOT_FOUND,
)

P = "sfdc.platform.eventbus.grpc."


def _err(status: str, code: str = "") -> PubSubError:
    return PubSubError("text rpcId: 1", status=status, error_code=code)


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        # A lost connection: no error-code ("Handle Errors", first row).
        ("UNAVAILABLE", "", Action.RETRY),
        ("UNAVAILABLE", SERVICE_UNAVAILABLE, Action.RETRY),
        # service.unavailable arriving as INTERNAL, and gRPC's own "Internal error from Core".
        ("INTERNAL", SERVICE_UNAVAILABLE, Action.RETRY),
        ("INTERNAL", "", Action.RETRY),
        ("DEADLINE_EXCEEDED", "", Action.RETRY),
        ("UNAUTHENTICATED", AUTH_ERROR, Action.REAUTHENTICATE),
        ("UNAUTHENTICATED", "", Action.REAUTHENTICATE),
        ("NOT_FOUND", TOPIC_NOT_FOUND, Action.STOP),
        ("NOT_FOUND", P + "topic.not.found", Action.STOP),
        ("PERMISSION_DENIED", "", Action.STOP),
        ("INVALID_ARGUMENT", REPLAY_CORRUPTED, Action.REPLAY_FALLBACK),
        ("INVALID_ARGUMENT", REPLAY_INVALID, Action.REPLAY_FALLBACK),
        ("INVALID_ARGUMENT", REQUESTED_INVALID, Action.STOP),
        ("INVALID_ARGUMENT", "", Action.STOP),
        ("RESOURCE_EXHAUSTED", P + "subscription.limit.exceeded", Action.STOP),
        ("RESOURCE_EXHAUSTED", "", Action.BACKOFF),
        ("UNAVAILABLE", P + "concurrent.client.limit.exceeded", Action.BACKOFF),
    ],
)
def test_classify_by_code_then_status(status: str, code: str, action: Action) -> None:
    assert classify(_err(status, code)) is action


def test_a_known_code_decides_before_the_status() -> None:
    # The same status, two causes: only the trailer tells them apart.
    assert classify(_err("INVALID_ARGUMENT", REPLAY_CORRUPTED)) is Action.REPLAY_FALLBACK
    assert classify(_err("INVALID_ARGUMENT", P + "subscription.fetch.topic.mismatch")) is (
        Action.STOP
    )
    # A terminal code wins over a status that would be retried.
    assert classify(_err("UNAVAILABLE", P + "service.tenant.license")) is Action.STOP


def test_an_unknown_code_falls_back_to_the_status() -> None:
    assert classify(_err("UNAVAILABLE", P + "something.new")) is Action.RETRY
    assert classify(_err("NOT_FOUND", P + "something.new")) is Action.STOP


def test_every_grpc_status_is_in_one_table() -> None:
    names = {code.name for code in grpc.StatusCode}
    assert names == set(RETRYABLE_STATUSES) | TERMINAL_STATUSES
    assert not set(RETRYABLE_STATUSES) & TERMINAL_STATUSES
    assert not set(RETRYABLE_CODES) & TERMINAL_CODES


def test_every_code_the_fake_org_sends_is_classified() -> None:
    sent = {
        AUTH_ERROR,
        REPLAY_CORRUPTED,
        REPLAY_INVALID,
        TOPIC_NOT_FOUND,
        SCHEMA_NOT_FOUND,
        SERVICE_UNAVAILABLE,
        REQUESTED_INVALID,
    }
    assert sent <= set(RETRYABLE_CODES) | TERMINAL_CODES


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (InvalidGrantError("invalid_grant"), Action.STOP),
        (TokenStoreError("redis down"), Action.RETRY),
        (RequestNotSentError("connect failed"), Action.RETRY),
        (httpx.ConnectError("refused"), Action.RETRY),
        (UsageError("needs a grant"), Action.STOP),
        (ValueError("a bug"), Action.STOP),
    ],
)
def test_classify_failures_around_the_stream(error: Exception, action: Action) -> None:
    assert classify(error) is action


def test_replay_request_maps_positions_to_presets() -> None:
    assert replay_request(-1) == "LATEST"
    assert replay_request(-2) == "EARLIEST"
    assert replay_request(b"\x00\x01") == b"\x00\x01"
    assert replay_request(b"") == b""  # CUSTOM with an empty id: the server refuses it
    assert replay_request(258) == b"\x00\x00\x00\x00\x00\x00\x01\x02"


def test_fallback_preset() -> None:
    assert fallback_preset(ReplayFallback.EARLIEST) == "EARLIEST"
    assert fallback_preset(ReplayFallback.TIP) == "LATEST"
    assert fallback_preset(ReplayFallback.STOP) == "stop"
