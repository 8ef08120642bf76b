"""The Pub/Sub API client (gRPC, asyncio): topics, schemas, typed subscriptions, publishing.

    async with AsyncPubSub.from_client(sf, target=creds["pubsub_url"]) as pubsub:
        async for message in pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST):
            message.event  # a ChangeDataEvent: the same typed models as the CometD listener

What must stay true:
- Auth metadata (`accesstoken`, `instanceurl`, `tenantid`) comes from the REST client's auth
  flow and token store; an UNAUTHENTICATED answer refreshes the session once (single-flight,
  through the same flow) and retries; a subscription resumes after its last event.
- Flow control: at most `num_requested` events are outstanding; the next FetchRequest goes
  out only when the server's `pending_num_requested` reaches 0 and the consumer has taken
  every event of the batch, so a slow consumer holds events back on the server.
- Schemas are fetched once per schema id (an id is one schema version) and cached.
- The access token never appears in a repr, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import fastavro
import grpc
import grpc.aio

from salesforce_typed.core.errors import UsageError
from salesforce_typed.pubsub.decode import SchemaPlan, bayeux_message, cometd_payload
from salesforce_typed.pubsub.errors import PubSubError
from salesforce_typed.streaming.events import EventDecoder, StreamEvent
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from salesforce_typed.rest._async.client import AsyncSalesforce

__all__ = [
    "DEFAULT_TARGET",
    "EARLIEST",
    "LATEST",
    "AsyncPubSub",
    "PubSubMessage",
    "PublishResult",
    "Replay",
    "TopicInfo",
]

DEFAULT_TARGET: Final = "api.pubsub.salesforce.com:7443"
LATEST: Final = "LATEST"
EARLIEST: Final = "EARLIEST"
Replay = str | bytes  # LATEST, EARLIEST, or a replay id to start after (CUSTOM)
MAX_REQUESTED: Final = 100  # "Pub/Sub API Allocations": events per FetchRequest
# HTTP/2 pings on an idle connection, so a half-open one fails instead of hanging. Every
# 5 minutes: gRPC servers by default refuse pings without data more often (GOAWAY
# too_many_pings), and Salesforce's own keepalive FetchResponse comes every 270 s.
_CHANNEL_OPTIONS: Final = (
    ("grpc.keepalive_time_ms", 300_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)
T = TypeVar("T")


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
class PublishResult:
    """One published event: its replay id, or the error Salesforce gave for it alone."""

    correlation_key: str
    replay_id: bytes | None
    error: str | None = None


def _error(exc: grpc.aio.AioRpcError) -> PubSubError:
    trailers = {k: v for k, v in (exc.trailing_metadata() or ()) if isinstance(v, str)}
    return PubSubError(
        exc.details() or "",
        status=exc.code().name,
        error_code=trailers.get("error-code", ""),
        rpc_id=trailers.get("rpc-id", ""),
    )


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
        self,
        topic: str,
        *,
        replay: Replay = LATEST,
        num_requested: int = MAX_REQUESTED,
        idle_timeout_s: float = 330.0,
    ) -> AsyncIterator[PubSubMessage]:
        """Events of `topic`, typed, after `replay` (LATEST, EARLIEST or a stored replay id);
        at most `num_requested` (1..100) are requested from the server at a time.

        Salesforce answers at least every 270 s (an empty keepalive when idle): a stream
        silent for `idle_timeout_s` is half-open and ends in a `PubSubError` (status
        `DEADLINE_EXCEEDED`), for the caller to resubscribe after its last replay id."""
        if not 1 <= num_requested <= MAX_REQUESTED:
            raise UsageError(f"num_requested must be 1..{MAX_REQUESTED}, not {num_requested}")
        last: bytes | None = None
        refreshed = False
        while True:
            metadata = await self._metadata()
            start = replay if last is None else last
            call = self._stub.Subscribe(metadata=metadata)
            try:
                await call.write(_first_request(topic, start, num_requested))
                async for message in self._read(call, topic, num_requested, idle_timeout_s):
                    last = message.replay_id
                    yield message
                return
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
        num_requested: int,
        idle_timeout_s: float,
    ) -> AsyncIterator[PubSubMessage]:
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
            for consumer in response.events:
                yield await self._message(topic, consumer)
            if response.events and response.pending_num_requested == 0:
                more = pb.FetchRequest(topic_name=topic, num_requested=num_requested)
                # a write racing the server's end of the stream fails with INTERNAL ("from
                # Core") or InvalidStateError: the next read raises the stream's real status
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    await call.write(more)

    async def _message(self, topic: str, consumer: pb.ConsumerEvent) -> PubSubMessage:
        event = consumer.event
        _, parsed, plan = await self._schema(event.schema_id)
        record = fastavro.schemaless_reader(io.BytesIO(event.payload), parsed, None)
        payload = cometd_payload(plan, record if isinstance(record, Mapping) else {})
        raw = bayeux_message(topic, event.schema_id, event.id, consumer.replay_id, payload)
        return PubSubMessage(
            topic=topic,
            replay_id=consumer.replay_id,
            schema_id=event.schema_id,
            event=self.decoder.decode(raw),
        )

    # -- publish -----------------------------------------------------------------------------

    async def publish(
        self, topic: str, events: Sequence[Mapping[str, Any]], *, ids: Sequence[str] = ()
    ) -> list[PublishResult]:
        """Publish platform events (field name -> value, datetimes as epoch ms or ISO)."""
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
        request = pb.PublishRequest(topic_name=topic, events=producer)
        response = await self._call(lambda md: self._stub.Publish(request, metadata=md))
        return [
            PublishResult(
                correlation_key=r.correlation_key,
                replay_id=r.replay_id or None,
                error=r.error.msg if r.HasField("error") else None,
            )
            for r in response.results
        ]


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
