"""The fake org's `eventbus.v1.PubSub` service: GetTopic, GetSchema, Subscribe, Publish.

Events come from the same event bus as CometD (`testing.streaming.bus`): a REST write's CDC
event, or a platform event published here or over REST, reaches both APIs with one replay id.
docs/pubsub.md lists the guide's facts followed here, by section.

What must stay true:
- Every RPC checks the `accesstoken`, `instanceurl` and `tenantid` metadata against the org's
  sessions first: UNAUTHENTICATED with the `error-code` trailer otherwise.
- No input makes the service fail with INTERNAL: a bad topic, replay id, num_requested or
  payload gets the status and `error-code` trailer Salesforce documents.
- Subscribe never sends more events than the client has requested and not yet received, and
  counts at most 100 requested across all FetchRequests ("Pull Subscription and Flow
  Control"); an idle stream gets an empty FetchResponse with `latest_replay_id` every
  keepalive interval; with nothing pending, a stream that gets no FetchRequest within 60 s
  of its last FetchResponse is closed (`fetch_wait_s`), and the client must subscribe again.
- Replay ids are the bus's, as 8 big-endian bytes (what Salesforce's look like on the wire).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import attrs
import fastavro
import grpc

from salesforce_typed.testing.org.http import SfError
from salesforce_typed.testing.org.state import OrgState, Session
from salesforce_typed.testing.pubsub import limits, schemas
from salesforce_typed.testing.pubsub.avro_write import compile_writer
from salesforce_typed.testing.streaming.bus import ALL_CHANGE_EVENTS, EventBus, channel_entity
from salesforce_typed.testing.streaming.service import enable as enable_streaming
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
REPLAY_INVALID = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed"
TOPIC_NOT_FOUND = "sfdc.platform.eventbus.grpc.topic.notfound"
SCHEMA_NOT_FOUND = "sfdc.platform.eventbus.grpc.schema.notfound"
SERVICE_UNAVAILABLE = "sfdc.platform.eventbus.grpc.service.unavailable"
REQUESTED_INVALID = "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid"
_ENCODED_KEPT = 20_000  # encoded events kept for other subscribers and replays
MAX_REQUESTED = 100  # "Pub/Sub API Allocations": at most 100 events per FetchRequest


@attrs.define(kw_only=True)
class PubSubConfig:
    """Pub/Sub knobs, Salesforce's values by default."""

    keepalive_s: float = 270.0  # an empty FetchResponse at least this often when idle
    # nothing pending: the stream closes unless a FetchRequest comes this soon after the last
    # FetchResponse (the guide's 60 s; ended with status OK, which the guide leaves unsaid)
    fetch_wait_s: float = 60.0
    # fault switches
    unavailable: bool = False  # every RPC: UNAVAILABLE, sfdc.platform...service.unavailable
    delay_s: float = 0.0  # every RPC waits this long before it is answered


class FetchWait:
    """The guide's rule for one Subscribe or ManagedSubscribe stream ("Pull Subscription
    and Flow Control"): with nothing pending, a request must come within `fetch_wait_s` of
    the last response with events (or of the last request), or the stream closes. The
    settings are read when used, so a test may change them on an open stream."""

    def __init__(self, config: PubSubConfig) -> None:
        self.config = config
        self.since = asyncio.get_running_loop().time()

    def touch(self) -> None:
        """A request came, or events went out: the wait starts again."""
        self.since = asyncio.get_running_loop().time()

    def idle(self, pending: int) -> float | None:
        """How long an idle stream waits for a request or an event before its next
        keepalive, or None when it must close now. Keepalives do not restart the wait: on
        Salesforce none falls within the 60 s (they come after 270 s), so only shortened
        test timers see one."""
        keepalive_s = self.config.keepalive_s
        if pending > 0:
            return keepalive_s
        left = self.config.fetch_wait_s - (asyncio.get_running_loop().time() - self.since)
        return min(keepalive_s, left) if left > 0 else None


_CDC_BODY = b'{"channel":"/data/'  # how the bus's bodies of CDC channels begin
_OID = uuid.NAMESPACE_OID.bytes


