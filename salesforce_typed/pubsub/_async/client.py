"""The Pub/Sub API client (gRPC, asyncio): topics, schemas, typed subscriptions, publishing.

    async with AsyncPubSub.from_client(sf, target=creds["pubsub_url"]) as pubsub:
        async for message in pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST):
            message.event  # a ChangeDataEvent: the same typed models as the CometD listener

What must stay true:
- Auth metadata (`accesstoken`, `instanceurl`, `tenantid`) comes from the REST client's auth
  flow and token store; an UNAUTHENTICATED answer refreshes the session once (single-flight,
  through the same flow) and retries; a subscription resumes after its last event.
- Flow control: FetchRequests ask for `num_requested` events each, and the events asked for
  and not yet delivered never exceed 100 (the guide caps a Subscribe call at 100 across its
  requests; the server adds requests up). The next request goes out as soon as the window
  has room: events requested but not delivered, plus delivered ones the consumer has not
  taken, stay within `max_outstanding` (default two requests' worth), so the server reads
  ahead while the client decodes, and a slow consumer still holds events back on the
  server. `max_outstanding=num_requested` asks only once every event was taken.
- Schemas are fetched once per schema id (an id is one schema version) and cached.
- The access token never appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import ssl
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypedDict, TypeVar, Unpack

import attrs
import fastavro
import grpc
import grpc.aio

from salesforce_typed.core.errors import UsageError
from salesforce_typed.pubsub._async.managed import ManagedStream
from salesforce_typed.pubsub.decode import SchemaPlan, cometd_data, read_payload, replay_int
from salesforce_typed.pubsub.errors import PubSubError
from salesforce_typed.pubsub.policy import MAX_EMPTY_ENDS
from salesforce_typed.streaming.events import EventDecoder, StreamEvent
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from salesforce_typed.rest._async.client import AsyncSalesforce

__all__ = [
    "DEFAULT_TARGET",
    "EARLIEST",
    "LATEST",
    "MAX_PUBLISH_BATCH",
    "MAX_PUBLISH_BYTES",
    "AsyncPubSub",
    "ManagedStream",
    "ManagedSubscriptionInfo",
    "PubSubMessage",
    "PublishResult",
    "Replay",
    "TopicInfo",
]

logger = logging.getLogger("salesforce_typed.pubsub")

DEFAULT_TARGET: Final = "api.pubsub.salesforce.com:7443"
LATEST: Final = "LATEST"
EARLIEST: Final = "EARLIEST"
Replay = str | bytes  # LATEST, EARLIEST, or a replay id to start after (CUSTOM)
MAX_REQUESTED: Final = 100  # "Pub/Sub API Allocations": events per FetchRequest
# "Pub/Sub API and Event Allocations": a PublishRequest over 4 MB fails and closes the stream;
# no more than 200 events per request is the guide's recommendation (our default cap).
MAX_PUBLISH_BYTES: Final = 4 * 1024 * 1024
MAX_PUBLISH_BATCH: Final = 200
# HTTP/2 pings on an idle connection, so a half-open one fails instead of hanging. Every
# 5 minutes: gRPC servers by default refuse pings without data more often (GOAWAY
# too_many_pings), and Salesforce's own keepalive FetchResponse comes every 270 s.
_CHANNEL_OPTIONS: Final = (
    ("grpc.keepalive_time_ms", 300_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)
T = TypeVar("T")


class SubscribeOptions(TypedDict, total=False):
    """`AsyncPubSub.subscribe`'s options: `subscribe_batches` has their defaults and says
    what each does."""

    replay: Replay
    num_requested: int
    idle_timeout_s: float
    max_outstanding: int | None


@attrs.frozen(kw_only=True)
class TopicInfo:
    """GetTopic's answer; `schema_id` is empty for a topic of several schemas."""

    topic_name: str
    tenant_guid: str
    can_publish: bool
    can_subscribe: bool
    schema_id: str


@attrs.frozen(kw_only=True)
class PubSubMessage:
    """One delivered event: its opaque replay id (store it to resume after it), its schema id
    and the typed event (`ChangeDataEvent`, `PlatformEvent`), as the CometD listener makes."""

    topic: str
    replay_id: bytes
    schema_id: str
    event: StreamEvent


