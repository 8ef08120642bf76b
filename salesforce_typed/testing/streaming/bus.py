"""The fake org's event bus: channels, their retained logs, replay ids and payload shapes.

Owns what Salesforce keeps per channel (wire reference §10.4-10.5): a log of events with
increasing replay ids, purged by age (72 h on `/data` and `/event`, 24 h on `/topic` and
`/u`) and by count, and the message each channel kind carries. CDC events come from
`state.change_listeners` (every REST/Bulk/SOAP write); platform events, gap events and raw
events are published through methods here. It knows nothing of Bayeux: the transport reads
with `read` and learns of new events through `on_publish`.

What must stay true:
- Replay ids are per stream and strictly increasing. Every CDC channel (`/data/ChangeEvents`,
  `/data/<Entity>ChangeEvent`, custom `/data/<Name>__chn`) shares one stream, so an event has
  the same replay id on each and per-entity channels see gaps in the numbering, as on
  Salesforce, where ids are opaque, increasing and not contiguous.
- A channel's `floor` is the newest id purged (at first, its stream's base): replaying
  "after N" loses nothing iff floor <= N <= last. That alone decides the subscribe-time
  "invalid replayId" error.
- Reads bisect on replay id: no scan of a log per connect.
- Thread-safe: writes come from the server loop and from other threads (bulk workers);
  `on_publish` is called outside the lock.
- Message bodies are serialized once, when published; fan-out copies no dicts.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import functools
import hashlib
import itertools
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.testing.org import persist
from salesforce_typed.testing.org.changes import cometd_event, flat_values
from salesforce_typed.testing.org.state import OrgState

ALL_CHANGE_EVENTS = "/data/ChangeEvents"
GAP_TYPES = frozenset({"GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW"})
_TOPIC_TYPES = {
    "CREATE": "created",
    "UPDATE": "updated",
    "DELETE": "deleted",
    "UNDELETE": "undeleted",
}
_TXN_MEMORY = 1024  # transactions whose change counts are remembered for GAP_OVERFLOW
_COMPACT_AT = 4096  # purged slots kept at a log's head before the list is compacted


@attrs.define(kw_only=True)
class StreamingConfig:
    """Streaming knobs, Salesforce's values by default; `POST /_admin/streaming/config`."""

    timeout_ms: int = 110_000  # advice.timeout: how long an idle /meta/connect is held
    interval_ms: int = 0  # advice.interval
    max_interval_ms: int = 40_000  # a client that does not reconnect within this is dropped
    session_check_ms: int = 10_000  # how often a held connect re-validates its token
    max_events_per_reply: int = 1_000
    retention_s: float = 72 * 3600.0  # /data (CDC) and /event (platform events)
    legacy_retention_s: float = 24 * 3600.0  # /topic (PushTopic) and /u (generic)
    max_retained: int = 100_000  # per channel; the oldest are purged beyond it
    overflow_threshold: int = 100_000  # changes per transaction before GAP_OVERFLOW
    max_clients: int = 2_000  # Performance/Unlimited edition; 403 handshake denied beyond
    require_cookie: bool = True  # 400 without BAYEUX_BROWSER after the handshake
    events_limit_exceeded: bool = False  # 403 on subscribe: daily event allocation used
    cdc_entities: list[str] | None = None  # entities selected for CDC; None = all


@attrs.define(slots=True, eq=False)
class Retained:
    """One event as kept on one channel: `seq` orders events across channels."""

    channel: str
    replay_id: int
    seq: int
    at: float  # state.clock() when published: retention counts from here
    body: bytes  # the whole Bayeux message, `{"channel":...,"data":...}`


@attrs.define(slots=True, eq=False)
class _Stream:
    """Where replay ids come from: starts at an unremarkable, non-zero number."""

    base: int = attrs.field(factory=lambda: 1_000_000 + secrets.randbelow(8_000_000))
    last: int = 0

    def __attrs_post_init__(self) -> None:
        self.last = self.base

    def next(self) -> int:
        self.last += 1
        return self.last


