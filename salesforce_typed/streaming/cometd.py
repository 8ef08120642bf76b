"""Bayeux 1.0 as Salesforce speaks it: pure message builders and reply classification.

No I/O lives here: the session builds each POST body with a `build_*` function and hands
every reply to `classify_reply`, which names what went wrong (an `ErrorKind`) so that the
tables in `policy.py`, not ad-hoc string tests spread through a loop, decide what happens next.

What must stay true:
- One message per POST, always a JSON array (Salesforce rejects anything else).
- `ext.replay` maps the *exact* subscription string to the replay id; a key that differs from
  the subscription makes Salesforce answer "wasn't found using the provided replay ID map".
- Errors are matched on the text after `::` (`403::Unknown client` is documented, `402::` is
  seen), never on the numeric code alone.
- Nothing here reads or writes a token: messages carry no credentials (the bearer header is
  the auth flow's job).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.core.errors import UsageError

__all__ = [
    "CONNECTION_TYPE",
    "HANDSHAKE",
    "Advice",
    "BayeuxError",
    "ErrorKind",
    "Message",
    "build_connect",
    "build_disconnect",
    "build_handshake",
    "build_subscribe",
    "build_unsubscribe",
    "classify_reply",
    "classify_status",
    "cometd_path",
    "is_meta",
    "parse_error",
    "split_reply",
]

Message = dict[str, Any]

HANDSHAKE = "/meta/handshake"
CONNECT = "/meta/connect"
SUBSCRIBE = "/meta/subscribe"
UNSUBSCRIBE = "/meta/unsubscribe"
DISCONNECT = "/meta/disconnect"
CONNECTION_TYPE = "long-polling"  # the only transport Salesforce offers


def cometd_path(api_version: str) -> str:
    """`/cometd/NN.0`: the version is mandatory ("API version in the URI is mandatory")."""
    version = api_version.removeprefix("v")
    if not re.fullmatch(r"\d+\.\d", version):
        raise UsageError(f"api_version must look like 62.0, got {api_version!r}")
    return f"/cometd/{version}"


def build_handshake(msg_id: str) -> list[Message]:
    return [
        {
            "channel": HANDSHAKE,
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": [CONNECTION_TYPE],
            # Ask for the replay extension explicitly; Salesforce answers ext.replay=true.
            "ext": {"replay": True},
            "id": msg_id,
        }
    ]


def build_connect(client_id: str, msg_id: str, *, timeout_ms: int | None = None) -> list[Message]:
    message: Message = {
        "channel": CONNECT,
        "clientId": client_id,
        "connectionType": CONNECTION_TYPE,
        "id": msg_id,
    }
    if timeout_ms is not None:
        # The first connect after a handshake may ask for an immediate answer (timeout 0).
        message["advice"] = {"timeout": timeout_ms}
    return [message]


def build_subscribe(client_id: str, channel: str, replay_id: int, msg_id: str) -> list[Message]:
    return [
        {
            "channel": SUBSCRIBE,
            "clientId": client_id,
            "subscription": channel,
            "ext": {"replay": {channel: replay_id}},
            "id": msg_id,
        }
    ]


def build_unsubscribe(client_id: str, channel: str, msg_id: str) -> list[Message]:
    return [{"channel": UNSUBSCRIBE, "clientId": client_id, "subscription": channel, "id": msg_id}]


def build_disconnect(client_id: str, msg_id: str) -> list[Message]:
    return [{"channel": DISCONNECT, "clientId": client_id, "id": msg_id}]


def is_meta(message: Mapping[str, Any]) -> bool:
    return str(message.get("channel", "")).startswith("/meta/")


def split_reply(body: Any) -> tuple[list[Message], list[Message]]:
    """(meta replies, data messages) of one POST's answer; events may ride on any answer."""
    if isinstance(body, Mapping):  # tolerate a bare object where an array belongs
        body = [body]
    if not isinstance(body, Sequence) or isinstance(body, str | bytes):
        return [], []
    meta: list[Message] = []
    data: list[Message] = []
    for item in body:
        if not isinstance(item, dict):
            continue
        (meta if is_meta(item) else data).append(item)
    return meta, data


