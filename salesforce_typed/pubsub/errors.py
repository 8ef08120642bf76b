"""Pub/Sub API errors: a gRPC status with Salesforce's `error-code` and `rpc-id` trailers.

`PubSubError` is defined and drawn with the rest of the tree in `core/errors.py`; this module
keeps its `pubsub.errors` name.
"""

from __future__ import annotations

from salesforce_typed.core.errors import PubSubError

__all__ = ["PubSubError"]
