"""Publish allocations the fake org enforces, as "Pub/Sub API and Event Allocations" gives them.

- A PublishRequest over 4 MB fails the call (and closes a PublishStream) with UNAVAILABLE and
  the proxy's text, no `error-code` trailer; the gRPC server's own receive limit is raised
  above 4 MB so that this check, not a RESOURCE_EXHAUSTED from the transport, answers.
- An event over 1 MB fails alone: its PublishResult carries the error, the others publish.
- "No more than 200 events in one publish request" is a recommendation, not a limit: the
  fake org accepts more (our client refuses more by default, `max_batch`).
"""

from __future__ import annotations

from typing import Final

import grpc

from salesforce_typed_pubsub import pubsub_api_pb2 as pb

MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024  # "the gRPC 4-MB limit"
MAX_EVENT_BYTES: Final = 1024 * 1024  # "maximum size of 1 MB" per event
RECOMMENDED_EVENTS: Final = 200  # "no more than 200 events in one publish request"
SERVER_RECEIVE_BYTES: Final = 2 * MAX_REQUEST_BYTES  # so the 4 MB check answers, as Salesforce
REQUEST_TOO_LARGE: Final = (
    "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
)


def request_error(request: pb.PublishRequest) -> tuple[grpc.StatusCode, str] | None:
    """The status that ends a publish call for this request, or None."""
    if request.ByteSize() > MAX_REQUEST_BYTES:
        return grpc.StatusCode.UNAVAILABLE, REQUEST_TOO_LARGE
    return None


def event_error(event: pb.ProducerEvent) -> str | None:
    """Why this one event cannot be published (its PublishResult error), or None."""
    if event.ByteSize() > MAX_EVENT_BYTES:
        return f"The event exceeds the maximum event message size of {MAX_EVENT_BYTES} bytes."
    return None