@attrs.frozen(kw_only=True)
class ManagedSubscriptionInfo:
    """A `ManagedEventSubscription` Tooling record: what the org keeps for a managed
    subscription (its state is RUN or STOP)."""

    id: str
    developer_name: str
    topic_name: str
    state: str
    default_replay: str
    error_recovery_replay: str


@attrs.frozen(kw_only=True)
class PublishResult:
    """One published event: its replay id, or the error Salesforce gave for it alone."""

    correlation_key: str
    replay_id: bytes | None
    error: str | None = None


def rpc_error(exc: grpc.aio.AioRpcError) -> PubSubError:
    """A failed RPC as a PubSubError: its status, `error-code` and `rpc-id` trailers."""
    trailers = {k: v for k, v in (exc.trailing_metadata() or ()) if isinstance(v, str)}
    return PubSubError(
        exc.details() or "",
        status=exc.code().name,
        error_code=trailers.get("error-code", ""),
        rpc_id=trailers.get("rpc-id", ""),
    )


_error = rpc_error


def _root_certificates(verify: ssl.SSLContext | bool) -> bytes | None:
    """The CA the REST client trusts, as PEM for gRPC; None for the system's roots."""
    if not isinstance(verify, ssl.SSLContext):
        if verify is False:
            raise UsageError("the Pub/Sub API is TLS-only: verify=False cannot be honoured")
        return None
    ders = verify.get_ca_certs(binary_form=True)
    pems = [ssl.DER_cert_to_PEM_cert(der) for der in ders if isinstance(der, bytes)]
    return "".join(pems).encode() or None


