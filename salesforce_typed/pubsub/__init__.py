"""Salesforce's Pub/Sub API (gRPC): typed subscriptions to change and platform events.

`AsyncPubSub.from_client(sf)` rides on a REST client's session (`PubSub` is its blocking face,
for a `Salesforce` client); events decode into the same
typed events as the CometD listener (`salesforce_typed.streaming`). The listener's handlers
run over it with `sf.listener(api="pubsub")` (`PubSubSession`, failures by `policy.py`'s
tables). docs/pubsub.md lists the wire facts it relies on.
"""

from salesforce_typed.pubsub._async.client import (
    DEFAULT_TARGET,
    EARLIEST,
    LATEST,
    AsyncPubSub,
    ManagedStream,
    ManagedSubscriptionInfo,
    PublishResult,
    PubSubMessage,
    Replay,
    TopicInfo,
)
from salesforce_typed.pubsub._async.managed import CommitResult
from salesforce_typed.pubsub._async.session import PubSubSession
from salesforce_typed.pubsub.errors import PubSubError
from salesforce_typed.pubsub.facade import PubSub

__all__ = [
    "DEFAULT_TARGET",
    "EARLIEST",
    "LATEST",
    "AsyncPubSub",
    "CommitResult",
    "ManagedStream",
    "ManagedSubscriptionInfo",
    "PubSub",
    "PubSubError",
    "PubSubMessage",
    "PubSubSession",
    "PublishResult",
    "Replay",
    "TopicInfo",
]
