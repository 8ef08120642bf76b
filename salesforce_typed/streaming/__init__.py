"""Streaming API (CometD) and Change Data Capture: typed handlers, replay, leader election.

    from salesforce_typed.streaming import ChangeDataEvent, EARLIEST

    listener = sf.listener()        # on the client's token, pool and TLS setting
    # or, without a client: AsyncListener(auth=grant, token_store=store, verify=...)
    accounts = listener.channel("/data/AccountChangeEvent", replay=EARLIEST)

    @accounts.on_create
    async def created(event: ChangeDataEvent) -> None:
        ...

    await listener.run()

Layout: `cometd.py` builds Bayeux messages and classifies replies (no I/O); `policy.py`
holds the RETRYABLE/TERMINAL tables and the replay fallback; `_async/session.py` runs one
long-polling client; `_async/listener.py` dispatches typed events (`events.py`) and keeps
checkpoints; `leader.py` elects one consumer among replicas; `facade.py` is the blocking
`Listener` (what the sync `Salesforce.listener()` returns), which runs the async one on a
loop thread of its own; `options.py` types the settings both take (`ListenerOptions`);
`errors.py` draws the error tree `on_error` sees. `api="pubsub"` runs the same listener over
the gRPC Pub/Sub API (`salesforce_typed.pubsub`: its session and failure tables).
"""

from salesforce_typed.streaming._async.listener import AsyncListener, ChannelService
from salesforce_typed.streaming._async.session import CometDSession
from salesforce_typed.streaming.cometd import Advice, BayeuxError, ErrorKind
from salesforce_typed.streaming.errors import (
    ConnectionLostError,
    HandlerError,
    LeadershipLostError,
    ReplayIdInvalidError,
    StreamingError,
    StreamingStoppedError,
)
from salesforce_typed.streaming.events import (
    ChangeDataEvent,
    EventDecoder,
    GenericChangeEvent,
    GenericEvent,
    PlatformEvent,
    PushTopicEvent,
    StreamEvent,
)
from salesforce_typed.streaming.facade import Listener
from salesforce_typed.streaming.leader import (
    CheckpointStore,
    FencedCheckpoints,
    LeaderElection,
    MemoryCheckpoints,
    ReplayPosition,
)
from salesforce_typed.streaming.options import ListenerOptions
from salesforce_typed.streaming.policy import (
    EARLIEST,
    RETRYABLE,
    TERMINAL,
    TIP,
    Action,
    Backoff,
    ReplayFallback,
)

__all__ = [
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
    "ListenerOptions",
    "MemoryCheckpoints",
    "PlatformEvent",
    "PushTopicEvent",
    "ReplayFallback",
    "ReplayIdInvalidError",
    "ReplayPosition",
    "StreamEvent",
    "StreamingError",
    "StreamingStoppedError",
]