class AsyncPubSub:
    """Salesforce's Pub/Sub API on the session of a REST client (`AsyncSalesforce`)."""

    def __init__(
        self,
        sf: AsyncSalesforce,
        *,
        target: str = DEFAULT_TARGET,
        root_certificates: bytes | None = None,
        insecure: bool = False,
        decoder: EventDecoder | None = None,
    ) -> None:
        self.sf = sf
        self.target = target
        self.decoder = decoder or EventDecoder(sf.package)
        if insecure:  # a plaintext fake org only: Salesforce's endpoint is TLS
            self._channel = grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        else:
            roots = root_certificates or _root_certificates(sf.sender.verify)
            creds = grpc.ssl_channel_credentials(root_certificates=roots)
            self._channel = grpc.aio.secure_channel(target, creds, options=_CHANNEL_OPTIONS)
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._schemas: dict[str, tuple[dict[str, Any], Any, SchemaPlan]] = {}
        self._tenant: str | None = None

    @classmethod
    def from_client(cls, sf: AsyncSalesforce, **options: Any) -> AsyncPubSub:
        return cls(sf, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r})"

    async def __aenter__(self) -> AsyncPubSub:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._channel.close()

    # -- auth ------------------------------------------------------------------------------

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        token = await self.sf.sender.session_id()
        if token is None:
            raise UsageError("the Pub/Sub API needs a Salesforce grant, not a plain httpx.Auth")
        if self._tenant is None:
            info = await self.sf.request("GET", "/services/oauth2/userinfo")
            self._tenant = str(info["organization_id"])
        instance = await self.sf.sender.instance_url()
        return (("accesstoken", token), ("instanceurl", instance), ("tenantid", self._tenant))

    async def _call(self, rpc: Callable[[tuple[tuple[str, str], ...]], Awaitable[T]]) -> T:
        """One unary RPC; UNAUTHENTICATED refreshes the session once and retries."""
        for attempt in (1, 2):
            metadata = await self._metadata()
            try:
                return await rpc(metadata)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED and attempt == 1:
                    await self._refresh(metadata)
                    continue
                raise _error(exc) from None
        raise AssertionError("unreachable")

    async def _refresh(self, metadata: tuple[tuple[str, str], ...]) -> None:
        if not self.sf.sender.can_refresh:
            raise PubSubError(
                "the session was rejected and the auth cannot refresh",
                status="UNAUTHENTICATED",
            )
        await self.sf.sender.refresh(rejected=dict(metadata)["accesstoken"])

    # -- topics and schemas -----------------------------------------------------------------

    async def get_topic(self, topic: str) -> TopicInfo:
        request = pb.TopicRequest(topic_name=topic)
        info = await self._call(lambda md: self._stub.GetTopic(request, metadata=md))
        return TopicInfo(
            topic_name=info.topic_name,
            tenant_guid=info.tenant_guid,
            can_publish=info.can_publish,
            can_subscribe=info.can_subscribe,
            schema_id=info.schema_id,
        )

    async def get_schema(self, schema_id: str) -> dict[str, Any]:
        """The Avro schema (parsed JSON) of one schema id, fetched once and cached."""
        return (await self._schema(schema_id))[0]

    async def _schema(self, schema_id: str) -> tuple[dict[str, Any], Any, SchemaPlan]:
        found = self._schemas.get(schema_id)
        if found is None:
            request = pb.SchemaRequest(schema_id=schema_id)
            info = await self._call(lambda md: self._stub.GetSchema(request, metadata=md))
            schema = json.loads(info.schema_json)
            parsed = fastavro.parse_schema(schema)
            found = self._schemas[schema_id] = (schema, parsed, SchemaPlan(schema))
        return found

    # -- subscribe ---------------------------------------------------------------------------

    async def subscribe(
        self, topic: str, **options: Unpack[SubscribeOptions]
    ) -> AsyncIterator[PubSubMessage]:
        """Events of `topic`, typed, one at a time: `subscribe_batches` (the same options)
        unbatched."""
        batches = self.subscribe_batches(topic, **options)
        try:
            async for batch in batches:
                for message in batch:
                    yield message
        finally:
            await batches.aclose()

    async def subscribe_batches(
        self,
        topic: str,
        *,
        replay: Replay = LATEST,
        num_requested: int = MAX_REQUESTED,
        idle_timeout_s: float = 330.0,
        max_outstanding: int | None = None,
    ) -> AsyncGenerator[list[PubSubMessage], None]:
        """Events of `topic`, typed, after `replay` (LATEST, EARLIEST or a stored replay id),
        one list per FetchResponse that carries events; a batch counts as taken once the next
        one is asked for. Each FetchRequest asks for `num_requested` (1..100), and at most
        `max_outstanding` events (default `2 * num_requested`) are requested from the server
        or delivered and not yet taken.

        Salesforce answers at least every 270 s (an empty keepalive when idle): a stream
        silent for `idle_timeout_s` is half-open and ends in a `PubSubError` (status
        `DEADLINE_EXCEEDED`), for the caller to resubscribe after its last replay id. A
        stream the server ends (a consumer that held a batch over 60 s) is opened again after
        the last event handed over: nothing lost, nothing twice."""
        if not 1 <= num_requested <= MAX_REQUESTED:
            raise UsageError(f"num_requested must be 1..{MAX_REQUESTED}, not {num_requested}")
        limit = 2 * num_requested if max_outstanding is None else max_outstanding
        if limit < num_requested:
            raise UsageError(
                f"max_outstanding ({limit}) must be at least num_requested ({num_requested})"
            )
        last: bytes | None = None
        refreshed = False
        ended = 0  # streams the server ended in a row before any event
        while True:
            metadata = await self._metadata()
            start = replay if last is None else last
            call = self._stub.Subscribe(metadata=metadata)
            try:
                await call.write(_first_request(topic, start, num_requested))
                window = _Window(size=num_requested, limit=limit, outstanding=num_requested)
                got = False
                async for batch in self._read(call, topic, window, idle_timeout_s):
                    last, got = batch[-1].replay_id, True
                    yield batch
                # The server ended the stream. With nothing pending, Salesforce closes a stream
                # that gets no FetchRequest within 60 s of its last FetchResponse ("Pull
                # Subscription and Flow Control"): a consumer slower than that on one batch.
                # Subscribe again after the last event handed over; ended again and again
                # before any event, it is an error.
                ended = 0 if got else ended + 1
                refreshed = refreshed and not got  # a stream that worked: may refresh again
                if ended >= MAX_EMPTY_ENDS:
                    raise PubSubError(
                        f"the server ended {ended} streams of {topic} in a row before any event",
                        status="OK",
                    )
                logger.info("the server ended the %s stream; subscribing again", topic)
                # a unary call first: it refreshes a session that died meanwhile, where a
                # stream refused at its first write shows only INTERNAL (a gRPC race)
                await self.get_topic(topic)
                continue
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    refreshed = True
                    await self._refresh(metadata)
                    continue
                raise _error(exc) from None
            finally:
                call.cancel()

    async def _read(
        self,
        call: grpc.aio.StreamStreamCall[pb.FetchRequest, pb.FetchResponse],
        topic: str,
        window: _Window,
        idle_timeout_s: float,
    ) -> AsyncIterator[list[PubSubMessage]]:
        """The stream's batches; FetchRequests go out whenever `window` has room (see the
        module doc), before a batch is handed over and again once it was taken."""
        schemas = self._schemas
        decode = self.decoder.decode_data
        while True:
            try:
                response = await asyncio.wait_for(call.read(), idle_timeout_s)
            except TimeoutError:
                raise PubSubError(
                    f"no FetchResponse (not even a keepalive) in {idle_timeout_s:g} s",
                    status="DEADLINE_EXCEEDED",
                ) from None
            if response is grpc.aio.EOF or not isinstance(response, pb.FetchResponse):
                return
            events = response.events
            if not events:
                continue  # a keepalive
            # asked for before decoding: the server reads ahead while this batch is decoded
            window.delivered(len(events))
            await _fetch_more(call, topic, window, held=len(events))
            batch: list[PubSubMessage] = []
            for consumer in events:
                event = consumer.event
                schema_id = event.schema_id
                found = schemas.get(schema_id) or await self._schema(schema_id)
                payload = read_payload(found[2], event.payload)  # compiled per schema id
                replay_id = consumer.replay_id
                replay = replay_int(replay_id)
                data = cometd_data(schema_id, event.id, replay, payload)
                batch.append(
                    PubSubMessage(
                        topic=topic,
                        replay_id=replay_id,
                        schema_id=schema_id,
                        event=decode(topic, replay, data),
                    )
                )
            yield batch
            await _fetch_more(call, topic, window, held=0)

    async def _message(self, topic: str, consumer: pb.ConsumerEvent) -> PubSubMessage:
        event = consumer.event
        found = self._schemas.get(event.schema_id) or await self._schema(event.schema_id)
        payload = read_payload(found[2], event.payload)  # compiled per schema id
        replay = replay_int(consumer.replay_id)
        data = cometd_data(event.schema_id, event.id, replay, payload)
        return PubSubMessage(
            topic=topic,
            replay_id=consumer.replay_id,
            schema_id=event.schema_id,
            event=self.decoder.decode_data(topic, replay, data),
        )

    # -- managed subscriptions (beta) --------------------------------------------------------

    async def create_managed_subscription(
        self,
        developer_name: str,
        topic: str,
        *,
        default_replay: str = LATEST,
        error_recovery_replay: str = LATEST,
        state: str = "RUN",
        label: str | None = None,
    ) -> str:
        """Create a `ManagedEventSubscription` (Tooling API, as Salesforce configures one);
        returns its record id."""
        body = {
            "FullName": developer_name,
            "Metadata": {
                "label": label or developer_name,
                "topicName": topic,
                "defaultReplay": default_replay,
                "errorRecoveryReplay": error_recovery_replay,
                "state": state,
            },
        }
        created = await self.sf.request(
            "POST", "/tooling/sobjects/ManagedEventSubscription", json=body
        )
        return str(created["id"])

    async def managed_subscription(self, key: str) -> ManagedSubscriptionInfo:
        """The `ManagedEventSubscription` with this record id or developer name."""
        from salesforce_typed.pubsub._async.managed import is_record_id

        fields = ("DeveloperName", "Id") if is_record_id(key) else ("DeveloperName",)
        for field in reversed(fields):
            soql = (
                "SELECT Id, DeveloperName, Metadata FROM ManagedEventSubscription "
                f"WHERE {field} = '{key.replace(chr(39), '')}'"
            )
            page = await self.sf.request("GET", "/tooling/query", params={"q": soql})
            for record in page.get("records") or ():
                meta = record.get("Metadata") or {}
                return ManagedSubscriptionInfo(
                    id=str(record["Id"]),
                    developer_name=str(record["DeveloperName"]),
                    topic_name=str(meta.get("topicName", "")),
                    state=str(meta.get("state", "")),
                    default_replay=str(meta.get("defaultReplay", LATEST)),
                    error_recovery_replay=str(meta.get("errorRecoveryReplay", LATEST)),
                )
        raise PubSubError(f"no ManagedEventSubscription {key!r}", status="NOT_FOUND")

    def managed_subscribe(
        self,
        subscription: str,
        *,
        topic: str | None = None,
        num_requested: int = MAX_REQUESTED,
        auto_commit: bool = True,
        idle_timeout_s: float = 330.0,
    ) -> ManagedStream:
        """Events of a managed subscription (record id or developer name), typed, from the
        org's committed position. `topic` (the subscription's, to decode events) is looked
        up with the Tooling API when not given. With `auto_commit` a batch is committed
        once the consumer has taken all of it; otherwise call `stream.commit(replay_id)`."""
        if not 1 <= num_requested <= MAX_REQUESTED:
            raise UsageError(f"num_requested must be 1..{MAX_REQUESTED}, not {num_requested}")
        return ManagedStream(
            self,
            subscription,
            topic=topic,
            num_requested=num_requested,
            auto_commit=auto_commit,
            idle_timeout_s=idle_timeout_s,
        )

    # -- publish -----------------------------------------------------------------------------

    async def _producer_events(
        self, topic: str, events: Sequence[Mapping[str, Any]], ids: Sequence[str]
    ) -> list[pb.ProducerEvent]:
        """Platform events (field name -> value, datetimes as epoch ms or ISO) encoded with
        the topic's schema."""
        import uuid

        info = await self.get_topic(topic)
        schema, parsed, _ = await self._schema(info.schema_id)
        producer = []
        for n, fields in enumerate(events):
            datum = {
                str(f["name"]): _avro_value(f, fields.get(str(f["name"]))) for f in schema["fields"]
            }
            out = io.BytesIO()
            fastavro.schemaless_writer(out, parsed, datum)
            event_id = ids[n] if n < len(ids) else str(uuid.uuid4())
            producer.append(
                pb.ProducerEvent(id=event_id, schema_id=info.schema_id, payload=out.getvalue())
            )
        return producer

    async def publish(
        self, topic: str, events: Sequence[Mapping[str, Any]], *, ids: Sequence[str] = ()
    ) -> list[PublishResult]:
        """Publish platform events (field name -> value, datetimes as epoch ms or ISO)."""
        producer = await self._producer_events(topic, events, ids)
        request = pb.PublishRequest(topic_name=topic, events=producer)
        response = await self._call(lambda md: self._stub.Publish(request, metadata=md))
        return _results(response)

    async def publish_stream(
        self,
        topic: str,
        batches: Iterable[Sequence[Mapping[str, Any]]],
        *,
        max_batch: int = MAX_PUBLISH_BATCH,
    ) -> list[PublishResult]:
        """Publish many batches over one PublishStream, all queued without waiting for each
        answer; one result per event, in order. A batch over `max_batch` events (default the
        guide's 200) or whose request exceeds 4 MB raises UsageError before anything is sent."""
        requests = []
        for number, batch in enumerate(batches):
            if not 1 <= len(batch) <= max_batch:
                raise UsageError(
                    f"batch {number} has {len(batch)} events: a PublishRequest takes 1 to "
                    f"{max_batch} (the guide recommends at most {MAX_PUBLISH_BATCH})"
                )
            request = pb.PublishRequest(
                topic_name=topic, events=await self._producer_events(topic, batch, ())
            )
            if request.ByteSize() > MAX_PUBLISH_BYTES:
                raise UsageError(
                    f"batch {number} encodes to {request.ByteSize()} bytes: a PublishRequest "
                    f"over {MAX_PUBLISH_BYTES} bytes (4 MB) fails and closes the stream"
                )
            requests.append(request)
        if not requests:
            return []
        for attempt in (1, 2):
            metadata = await self._metadata()
            call = self._stub.PublishStream(metadata=metadata)
            try:
                return await _stream_publish(call, requests)
            except grpc.aio.AioRpcError as exc:
                # refused before anything was published: safe to send again once
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED and attempt == 1:
                    await self._refresh(metadata)
                    continue
                raise rpc_error(exc) from None
            finally:
                call.cancel()
        raise AssertionError("unreachable")


