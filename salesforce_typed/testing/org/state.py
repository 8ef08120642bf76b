"""Everything one fake org holds: config, schema, data, sessions, limits and faults.

One `OrgState` per running org. Handlers reach it through `Request`-independent module
functions; time comes from `clock` so tests can expire sessions without sleeping.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.schema import OrgSchema
from salesforce_typed.testing.soql import id18

MIN_API_VERSION = 31.0


def _secret() -> str:
    return secrets.token_urlsafe(24)


@attrs.define(kw_only=True)
class OrgConfig:
    """Knobs a test or the CLI sets; all switchable at run time through the admin API."""

    api_version: str = "62.0"
    session_timeout: float = 7200.0  # seconds; Salesforce's default is 2 h
    refresh_token_rotation: bool = True
    daily_api_limit: int = 100_000
    client_id: str = attrs.field(factory=lambda: "3MVG9fake" + secrets.token_hex(12))
    client_secret: str = attrs.field(factory=_secret, repr=False)
    username: str = "admin@fake-org.example.com"
    password: str = attrs.field(factory=_secret, repr=False)
    security_token: str = attrs.field(factory=lambda: secrets.token_hex(8), repr=False)
    org_id: str = attrs.field(factory=lambda: id18("00D5g00000" + f"{random.randrange(16**5):05X}"))
    user_id: str = attrs.field(
        factory=lambda: id18("0055g00000" + f"{random.randrange(16**5):05X}")
    )
    # Change Data Capture from the first write, before any client subscribes (so replay -2
    # sees it). None: on for an org with a data dir, else from the first streaming use.
    capture_changes: bool | None = None


@attrs.define(kw_only=True)
class Faults:
    """Fault injection: each rate is a probability per API request (OAuth excluded)."""

    latency_ms: float = 0.0
    server_error_rate: float = 0.0  # 503 SERVER_UNAVAILABLE
    drop_rate: float = 0.0  # connection closed mid-response
    lock_rate: float = 0.0  # UNABLE_TO_LOCK_ROW on writes
    seed: int | None = None
    _rng: random.Random = attrs.field(factory=random.Random, repr=False)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def reseed(self, seed: int | None) -> None:
        self.seed = seed
        self._rng = random.Random(seed)


@attrs.define(kw_only=True)
class Session:
    """An access token and who it belongs to. `family` ties it to a refresh-token family."""

    access_token: str = attrs.field(repr=False)
    user_id: str
    username: str
    issued_at: float
    expires_at: float
    family: str | None = None
    client_id: str = ""


class SessionSink(Protocol):
    """Where a persistent org writes its sessions through (`org.persist`)."""

    def put(self, session: Session) -> None: ...
    def drop(self, token: str) -> None: ...
    def clear(self) -> None: ...
    def auth_changed(self) -> None: ...


class SessionTable(dict[str, Session]):
    """Access token -> session; every change also goes to `sink` when the org persists."""

    sink: SessionSink | None = None

    def load(self, session: Session) -> None:
        """A session restored from disk: kept, not written back."""
        super().__setitem__(session.access_token, session)

    def __setitem__(self, token: str, session: Session) -> None:
        super().__setitem__(token, session)
        if self.sink is not None:
            self.sink.put(session)

    def __delitem__(self, token: str) -> None:
        super().__delitem__(token)
        if self.sink is not None:
            self.sink.drop(token)

    def pop(self, token: str, *default: Any) -> Any:
        found = super().pop(token, *default)
        if self.sink is not None:
            self.sink.drop(token)
        return found

    def clear(self) -> None:
        super().clear()
        if self.sink is not None:
            self.sink.clear()


class IdFactory:
    """18-char ids: key prefix, a pod-like `5g0000`, a counter; thread-safe.

    A persistent org reserves counters in blocks (`restore`) before handing ids out, so a
    restart continues above every id given before, whether or not a record kept it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._reserve: Callable[[str, int], None] | None = None
        self._block = 1

    def restore(
        self, reserved: dict[str, int], reserve: Callable[[str, int], None], block: int
    ) -> None:
        """Continue past the reservations of an earlier run; record new ones with `reserve`."""
        with self._lock:
            for prefix, upto in reserved.items():
                self._counters[prefix] = max(self._counters.get(prefix, 0), upto)
            self._reserved = dict(self._counters)
            self._reserve, self._block = reserve, max(1, block)

    def new(self, prefix: str) -> str:
        return self.new_many(prefix, 1)[0]

    def new_many(self, prefix: str, count: int) -> list[str]:
        """`count` consecutive new ids (one lock and one reservation check for all)."""
        if count <= 0:
            return []
        with self._lock:
            first = self._counters.get(prefix, 0) + 1
            last = first + count - 1
            self._counters[prefix] = last
            if self._reserve is not None and last > self._reserved.get(prefix, 0):
                self._reserved[prefix] = last + self._block - 1
                self._reserve(prefix, self._reserved[prefix])
        return _ids(prefix, first, count)

    def seen(self, prefix: str, count: int) -> None:
        """After reloading persisted data: continue numbering past `count`."""
        with self._lock:
            self._counters[prefix] = max(self._counters.get(prefix, 0), count)