# --- advice --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, slots=True)
class Advice:
    """Server advice: how to reconnect (`retry`, `handshake`, `none`), after how long, and how
    long the server may hold a connect. Later advice replaces only the keys it carries."""

    reconnect: str = "retry"
    interval_ms: int = 0
    timeout_ms: int = 110_000  # Salesforce holds an idle connect 110 s

    def merged(self, raw: Any) -> Advice:
        if not isinstance(raw, Mapping):
            return self
        reconnect = raw.get("reconnect")
        interval = raw.get("interval")
        timeout = raw.get("timeout")
        return Advice(
            reconnect=reconnect if reconnect in ("retry", "handshake", "none") else self.reconnect,
            interval_ms=_int(interval, self.interval_ms),
            timeout_ms=_int(timeout, self.timeout_ms),
        )


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(int(value), 0)


# --- errors --------------------------------------------------------------------------------


class ErrorKind(str, enum.Enum):
    """What a failed reply (or HTTP answer) means; `policy.py` maps each kind to an action."""

    UNKNOWN_CLIENT = "unknown_client"  # 403::Unknown client (402:: seen): forgotten, not auth
    AUTHENTICATION = "authentication"  # 401::Authentication invalid, HTTP 401, bad handshake token
    NO_AUTH_HEADER = "no_auth_header"  # 401::Request requires authentication
    MISSING_COOKIE = "missing_cookie"  # 400 ... no BAYEUX_BROWSER cookie present
    CLIENT_LIMIT = "client_limit"  # handshake denied: Organization concurrent user limit
    HANDSHAKE_DENIED = "handshake_denied"  # 403::Handshake denied for another reason
    INVALID_REPLAY_ID = "invalid_replay_id"  # 400::The replayId {N} you provided was invalid
    REPLAY_MAP_MISMATCH = "replay_map_mismatch"  # 400::The replayId for channel {X} wasn't found
    DAILY_EVENT_LIMIT = "daily_event_limit"  # 403::Organization total events daily limit
    UNKNOWN_CHANNEL = "unknown_channel"  # 400 The channel you requested ... doesn't exist
    BAD_REQUEST = "bad_request"  # other 400s: API version, connection type, malformed
    SERVER_ERROR = "server_error"  # HTTP 5xx, or a reply that is not Bayeux at all
    TRANSPORT = "transport"  # the connection failed or dropped; no answer
    OTHER = "other"  # an unrecognised failure


@attrs.frozen(kw_only=True, slots=True)
class BayeuxError:
    """One classified failure: the kind, where it happened, and Salesforce's own words."""

    kind: ErrorKind
    channel: str = ""  # the meta channel that failed (/meta/connect, ...)
    subscription: str = ""  # for subscribe failures: the channel subscribed to
    code: int | None = None  # the number before `::`, or the HTTP status
    text: str = ""  # the text after `::` (or the HTTP reason)
    advice: Mapping[str, Any] | None = None

    @property
    def reconnect_advice(self) -> str | None:
        if self.advice is None:
            return None
        value = self.advice.get("reconnect")
        return value if isinstance(value, str) else None

    def describe(self) -> str:
        where = self.subscription or self.channel or "cometd"
        code = f"{self.code}::" if self.code is not None else ""
        return f"{where}: {code}{self.text} ({self.kind.value})"


def parse_error(error: Any) -> tuple[int | None, str]:
    """`"403::Unknown client"` -> (403, "Unknown client"); Bayeux's `code:args:text` form."""
    text = str(error or "")
    head, sep, rest = text.partition(":")
    if sep and head.strip().isdigit():
        _args, sep2, message = rest.partition(":")
        return int(head), (message if sep2 else rest).strip()
    return None, text.strip()