async def _stream_publish(
    call: grpc.aio.StreamStreamCall[pb.PublishRequest, pb.PublishResponse],
    requests: Sequence[pb.PublishRequest],
) -> list[PublishResult]:
    """Write every request, then read one response per request (the server answers each
    batch when its publish completes, in order)."""

    async def write_all() -> None:
        for request in requests:
            await call.write(request)
        await call.done_writing()

    writer = asyncio.ensure_future(write_all())
    results: list[PublishResult] = []
    try:
        for _ in requests:
            response = await call.read()
            if response is grpc.aio.EOF or not isinstance(response, pb.PublishResponse):
                code = await call.code()
                trailers = {
                    k: v for k, v in (await call.trailing_metadata() or ()) if isinstance(v, str)
                }
                raise PubSubError(
                    await call.details()
                    or "the PublishStream ended before every batch was answered",
                    status=code.name,
                    error_code=trailers.get("error-code", ""),
                    rpc_id=trailers.get("rpc-id", ""),
                )
            results.extend(_results(response))
    finally:
        writer.cancel()
        with contextlib.suppress(BaseException):
            await writer
    return results


def _results(response: pb.PublishResponse) -> list[PublishResult]:
    return [
        PublishResult(
            correlation_key=r.correlation_key,
            replay_id=r.replay_id or None,
            error=r.error.msg if r.HasField("error") else None,
        )
        for r in response.results
    ]