_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_UPPER = {c: int("A" <= c <= "Z") for c in _DIGITS}
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"  # soql.ids.id18's
# the last two counter digits (62 * 62 values): their text and their case bits in the
# third 5-char chunk of the 15-char id (its positions 3 and 4)
_LOW = [(a + b, _UPPER[a] << 3 | _UPPER[b] << 4) for a in _DIGITS for b in _DIGITS]


def _ids(prefix: str, first: int, count: int) -> list[str]:
    """`id18(f"{prefix}5g0000{counter:6 base-62 digits}")` for `count` counters from
    `first`: the leading digits and their share of the checksum change only every 3,844
    ids, so they are worked out once per run of them."""
    out: list[str] = []
    high_seen = -1
    head = ""
    upper = 0
    for number in range(first, first + count):
        high, low = divmod(number, 3844)
        if high != high_seen:
            high_seen, rest = high, high
            body = ""
            for _ in range(4):
                rest, r = divmod(rest, 62)
                body = _DIGITS[r] + body
            # the checksum's three 5-char chunks: prefix + "5g", "0000" + the first digit,
            # the other five digits (three here, two in _LOW)
            bits0 = sum(1 << i for i, ch in enumerate(f"{prefix}5g") if "A" <= ch <= "Z")
            bits1 = _UPPER[body[0]] << 4
            upper = sum(_UPPER[ch] << i for i, ch in enumerate(body[1:]))
            head = f"{prefix}5g0000{body}"
            first_two = _SUFFIX[bits0] + _SUFFIX[bits1]
        text, bits = _LOW[low]
        out.append(f"{head}{text}{first_two}{_SUFFIX[upper | bits]}")
    return out


ChangeListener = Callable[[dict[str, Any]], None]


class OrgState:
    def __init__(
        self,
        config: OrgConfig | None = None,
        schema: OrgSchema | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from salesforce_typed.testing.org.schema import standard_schema

        self.config = config or OrgConfig()
        self.schema = schema or standard_schema()
        self.clock = clock
        self.faults = Faults()
        self.ids = IdFactory()
        self.lock = threading.RLock()
        self.sessions = SessionTable()
        self.api_usage = 0
        self.instance_url = ""
        self.extensions: dict[str, Any] = {}  # per-module state (oauth, store, apex, bulk...)
        self.change_listeners: list[ChangeListener] = []

    # -- sessions --------------------------------------------------------------------------

    def new_session(
        self,
        *,
        user_id: str | None = None,
        username: str | None = None,
        family: str | None = None,
        client_id: str = "",
    ) -> Session:
        now = self.clock()
        session = Session(
            access_token=f"{self.config.org_id[:15]}!{secrets.token_urlsafe(48)}",
            user_id=user_id or self.config.user_id,
            username=username or self.config.username,
            issued_at=now,
            expires_at=now + self.config.session_timeout,
            family=family,
            client_id=client_id,
        )
        with self.lock:
            self.sessions[session.access_token] = session
        return session

    def authenticate(self, authorization: str | None) -> Session:
        """The session behind `Authorization: Bearer|OAuth <token>` or 401 INVALID_SESSION_ID."""
        token = ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                token = value.strip()
        return self.session_for_token(token)

    def session_for_token(self, token: str) -> Session:
        session = self.sessions.get(token) if token else None
        if session is None or session.expires_at <= self.clock():
            if session is not None:
                with self.lock:
                    self.sessions.pop(token, None)
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return session

    def expire_sessions(self) -> int:
        """Forced session expiry (fault injection): every access token stops working."""
        with self.lock:
            n = len(self.sessions)
            self.sessions.clear()
        return n

    def revoke_family(self, family: str) -> None:
        with self.lock:
            for token in [t for t, s in self.sessions.items() if s.family == family]:
                del self.sessions[token]
        if self.sessions.sink is not None:
            self.sessions.sink.auth_changed()

    # -- limits ----------------------------------------------------------------------------

    def count_api_call(self) -> None:
        """Count one API request; 403 REQUEST_LIMIT_EXCEEDED past the daily limit."""
        with self.lock:
            if self.api_usage >= self.config.daily_api_limit:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.api_usage += 1

    def limit_info_header(self) -> tuple[str, str]:
        return ("sforce-limit-info", f"api-usage={self.api_usage}/{self.config.daily_api_limit}")

    def check_version(self, version: str) -> None:
        try:
            v = float(version)
        except ValueError:
            v = -1.0
        if 1.0 <= v < MIN_API_VERSION:  # retired (7.0-20.0 Summer '22, 21.0-30.0 Summer '25)
            raise SfError(410, "GONE", "The requested version is no longer supported.")
        if v < MIN_API_VERSION or v > float(self.config.api_version):
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")

    # -- change events ---------------------------------------------------------------------

    def publish_change(self, event: dict[str, Any]) -> None:
        for listener in list(self.change_listeners):
            listener(event)
