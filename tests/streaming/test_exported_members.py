"""The public surface of `salesforce_typed.streaming` is its `__all__`, listed here."""

from __future__ import annotations

import salesforce_typed.streaming as streaming

EXPECTED = {
    "EARLIEST",
    "RETRYABLE",
    "TERMINAL",
    "TIP",
    "Action",
    "Advice",
    "AsyncListener",
    "Backoff",
    "BayeuxError",
    "ChangeDataEvent",
    "ChannelService",
    "CheckpointStore",
    "CometDSession",
    "ConnectionLostError",
    "ErrorKind",
    "EventDecoder",
    "FencedCheckpoints",
    "GenericChangeEvent",
    "GenericEvent",
    "HandlerError",
    "LeaderElection",
    "LeadershipLostError",
    "Listener",
    "MemoryCheckpoints",
    "PlatformEvent",
    "PushTopicEvent",
    "ReplayFallback",
    "ReplayIdInvalidError",
    "StreamEvent",
    "StreamingError",
    "StreamingStoppedError",
}


def test_all_is_the_public_surface() -> None:
    assert set(streaming.__all__) == EXPECTED
    assert all(getattr(streaming, name) is not None for name in streaming.__all__)
    public = {n for n in vars(streaming) if not n.startswith(("_", "@"))}
    assert public - EXPECTED <= {
        "annotations",
        "cometd",
        "errors",
        "events",
        "facade",
        "leader",
        "policy",
    }