@attrs.define(kw_only=True)
class _Window:
    """Flow control of one Subscribe call (see the module doc)."""

    size: int  # num_requested: what one FetchRequest asks for
    limit: int  # max_outstanding: requested and not delivered + delivered and not taken
    outstanding: int  # requested and not yet delivered

    def delivered(self, count: int) -> None:
        self.outstanding = max(0, self.outstanding - count)

    def room(self, held: int) -> bool:
        """Another request fits: within the window, and within the server's 100."""
        ahead = self.outstanding + self.size
        return ahead + held <= self.limit and ahead <= MAX_REQUESTED


async def _fetch_more(
    call: grpc.aio.StreamStreamCall[pb.FetchRequest, pb.FetchResponse],
    topic: str,
    window: _Window,
    *,
    held: int,
) -> None:
    """Ask for more while `window` has room, `held` events delivered and not yet taken."""
    while window.room(held):
        window.outstanding += window.size
        # a write racing the server's end of the stream fails with INTERNAL ("from Core")
        # or InvalidStateError: the next read raises the stream's real status
        try:
            await call.write(pb.FetchRequest(topic_name=topic, num_requested=window.size))
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            return


def _first_request(topic: str, replay: Replay, num_requested: int) -> pb.FetchRequest:
    if isinstance(replay, bytes):
        return pb.FetchRequest(
            topic_name=topic,
            replay_preset=pb.ReplayPreset.CUSTOM,
            replay_id=replay,
            num_requested=num_requested,
        )
    presets = {LATEST: pb.ReplayPreset.LATEST, EARLIEST: pb.ReplayPreset.EARLIEST}
    if replay not in presets:
        raise UsageError(f"replay must be LATEST, EARLIEST or a replay id (bytes), not {replay!r}")
    return pb.FetchRequest(
        topic_name=topic, replay_preset=presets[replay], num_requested=num_requested
    )


def _avro_value(field: Mapping[str, Any], value: Any) -> Any:
    """A publisher's value for an Avro field: ISO datetimes become epoch milliseconds;
    CreatedDate defaults to now (Salesforce sets it on publish)."""
    import datetime as dt

    kind = str(field.get("doc") or "").rpartition(":")[2]
    if value is None and field.get("name") == "CreatedDate":
        return int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    if value is None and field.get("name") == "CreatedById":
        return ""
    if kind == "DateTime" and isinstance(value, str):
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    if kind == "Date" and isinstance(value, str):
        return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
    return value