@attrs.define(slots=True, eq=False)
class _Log:
    """A channel's retained events in replay-id order; `events[head:]` are live."""

    stream: _Stream
    events: list[Retained] = attrs.field(factory=list)
    head: int = 0
    floor: int = 0
    published: int = 0

    def __attrs_post_init__(self) -> None:
        self.floor = self.stream.base

    def live(self) -> int:
        return len(self.events) - self.head

    def drop(self, count: int) -> int:
        count = min(count, self.live())
        if count <= 0:
            return 0
        self.head += count
        self.floor = self.events[self.head - 1].replay_id
        if self.head >= _COMPACT_AT and self.head * 2 >= len(self.events):
            del self.events[: self.head]
            self.head = 0
        return count


@attrs.frozen
class PushTopic:
    """A simple PushTopic: the entity it follows and the fields its `sobject` carries."""

    entity: str
    fields: tuple[str, ...] = ()


@attrs.define
class _TxnCount:
    total: int = 0
    overflowing: bool = False
    overflowed: set[str] = attrs.field(factory=set)


def iso_z(seconds: float) -> str:
    """CometD's datetime form: UTC, milliseconds, `Z`."""
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def schema_id(key: str) -> str:
    """A stable 22-char schema id (Salesforce's look) for an event type."""
    digest = hashlib.sha256(key.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def entity_channel(entity: str) -> str:
    """`Account` -> `/data/AccountChangeEvent`; `Employee__c` -> `/data/Employee__ChangeEvent`."""
    stem = entity[:-1] if entity.endswith("__c") else entity
    return f"/data/{stem}ChangeEvent"


def channel_entity(channel: str) -> str | None:
    """The entity a `/data/<Entity>ChangeEvent` channel follows."""
    if not channel.startswith("/data/") or not channel.endswith("ChangeEvent"):
        return None
    stem = channel[len("/data/") : -len("ChangeEvent")]
    if not stem:
        return None
    return stem + "c" if stem.endswith("__") else stem


def _legacy(channel: str) -> bool:
    return channel.startswith(("/topic/", "/u/"))


def _change_cost(header: Mapping[str, Any]) -> int:
    """What a change counts toward the overflow limit: one per record, and an update one per
    changed field of each record (§10.5)."""
    records = max(1, len(header.get("recordIds") or ()))
    if header.get("changeType") == "UPDATE":
        return records * max(1, len(header.get("changedFields") or ()))
    return records


def _wrap(channel: str, data: bytes) -> bytes:
    return b'{"channel":' + json.dumps(channel).encode() + b',"data":' + data + b"}"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class EventBus:
    """Every channel's retained log, and the channel definitions of one org."""

    def __init__(self, state: OrgState, config: StreamingConfig) -> None:
        self._state = state
        self.config = config
        self._lock = threading.Lock()
        self._logs: dict[str, _Log] = {}
        self._streams: dict[str, _Stream] = {"cdc": _Stream()}
        self._custom: dict[str, frozenset[str]] = {}  # /data/<Name>__chn -> entities
        self._topics: dict[str, PushTopic] = {}  # /topic/<Name>
        self._generic: set[str] = set()  # /u/<Name>
        self._event_types: set[str] = set()  # /event/<Name>__e
        self._seq = itertools.count(1)
        self._commits = itertools.count(11_657_400_000_000)
        self._txns: dict[str, _TxnCount] = {}
        self.on_publish: Callable[[Sequence[str]], None] | None = None
        # a persistent org (data dir): retained events, streams and floors written through
        self._journal = persist.journal(state)
        self._unsaved: list[tuple[int, str, int, float, bytes]] = []
        self._saved_floors: dict[str, int] = {}
        if self._journal is not None:
            self._restore(self._journal)
            # purges seen by reads only (no publish since) reach the journal at stop
            state.extensions.setdefault("savers", []).append(self._save)

    # -- channel definitions ----------------------------------------------------------------

    def define_custom_channel(self, name: str, entities: Iterable[str]) -> None:
        if not (name.startswith("/data/") and name.endswith("__chn")):
            raise ValueError(f"a custom channel is /data/<Name>__chn, not {name}")
        with self._lock:
            self._custom[name] = frozenset(entities)
        self._keep_definition(name, {"entities": sorted(self._custom[name])})

    def define_topic(self, name: str, entity: str, fields: Iterable[str] = ()) -> None:
        if not name.startswith("/topic/"):
            raise ValueError(f"a PushTopic channel is /topic/<Name>, not {name}")
        with self._lock:
            self._topics[name] = PushTopic(entity, tuple(fields))
        self._keep_definition(name, {"entity": entity, "fields": list(self._topics[name].fields)})

    def define_generic(self, name: str) -> None:
        if not name.startswith("/u/"):
            raise ValueError(f"a generic channel is /u/<Name>, not {name}")
        with self._lock:
            self._generic.add(name)
        self._keep_definition(name, {})

    def define_event_type(self, name: str) -> None:
        with self._lock:
            self._event_types.add(f"/event/{name}")
        self._keep_definition(f"/event/{name}", {})

    def exists(self, channel: str) -> bool:
        """Whether a subscription to `channel` succeeds (names are case-sensitive)."""
        if channel == ALL_CHANGE_EVENTS:
            return True
        with self._lock:
            if channel in self._custom or channel in self._topics or channel in self._generic:
                return True
            if channel in self._event_types:
                return True
        if channel.startswith("/event/") and channel.endswith("__e"):
            name = channel[len("/event/") :]  # a platform event type in the schema
            return self._state.schema.canonical(name) == name
        entity = channel_entity(channel)
        return entity is not None and self._state.schema.canonical(entity) == entity

    def retention(self, channel: str) -> float:
        cfg = self.config
        return cfg.legacy_retention_s if _legacy(channel) else cfg.retention_s

    # -- reading ---------------------------------------------------------------------------

    def replay_start(self, channel: str, replay: int) -> int | None:
        """The cursor a subscription with `ext.replay` = `replay` starts from (events after
        it are delivered), or None when events after `replay` are gone or never existed."""
        now = self._state.clock()
        with self._lock:
            log = self._log(channel)
            self._purge(channel, log, now)
            if replay == -1:
                return log.stream.last
            if replay == -2:
                return log.floor
            if log.floor <= replay <= log.stream.last:
                return replay
            return None

    def read(self, channel: str, after: int, limit: int) -> list[Retained]:
        """At most `limit` retained events of `channel` with a replay id above `after`."""
        now = self._state.clock()
        with self._lock:
            log = self._logs.get(channel)
            if log is None:
                return []
            self._purge(channel, log, now)
            start = bisect.bisect_right(log.events, after, lo=log.head, key=lambda e: e.replay_id)
            return log.events[start : start + limit]

    # -- publishing ------------------------------------------------------------------------

    def on_change(self, event: dict[str, Any]) -> None:
        """The `state.change_listeners` entry: one CDC payload per committed change."""
        header = event.get("ChangeEventHeader")
        if not isinstance(header, dict):
            return
        selected = self.config.cdc_entities
        if selected is not None and header.get("entityName") not in selected:
            return
        outgoing = self._overflow(event, header)
        if outgoing is not None:
            self.publish_change(outgoing)

    def publish_change(self, event: Mapping[str, Any]) -> int:
        """Put one CDC payload on `/data/ChangeEvents`, its entity's channel, the custom
        channels that include the entity and the PushTopics following it."""
        header = event["ChangeEventHeader"]
        entity = str(header["entityName"])
        now = self._state.clock()
        with self._lock:
            channels = [ALL_CHANGE_EVENTS, entity_channel(entity)]
            channels += [c for c, members in self._custom.items() if entity in members]
            replay_id = self._streams["cdc"].next()
            payload = cometd_event(event)  # the header keys Streaming API sends
            data = {
                "schema": schema_id(entity),
                "payload": payload,
                "event": {"replayId": replay_id},
            }
            body = _dumps(data)
            for channel in channels:
                self._append(channel, replay_id, now, _wrap(channel, body))
            channels += self._topic_events(entity, event, now)
        self._notify(channels)
        return replay_id

    def publish_platform_event(
        self, name: str, fields: Mapping[str, Any], user_id: str
    ) -> tuple[int, str]:
        """A platform event on `/event/<name>`: its replay id and EventUuid."""
        channel = f"/event/{name}"
        event_uuid = str(uuid.uuid4())
        now = self._state.clock()
        payload = {"CreatedDate": iso_z(now), "CreatedById": user_id, **fields}
        with self._lock:
            replay_id = self._log(channel).stream.next()
            data = {
                "schema": schema_id(name + ":" + ",".join(fields)),
                "payload": payload,
                "event": {"EventUuid": event_uuid, "replayId": replay_id},
            }
            self._append(channel, replay_id, now, _wrap(channel, _dumps(data)))
        self._notify([channel])
        return replay_id, event_uuid

    def publish_raw(self, channel: str, payload: Any, event_type: str = "created") -> int:
        """Any payload on one channel, shaped as that channel kind carries it (§10.5)."""
        if channel.startswith("/data/") and (
            not isinstance(payload, dict) or "ChangeEventHeader" not in payload
        ):
            raise ValueError("a /data event payload needs a ChangeEventHeader")
        now = self._state.clock()
        with self._lock:
            replay_id = self._log(channel).stream.next()  # /data channels share the CDC stream
            data: dict[str, Any]
            if channel.startswith("/topic/"):
                event = {"createdDate": iso_z(now), "replayId": replay_id, "type": event_type}
                data = {"event": event, "sobject": payload}
            elif channel.startswith("/u/"):
                text = payload if isinstance(payload, str) else json.dumps(payload)
                data = {"event": {"createdDate": iso_z(now), "replayId": replay_id}}
                data["payload"] = text
            else:
                key = channel.rsplit("/", 1)[-1]
                event = {"replayId": replay_id}
                if channel.startswith("/event/"):
                    event = {"EventUuid": str(uuid.uuid4()), "replayId": replay_id}
                data = {"schema": schema_id(key), "payload": payload, "event": event}
            self._append(channel, replay_id, now, _wrap(channel, _dumps(data)))
        self._notify([channel])
        return replay_id

    def gap_event(
        self,
        entity: str,
        change_type: str,
        record_ids: Sequence[str] = (),
        *,
        like: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A header-only `GAP_*` event; `like` lends it a real event's transaction fields."""
        if change_type not in GAP_TYPES:
            raise ValueError(f"changeType must be one of {sorted(GAP_TYPES)}")
        base = dict(like or {})
        header = {
            "entityName": entity,
            "recordIds": list(record_ids),
            "changeType": change_type,
            "changeOrigin": base.get("changeOrigin", ""),
            "transactionKey": base.get("transactionKey", str(uuid.uuid4())),
            "sequenceNumber": base.get("sequenceNumber", 1),
            "commitTimestamp": base.get("commitTimestamp", int(self._state.clock() * 1000)),
            "commitNumber": base.get("commitNumber", next(self._commits)),
            "commitUser": base.get("commitUser", self._state.config.user_id),
            "changedFields": [],
            "nulledFields": [],
            "diffFields": [],
        }
        return {"ChangeEventHeader": header}

    # -- admin -----------------------------------------------------------------------------

    def purge(self, channel: str | None = None) -> int:
        """Drop retained events (of one channel, or all): replays from before now fail."""
        with self._lock:
            logs = [self._logs[channel]] if channel in self._logs else []
            if channel is None:
                logs = list(self._logs.values())
            dropped = sum(log.drop(log.live()) for log in logs)
        self._save()
        return dropped

    def stats(self) -> dict[str, Any]:
        now = self._state.clock()
        with self._lock:
            channels = {}
            for name, log in sorted(self._logs.items()):
                self._purge(name, log, now)
                channels[name] = {
                    "retained": log.live(),
                    "published": log.published,
                    "floor": log.floor,
                    "lastReplayId": log.stream.last,
                }
            return {
                "channels": channels,
                "customChannels": {k: sorted(v) for k, v in sorted(self._custom.items())},
                "topics": {k: attrs.asdict(v) for k, v in sorted(self._topics.items())},
                "genericChannels": sorted(self._generic),
                "eventChannels": sorted(self._event_types),
            }

    # -- internals (called with the lock held unless said otherwise) -------------------------

    def _log(self, channel: str) -> _Log:
        log = self._logs.get(channel)
        if log is None:
            if channel.startswith("/data/"):
                stream = self._streams["cdc"]
            else:
                stream = self._streams.setdefault(channel, _Stream())
            log = self._logs[channel] = _Log(stream)
        return log

    def _append(self, channel: str, replay_id: int, now: float, body: bytes) -> None:
        log = self._log(channel)
        seq = next(self._seq)
        log.events.append(Retained(channel, replay_id, seq, now, body))
        if self._journal is not None:
            self._unsaved.append((seq, channel, replay_id, now, body))
        log.published += 1
        excess = log.live() - max(0, self.config.max_retained)
        if excess > 0:
            log.drop(excess)
        self._purge(channel, log, now)

    def _purge(self, channel: str, log: _Log, now: float) -> None:
        cutoff = now - self.retention(channel)
        events, head, end = log.events, log.head, len(log.events)
        stop = head
        while stop < end and events[stop].at < cutoff:
            stop += 1
        log.drop(stop - head)

    def _topic_events(self, entity: str, event: Mapping[str, Any], now: float) -> list[str]:
        header = event["ChangeEventHeader"]
        kind = _TOPIC_TYPES.get(str(header.get("changeType")))
        touched = []
        for name, topic in self._topics.items():
            if topic.entity != entity or kind is None:
                continue
            log = self._log(name)
            flat = flat_values(self._state, entity, event)  # FirstName, not Name.FirstName
            for record_id in header.get("recordIds") or ():
                sobject = {"Id": record_id}
                sobject |= {f: flat[f] for f in topic.fields if f in flat and f != "Id"}
                replay_id = log.stream.next()
                info = {"createdDate": iso_z(now), "replayId": replay_id, "type": kind}
                body = _dumps({"event": info, "sobject": sobject})
                self._append(name, replay_id, now, _wrap(name, body))
            touched.append(name)
        return touched

    def _overflow(
        self, event: dict[str, Any], header: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The event to publish under the per-transaction change limit: the event itself, one
        id-less GAP_OVERFLOW per entity once the limit is passed, or None (already sent)."""
        key = str(header.get("transactionKey") or "")
        if not key or header.get("changeType") in GAP_TYPES:
            return event
        entity = str(header.get("entityName"))
        with self._lock:
            txn = self._txns.get(key)
            if txn is None:
                txn = self._txns[key] = _TxnCount()
                while len(self._txns) > _TXN_MEMORY:
                    del self._txns[next(iter(self._txns))]
            cost = _change_cost(header)
            if not txn.overflowing and txn.total + cost <= self.config.overflow_threshold:
                txn.total += cost
                return event
            txn.overflowing = True
            if entity in txn.overflowed:
                return None
            txn.overflowed.add(entity)
        return self.gap_event(entity, "GAP_OVERFLOW", like=header)

    def _notify(self, channels: Sequence[str]) -> None:
        """Outside the lock: tell the transport which channels have new events."""
        self._save()  # on disk before any client is told
        callback = self.on_publish
        if callback is not None:
            callback(channels)

    # -- persistence (an org with a data dir) -------------------------------------------------

    def _restore(self, book: persist.Journal) -> None:
        """Streams, floors, channel definitions and retained events of an earlier run: replay
        ids go on above the old ones and retention counts from each event's first `at`."""
        for key, row in book.entries("stream"):
            stream = self._streams[key] = _Stream(base=int(row["base"]))
            stream.last = int(row["last"])
        floors = dict(book.entries("floor"))
        last_seq = 0
        for seq, channel, replay_id, at, body in book.events():
            log = self._log(channel)
            log.events.append(Retained(channel, replay_id, seq, at, body))
            log.published += 1
            log.stream.last = max(log.stream.last, replay_id)
            last_seq = seq
        for channel, floor in floors.items():
            self._log(channel).floor = int(floor)
            self._saved_floors[channel] = int(floor)
        self._seq = itertools.count(last_seq + 1)
        for name, row in book.entries("channel"):
            if name.startswith("/data/"):
                self._custom[name] = frozenset(row["entities"])
            elif name.startswith("/topic/"):
                self._topics[name] = PushTopic(str(row["entity"]), tuple(row["fields"]))
            elif name.startswith("/u/"):
                self._generic.add(name)
            else:
                self._event_types.add(name)
        self._streams.setdefault("cdc", _Stream())
        book.put("stream", "cdc", self._stream_row(self._streams["cdc"]))

    @staticmethod
    def _stream_row(stream: _Stream) -> dict[str, int]:
        return {"base": stream.base, "last": stream.last}

    def _keep_definition(self, name: str, row: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.put("channel", name, row)

    def _save(self) -> None:
        """Outside the lock: write new events, their streams' last ids and moved floors."""
        book = self._journal
        if book is None:
            return
        with self._lock:
            events, self._unsaved = self._unsaved, []
            streams = {
                ("cdc" if c.startswith("/data/") else c): self._log(c).stream
                for _, c, _, _, _ in events
            }
            stream_rows = [(key, self._stream_row(stream)) for key, stream in streams.items()]
            floors = [
                (name, log.floor)
                for name, log in self._logs.items()
                if self._saved_floors.get(name, log.stream.base) != log.floor
            ]
            self._saved_floors.update(floors)
        book.save_events(events, stream_rows, floors)