def _event_id(replay_id: int) -> str:
    """`str(uuid.uuid5(NAMESPACE_OID, str(replay_id)))`, without building UUID objects."""
    raw = bytearray(hashlib.sha1(_OID + str(replay_id).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def replay_bytes(replay_id: int) -> bytes:
    return replay_id.to_bytes(8, "big")


def replay_int(raw: bytes) -> int | None:
    return int.from_bytes(raw, "big") if len(raw) == 8 else None


@attrs.define(eq=False)
class _Schema:
    schema: dict[str, Any]
    parsed: Any
    schema_id: str
    write: Callable[[Mapping[str, Any]], bytes] | None = None  # avro_write's, else fastavro

    def encode(self, datum: Mapping[str, Any]) -> bytes:
        if self.write is not None:
            return self.write(datum)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self.parsed, datum)
        return out.getvalue()


class _AbortError(Exception):
    def __init__(self, code: grpc.StatusCode, error_code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.error_code = error_code
        self.message = message


class PubSubService(pb_grpc.PubSubServicer):
    """One org's Pub/Sub API; `loop` is the gRPC server's, woken from any thread."""

    def __init__(self, state: OrgState, bus: EventBus, config: PubSubConfig) -> None:
        self.state = state
        self.bus = bus
        self.config = config
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._schemas: dict[str, _Schema] = {}  # schema id -> schema (every version served)
        self._by_source: dict[tuple[str, int], tuple[object, _Schema]] = {}
        self._waiters: dict[asyncio.Event, tuple[str, list[_AbortError]]] = {}
        self._encoded: OrderedDict[tuple[str, int], pb.ConsumerEvent] = OrderedDict()
        state.extensions["pubsub"] = self
        previous = bus.on_publish

        def notify(channels: Sequence[str]) -> None:
            if previous is not None:
                previous(channels)
            self.wake(channels)

        bus.on_publish = notify

    # -- plumbing ------------------------------------------------------------------------

    def wake(self, channels: Sequence[str]) -> None:
        """`EventBus.on_publish`, from any thread: wake the subscribers of `channels`."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        touched = set(channels)
        with self._lock:
            waiters = [e for e, (c, _) in self._waiters.items() if c in touched]
        for waiter in waiters:
            loop.call_soon_threadsafe(waiter.set)

    def drop_streams(self) -> int:
        """Fault switch, from any thread: end every open Subscribe stream as a lost connection
        does ("UNAVAILABLE: RST_STREAM closed stream", no error-code); returns how many."""
        dropped = _AbortError(grpc.StatusCode.UNAVAILABLE, "", "RST_STREAM closed stream.")
        with self._lock:
            streams = list(self._waiters.items())
        for _, failure in (entry for _, entry in streams):
            failure.append(dropped)
        loop = self.loop
        if loop is not None and not loop.is_closed():
            for waiter, _ in streams:
                loop.call_soon_threadsafe(waiter.set)
        return len(streams)

    def _rpc_id(self) -> str:
        return str(uuid.uuid4())

    async def _fail(self, context: grpc.aio.ServicerContext[Any, Any], exc: _AbortError) -> None:
        rpc_id = self._rpc_id()
        trailers: tuple[tuple[str, str], ...] = (("rpc-id", rpc_id),)
        if exc.error_code:
            trailers = (("error-code", exc.error_code), *trailers)
        await context.abort(exc.code, f"{exc.message} rpcId: {rpc_id}", trailing_metadata=trailers)

    async def _admit(self, context: grpc.aio.ServicerContext[Any, Any]) -> Session:
        """CDC capture on (streaming is in use), the fault switches, then the session behind
        the auth metadata."""
        enable_streaming(self.state)
        if self.config.delay_s > 0:
            await asyncio.sleep(self.config.delay_s)
        if self.config.unavailable:
            raise _AbortError(
                grpc.StatusCode.UNAVAILABLE,
                SERVICE_UNAVAILABLE,
                "The service is unavailable. Try again later.",
            )
        return self._session(context)

    def _session(self, context: grpc.aio.ServicerContext[Any, Any]) -> Session:
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
        token = str(metadata.get("accesstoken", ""))
        instance = str(metadata.get("instanceurl", "")).rstrip("/")
        tenant = str(metadata.get("tenantid", ""))
        error = _AbortError(
            grpc.StatusCode.UNAUTHENTICATED,
            AUTH_ERROR,
            "An authentication exception occurred. Provide valid authentication via metadata "
            "headers.",
        )
        if tenant != self.state.config.org_id or instance != self.state.instance_url.rstrip("/"):
            raise error
        try:
            return self.state.session_for_token(token)
        except SfError:
            raise error from None

    # -- schemas -------------------------------------------------------------------------

    def _remember(self, key: tuple[str, int], source: object, schema: dict[str, Any]) -> _Schema:
        with self._lock:
            found = self._by_source.get(key)
            if found is not None and found[0] is source:
                return found[1]
        sid = schemas.schema_id_of(schema)
        entry = _Schema(schema, fastavro.parse_schema(schema), sid, compile_writer(schema))
        with self._lock:
            entry = self._schemas.setdefault(sid, entry)
            self._by_source[key] = (source, entry)
        return entry

    def change_schema(self, entity: str) -> _Schema | None:
        source = self.state.schema.describe(entity)
        if source is None:
            return None
        found = self._by_source.get((entity, 0))
        if found is not None and found[0] is source:
            return found[1]
        schema = schemas.change_event_schema(self.state, entity)
        return None if schema is None else self._remember((entity, 0), source, schema)

    def event_schema(self, name: str) -> _Schema | None:
        source = self.state.schema.describe(name)
        schema = schemas.platform_event_schema(self.state, name) if source else None
        return None if schema is None else self._remember((name, 1), source, schema)

    def topic(self, name: str) -> tuple[bool, _Schema | None]:
        """(can_publish, schema) of a topic; `_AbortError` NOT_FOUND for one the org lacks."""
        if name == ALL_CHANGE_EVENTS:
            return False, None
        entity = channel_entity(name)
        if entity is not None and self.bus.exists(name):
            found = self.change_schema(entity)
            if found is not None:
                return False, found
        if name.startswith("/event/") and self.bus.exists(name):
            event = self.event_schema(name[len("/event/") :])
            if event is not None:
                return True, event
        raise _AbortError(
            grpc.StatusCode.NOT_FOUND,
            TOPIC_NOT_FOUND,
            f"The topic information for org {self.state.config.org_id} and topic {name} not "
            "found. Ensure the topic name is correct and that the topic exists.",
        )

    # -- RPCs ----------------------------------------------------------------------------

    async def GetTopic(  # noqa: N802 (the proto's method names)
        self, request: pb.TopicRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.TopicInfo:
        try:
            await self._admit(context)
            can_publish, found = self.topic(request.topic_name)
        except _AbortError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from exc
        return pb.TopicInfo(
            topic_name=request.topic_name,
            tenant_guid=self.state.config.org_id,
            can_publish=can_publish,
            can_subscribe=True,
            schema_id=found.schema_id if found else "",
            rpc_id=self._rpc_id(),
        )

    async def GetSchema(  # noqa: N802 (the proto's method names)
        self, request: pb.SchemaRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SchemaInfo:
        try:
            await self._admit(context)
            with self._lock:
                found = self._schemas.get(request.schema_id)
            if found is None:
                raise _AbortError(
                    grpc.StatusCode.NOT_FOUND,
                    SCHEMA_NOT_FOUND,
                    f"The schema {request.schema_id} was not found.",
                )
        except _AbortError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from exc
        return pb.SchemaInfo(
            schema_json=json.dumps(found.schema),
            schema_id=found.schema_id,
            rpc_id=self._rpc_id(),
        )

    async def Publish(  # noqa: N802 (the proto's method names)
        self, request: pb.PublishRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PublishResponse:
        return await self._publish(request, context)

    async def PublishStream(  # noqa: N802 (the proto's method names)
        self,
        request_iterator: AsyncIterator[pb.PublishRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.PublishResponse]:
        topic = ""
        async for request in request_iterator:
            topic = topic or request.topic_name
            if request.topic_name and request.topic_name != topic:  # proto: must match
                mismatch = f"The topic_name {request.topic_name} does not match {topic}."
                await self._fail(
                    context, _AbortError(grpc.StatusCode.INVALID_ARGUMENT, "", mismatch)
                )
            yield await self._publish(
                pb.PublishRequest(topic_name=topic, events=request.events), context
            )

    async def ManagedSubscribe(  # noqa: N802 (the proto's method names)
        self,
        request_iterator: AsyncIterator[pb.ManagedFetchRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.ManagedFetchResponse]:
        from salesforce_typed.testing.pubsub import managed  # it builds on this module

        async for response in managed.managed_subscribe(self, request_iterator, context):
            yield response

    async def _publish(
        self, request: pb.PublishRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PublishResponse:
        try:
            session = await self._admit(context)
            can_publish, found = self.topic(request.topic_name)
            if not can_publish or found is None:
                raise _AbortError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "sfdc.platform.eventbus.grpc.publish.denied",
                    f"Publishing to {request.topic_name} is not allowed.",
                )
            too_large = limits.request_error(request)
            if too_large is not None:
                raise _AbortError(too_large[0], "", too_large[1])
        except _AbortError as exc:
            await self._fail(context, exc)
            raise AssertionError("unreachable") from exc
        name = request.topic_name[len("/event/") :]
        results = [self._publish_one(name, found, event, session) for event in request.events]
        return pb.PublishResponse(results=results, schema_id=found.schema_id, rpc_id=self._rpc_id())

    def _publish_one(
        self, name: str, found: _Schema, event: pb.ProducerEvent, session: Session
    ) -> pb.PublishResult:
        def failed(msg: str) -> pb.PublishResult:
            error = pb.Error(code=pb.ErrorCode.PUBLISH, msg=msg)
            return pb.PublishResult(error=error, correlation_key=event.id)

        too_large = limits.event_error(event)
        if too_large is not None:
            return failed(too_large)
        if event.schema_id != found.schema_id:
            return failed(f"The schema ID {event.schema_id} does not match the topic's schema.")
        try:
            datum = fastavro.schemaless_reader(io.BytesIO(event.payload), found.parsed, None)
        except Exception:  # any malformed payload is the publisher's error, per event
            return failed("The event payload could not be deserialized with the schema.")
        if not isinstance(datum, dict):
            return failed("The event payload is not a record.")
        fields = {
            f["name"]: schemas.json_value(f, datum.get(f["name"]))
            for f in found.schema["fields"][2:]
            if datum.get(f["name"]) is not None
        }
        replay_id, _ = self.bus.publish_platform_event(name, fields, session.user_id)
        return pb.PublishResult(replay_id=replay_bytes(replay_id), correlation_key=event.id)

    async def Subscribe(  # noqa: N802 (the proto's method names)
        self,
        request_iterator: AsyncIterator[pb.FetchRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.FetchResponse]:
        try:
            await self._admit(context)
            first = await anext(request_iterator, None)
            if first is None:
                return
            channel = first.topic_name
            self.topic(channel)
            cursor = self._start(channel, first)
            pending = self._requested(first)
        except _AbortError as exc:
            await self._fail(context, exc)
            return
        wake = asyncio.Event()
        credit: list[int] = [pending]
        failure: list[_AbortError] = []
        watch = FetchWait(self.config)

        async def read_requests() -> None:
            async for more in request_iterator:
                watch.touch()
                try:
                    # the guide: at most 100 requested across all requests of a call
                    credit[0] = min(credit[0] + self._requested(more), MAX_REQUESTED)
                except _AbortError as exc:
                    failure.append(exc)
                wake.set()

        with self._lock:
            self._waiters[wake] = (channel, failure)
        reader = asyncio.ensure_future(read_requests())
        try:
            async for response in self._deliver(channel, cursor, credit, wake, failure, watch):
                yield response
            if failure:
                await self._fail(context, failure[0])
        finally:
            reader.cancel()
            with self._lock:
                self._waiters.pop(wake, None)

    async def _deliver(
        self,
        channel: str,
        cursor: int,
        credit: list[int],
        wake: asyncio.Event,
        failure: list[_AbortError],
        watch: FetchWait,
    ) -> AsyncIterator[pb.FetchResponse]:
        while not failure:
            wake.clear()
            batch = self.bus.read(channel, cursor, credit[0]) if credit[0] > 0 else []
            if batch:
                events = [self._consumer_event(r.replay_id, r.body) for r in batch]
                cursor = batch[-1].replay_id
                credit[0] -= len(batch)
                yield pb.FetchResponse(
                    events=[e for e in events if e is not None],
                    latest_replay_id=replay_bytes(cursor),
                    rpc_id=self._rpc_id(),
                    pending_num_requested=credit[0],
                )
                watch.touch()
                continue
            wait = watch.idle(credit[0])
            if wait is None:
                return  # nothing pending, no request in time: the stream closes (status OK)
            try:
                await asyncio.wait_for(wake.wait(), wait)
            except TimeoutError:
                if watch.idle(credit[0]) is None:
                    return
                yield pb.FetchResponse(
                    latest_replay_id=replay_bytes(cursor),
                    rpc_id=self._rpc_id(),
                    pending_num_requested=credit[0],
                )

    def _start(self, channel: str, first: pb.FetchRequest) -> int:
        preset = first.replay_preset
        if preset == pb.ReplayPreset.CUSTOM:
            if not first.replay_id:
                raise _AbortError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    REPLAY_INVALID,
                    "The replay_preset field in FetchRequest is set to ReplayPreset.CUSTOM, "
                    "but no Replay ID value is set.",
                )
            wanted = replay_int(first.replay_id)
        else:
            wanted = -2 if preset == pb.ReplayPreset.EARLIEST else -1
        start = None if wanted is None else self.bus.replay_start(channel, wanted)
        if start is None:
            raise _AbortError(
                grpc.StatusCode.INVALID_ARGUMENT,
                REPLAY_CORRUPTED,
                "The Replay ID validation failed. Ensure that the replay_id field value in "
                "FetchRequest is valid and refers to an event that is within the retention "
                "window.",
            )
        return start

    @staticmethod
    def _requested(request: pb.FetchRequest) -> int:
        if request.num_requested < 0:
            raise _AbortError(
                grpc.StatusCode.INVALID_ARGUMENT,
                REQUESTED_INVALID,
                "The number of requested events in FetchRequest must not be negative.",
            )
        return min(request.num_requested, MAX_REQUESTED)

    def _consumer_event(self, replay_id: int, body: bytes) -> pb.ConsumerEvent | None:
        """The retained event as Pub/Sub sends it, encoded once: the same event read again
        (another subscriber, a replay) keeps the bytes and schema id of its first encoding,
        as a stored event keeps the schema it was published with."""
        if body.startswith(_CDC_BODY):  # every /data channel carries CDC: skip the parse
            with self._lock:
                cached = self._encoded.get(("cdc", replay_id))
            if cached is not None:
                return cached
        message = json.loads(body)
        channel = str(message.get("channel", ""))
        data = message.get("data") or {}
        payload = data.get("payload")
        event = data.get("event") or {}
        if not isinstance(payload, dict):
            return None
        header = payload.get("ChangeEventHeader")
        key = ("cdc" if isinstance(header, dict) else channel, replay_id)
        with self._lock:
            cached = self._encoded.get(key)
        if cached is not None:
            return cached
        encode: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
        if isinstance(header, dict):
            found = self.change_schema(str(header.get("entityName")))
            encode = schemas.change_datum
        else:
            found = self.event_schema(channel[len("/event/") :])
            encode = schemas.platform_datum
        if found is None:
            return None
        encoded_payload = found.encode(encode(found.schema, payload))
        event_id = str(event.get("EventUuid") or _event_id(replay_id))
        producer = pb.ProducerEvent(id=event_id, schema_id=found.schema_id, payload=encoded_payload)
        encoded = pb.ConsumerEvent(event=producer, replay_id=replay_bytes(replay_id))
        with self._lock:
            self._encoded[key] = encoded
            while len(self._encoded) > _ENCODED_KEPT:
                self._encoded.popitem(last=False)
        return encoded