_TEXT_RULES: tuple[tuple[re.Pattern[str], ErrorKind], ...] = (
    (re.compile(r"^unknown client", re.I), ErrorKind.UNKNOWN_CLIENT),
    (re.compile(r"^authentication invalid", re.I), ErrorKind.AUTHENTICATION),
    (re.compile(r"^request requires authentication", re.I), ErrorKind.NO_AUTH_HEADER),
    (re.compile(r"no BAYEUX_BROWSER cookie", re.I), ErrorKind.MISSING_COOKIE),
    (re.compile(r"concurrent user limit", re.I), ErrorKind.CLIENT_LIMIT),
    (
        re.compile(r"^the replayId \{?-?\d+\}? you provided was invalid", re.I),
        ErrorKind.INVALID_REPLAY_ID,
    ),
    (re.compile(r"replayId for channel .* wasn't found", re.I), ErrorKind.REPLAY_MAP_MISMATCH),
    (re.compile(r"total events daily limit", re.I), ErrorKind.DAILY_EVENT_LIMIT),
    (
        re.compile(r"channel you requested to subscribe to doesn't exist", re.I),
        ErrorKind.UNKNOWN_CHANNEL,
    ),
    (re.compile(r"^handshake denied", re.I), ErrorKind.HANDSHAKE_DENIED),
)


def _kind_of(text: str) -> ErrorKind:
    for pattern, kind in _TEXT_RULES:
        if pattern.search(text):
            return kind
    return ErrorKind.OTHER


def classify_reply(reply: Mapping[str, Any]) -> BayeuxError | None:
    """None for a successful meta reply; otherwise what failed, keyed on the text after `::`.

    A denied handshake is judged by `ext.sfdc.failureReason` when present: a dead token
    (`401::Authentication invalid`) must refresh, a client cap must back off.
    """
    if reply.get("successful") is not False:
        return None
    code, text = parse_error(reply.get("error"))
    kind = _kind_of(text)
    if kind is ErrorKind.HANDSHAKE_DENIED:
        ext = reply.get("ext")
        sfdc = ext.get("sfdc") if isinstance(ext, Mapping) else None
        reason = sfdc.get("failureReason") if isinstance(sfdc, Mapping) else None
        if reason:
            reason_code, reason_text = parse_error(reason)
            inner = _kind_of(reason_text)
            if inner is not ErrorKind.OTHER:
                kind = inner
            elif reason_code == 401:
                kind = ErrorKind.AUTHENTICATION
            text = f"{text} ({reason_code}::{reason_text})" if reason_code else f"{text} ({reason})"
    elif kind is ErrorKind.OTHER and code == 400:
        kind = ErrorKind.BAD_REQUEST
    elif kind is ErrorKind.OTHER and code == 401:
        kind = ErrorKind.AUTHENTICATION
    advice = reply.get("advice")
    return BayeuxError(
        kind=kind,
        channel=str(reply.get("channel", "")),
        subscription=str(reply.get("subscription", "") or ""),
        code=code,
        text=text[:500],
        advice=advice if isinstance(advice, Mapping) else None,
    )


def classify_status(status_code: int, body: Any, channel: str) -> BayeuxError | None:
    """The HTTP layer: an error status whose body is not a Bayeux array of replies.

    A 401 is a dead token (refresh it); a 5xx or a non-JSON answer is the server's trouble
    (back off and retry). A 4xx that does carry Bayeux replies is left to `classify_reply`.
    """
    if 200 <= status_code < 300:
        return None
    meta, _data = split_reply(body)
    if meta and any(classify_reply(m) is not None for m in meta) and status_code != 401:
        return None
    if status_code == 401:
        kind = ErrorKind.AUTHENTICATION
    elif status_code >= 500:
        kind = ErrorKind.SERVER_ERROR
    else:
        text = body if isinstance(body, str) else ""
        kind = _kind_of(text)
        if kind is ErrorKind.OTHER:
            kind = ErrorKind.SERVER_ERROR if status_code in (408, 429) else ErrorKind.BAD_REQUEST
    shown = body[:300] if isinstance(body, str) else f"HTTP {status_code}"
    return BayeuxError(kind=kind, channel=channel, code=status_code, text=shown)
