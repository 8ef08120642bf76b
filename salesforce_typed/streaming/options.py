"""`ListenerOptions`: the listener's settings beyond the connection, typed once for every entry.

`AsyncListener(...)`, `Listener(...)`, their `from_client(client, ...)` and
`sf.listener(...)` all take these as `**options: Unpack[ListenerOptions]`, so the options are
declared here once and `mypy --strict` rejects a misspelled or mistyped one at each entry.
What must stay true:
- Each option's default is applied in `AsyncListener.__init__` only; the blocking facade
  and `from_client` pass on what was given (the brackets below document those defaults).
- A key that is not an option is a `TypeError` at run time too (untyped callers), as a
  misspelled keyword argument would be.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Literal, TypedDict

import httpx

from salesforce_typed.auth.flow import SalesforceAuth
from salesforce_typed.auth.grants import AccessTokenAuth, TokenGrant

if TYPE_CHECKING:
    from salesforce_typed.core.clock import Clock
    from salesforce_typed.streaming.leader import CheckpointStore, LeaderElection
    from salesforce_typed.streaming.policy import Backoff, ReplayFallback

__all__ = ["ErrorHandler", "ListenerAuth", "ListenerOptions", "Verify", "check_options"]

ErrorHandler = Callable[[Exception], Awaitable[None] | None]
# Who the listener connects as: a grant, a `SalesforceAuth` shared with REST clients (same
# token, same single-flight refresh), a raw access token, or a plain httpx.Auth.
ListenerAuth = SalesforceAuth | TokenGrant | AccessTokenAuth | httpx.Auth
# TLS: True/False, an SSLContext, or a CA bundle path (loaded once, errors in the tree).
Verify = bool | str | os.PathLike[str] | ssl.SSLContext


class ListenerOptions(TypedDict, total=False):
    """Listener settings; every key may be left out (its default in brackets).

    - `api` ["cometd"]: "pubsub" subscribes over the gRPC Pub/Sub API instead, with the same
      handlers; its replay ids are bytes, checkpointed under `pubsub:<channel>`.
    - `pubsub_target` [api.pubsub.salesforce.com:7443]: the Pub/Sub endpoint (`host:port`,
      TLS with the listener's `verify` CAs), e.g. a fake org's `pubsub_url`.
    - `api_version` [62.0, or the client's]: the `/cometd/NN.0` endpoint.
    - `package` [the standard models, or the client's]: where typed change events are found.
    - `checkpoints` [in memory]: replay positions, written after handlers succeed.
    - `election` [none]: with a `LeaderElection`, only the leader consumes.
    - `replay_fallback` [EARLIEST]: what to do when a stored replay id has expired.
    - `on_error` [none]: sees every error worth knowing, the terminal one included.
    - `clock` [system clock, or the client's]: backoff and handler-retry sleeps.
    - `backoff` [Backoff()]: reconnect delays.
    - `handler_attempts` [3]: tries per event before `HandlerError` stops the listener.
    - `dedupe_window` [10,000]: recent replay ids remembered per channel.
    - `sync_handlers_in_thread` [False]: run plain-function handlers in a worker thread.
    - `strict_decoding` [False]: unknown event fields are errors rather than kept.
    """

    api: Literal["cometd", "pubsub"]
    pubsub_target: str
    api_version: str
    package: str
    checkpoints: CheckpointStore | None
    election: LeaderElection | None
    replay_fallback: ReplayFallback
    on_error: ErrorHandler | None
    clock: Clock | None
    backoff: Backoff | None
    handler_attempts: int
    dedupe_window: int
    sync_handlers_in_thread: bool
    strict_decoding: bool


OPTION_NAMES: frozenset[str] = ListenerOptions.__optional_keys__ | ListenerOptions.__required_keys__


def check_options(options: Mapping[str, object]) -> None:
    """Raise `TypeError` for a key that is not a listener option (callers mypy never saw)."""
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"unknown listener option(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(sorted(OPTION_NAMES))}"
        )
