"""Our client against a minimal Pub/Sub server written here straight from the proto and the
guide (none of the fake org's Pub/Sub code): its schema, Avro payloads and header bitmaps are
written by hand, so a mistake shared by our server and our client cannot hide."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import fastavro
import grpc
import grpc.aio
import pytest

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant
from salesforce_typed.core.errors import UsageError
from salesforce_typed.pubsub import EARLIEST, AsyncPubSub, PubSubError, PubSubMessage
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import ChangeDataEvent
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc
from salesforce_typed_std import ContactChangeEvent

_NULLABLE_STRING: Any = ["null", "string"]
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ContactChangeEvent",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {
            "name": "ChangeEventHeader",
            "type": {
                "type": "record",
                "name": "ChangeEventHeader",
                "fields": [
                    {"name": "entityName", "type": "string"},
                    {"name": "recordIds", "type": {"type": "array", "items": "string"}},
                    {"name": "changeType", "type": "string"},
                    {"name": "changeOrigin", "type": "string"},
                    {"name": "transactionKey", "type": "string"},
                    {"name": "sequenceNumber", "type": "int"},
                    {"name": "commitTimestamp", "type": "long"},
                    {"name": "commitNumber", "type": "long"},
                    {"name": "commitUser", "type": "string"},
                    {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
                    {"name": "diffFields", "type": {"type": "array", "items": "string"}},
                    {"name": "changedFields", "type": {"type": "array", "items": "string"}},
                ],
            },
        },
        {
            "name": "Name",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Name",
                    "fields": [
                        {"name": "Salutation", "type": _NULLABLE_STRING, "default": None},
                        {"name": "FirstName", "type": _NULLABLE_STRING, "default": None},
                        {"name": "LastName", "type": _NULLABLE_STRING, "default": None},
                    ],
                },
            ],
            "default": None,
        },
        {"name": "Phone", "type": _NULLABLE_STRING, "default": None},
        {
            "name": "LastModifiedDate",
            "type": ["null", "long"],
            "doc": "Data:DateTime",
            "default": None,
        },
    ],
}
# Fields by position: 0 ChangeEventHeader, 1 Name (Salutation, FirstName, LastName), 2 Phone,
# 3 LastModifiedDate. Phone and LastModifiedDate changed: bits 2 and 3 -> 0x0C; Name.LastName:
# nested bit 2 of field 1 -> "1-0x04"; Phone nulled: bit 2 -> 0x04.
CHANGED = ["0x0C", "1-0x04"]
NULLED = ["0x04"]
MAY_1_2024_NOON_MS = 1714564800000


def _payload(n: int) -> bytes:
    record = {
        "ChangeEventHeader": {
            "entityName": "Contact",
            "recordIds": [f"003000000000{n:03d}AAA"],
            "changeType": "UPDATE",
            "changeOrigin": "com/salesforce/api/rest/62.0",
            "transactionKey": f"txn-{n}",
            "sequenceNumber": 1,
            "commitTimestamp": MAY_1_2024_NOON_MS,
            "commitNumber": 100 + n,
            "commitUser": "005000000000001AAA",
            "nulledFields": NULLED,
            "diffFields": [],
            "changedFields": CHANGED,
        },
        "Name": {"Salutation": None, "FirstName": None, "LastName": f"Lovelace{n}"},
        "Phone": None,
        "LastModifiedDate": MAY_1_2024_NOON_MS,
    }
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(SCHEMA), record)
    return out.getvalue()


class MinimalPubSub(pb_grpc.PubSubServicer):
    """`total` retained events (5); the first access token it sees is rejected as expired."""

    def __init__(self) -> None:
        self.total = 5
        self.tokens: list[str] = []
        self.metadata: list[dict[str, str]] = []
        self.fetches: list[int] = []  # num_requested of every FetchRequest, in order
        self.sent = 0
        self.end_streams = False  # end every Subscribe at once, before any event
        self.subscribes = 0
        self.topics = 0  # GetTopic calls

    async def _auth(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        md = {k: str(v) for k, v in (context.invocation_metadata() or ())}
        self.metadata.append(md)
        token = md.get("accesstoken", "")
        first = not self.tokens
        self.tokens.append(token)
        if first or token == self.tokens[0]:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "An authentication exception occurred.",
                trailing_metadata=(
                    ("error-code", "sfdc.platform.eventbus.grpc.service.auth.error"),
                ),
            )

    async def GetTopic(
        self, request: pb.TopicRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.TopicInfo:
        await self._auth(context)
        self.topics += 1
        return pb.TopicInfo(topic_name=request.topic_name, can_subscribe=True, schema_id="S1")

    async def GetSchema(
        self, request: pb.SchemaRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SchemaInfo:
        await self._auth(context)
        assert request.schema_id == "S1"
        return pb.SchemaInfo(schema_json=json.dumps(SCHEMA), schema_id="S1")

    async def Subscribe(
        self,
        request_iterator: AsyncIterator[pb.FetchRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.FetchResponse]:
        await self._auth(context)
        self.subscribes += 1
        if self.end_streams:
            return
        async for request in request_iterator:
            self.fetches.append(request.num_requested)
            if len(self.fetches) == 1:
                assert request.topic_name == "/data/ContactChangeEvent"
                assert request.replay_preset == pb.ReplayPreset.EARLIEST
            batch = []
            for _ in range(min(request.num_requested, self.total - self.sent)):
                self.sent += 1
                event = pb.ProducerEvent(
                    id=f"e{self.sent}", schema_id="S1", payload=_payload(self.sent)
                )
                batch.append(pb.ConsumerEvent(event=event, replay_id=self.sent.to_bytes(8, "big")))
            yield pb.FetchResponse(
                events=batch,
                latest_replay_id=self.sent.to_bytes(8, "big"),
                pending_num_requested=request.num_requested - len(batch),
            )


@pytest.fixture
async def minimal() -> AsyncIterator[tuple[MinimalPubSub, str]]:
    server = grpc.aio.server()
    servicer = MinimalPubSub()  # type: ignore[abstract]  # only the RPCs the client uses
    pb_grpc.add_PubSubServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=0)


async def test_client_decodes_hand_encoded_events_with_flow_control_and_refresh(
    fake_org: FakeOrg,
    minimal: tuple[MinimalPubSub, str],
    grant: Callable[[FakeOrg], RefreshTokenGrant],
) -> None:
    servicer, target = minimal
    got: list[PubSubMessage] = []
    async with (
        AsyncSalesforce(auth=grant(fake_org), token_store=MemoryTokenStore()) as sf,
        AsyncPubSub(sf, target=target, insecure=True) as pubsub,
    ):
        # the strictest window: the next request only once every event was taken
        stream = pubsub.subscribe(
            "/data/ContactChangeEvent", replay=EARLIEST, num_requested=2, max_outstanding=2
        )
        async for message in stream:
            got.append(message)
            if len(got) == 4:
                break
        await stream.aclose()  # type: ignore[attr-defined]

    # auth metadata from the REST session; the rejected token was refreshed exactly once
    md = servicer.metadata[-1]
    assert md["instanceurl"] == fake_org.instance_url
    assert md["tenantid"] == fake_org.state.config.org_id
    assert servicer.tokens[0] != servicer.tokens[-1]
    assert len(set(servicer.tokens)) == 2

    # flow control with max_outstanding=num_requested: 2 requested, 2 delivered, one more
    # request after they were consumed, and none after the 4th event, where it stopped
    assert servicer.fetches == [2, 2]
    assert [int.from_bytes(m.replay_id, "big") for m in got] == [1, 2, 3, 4]

    event = got[0].event
    assert isinstance(event, ChangeDataEvent)
    assert isinstance(event.record, ContactChangeEvent)
    assert event.header.changedFields == ["Phone", "LastModifiedDate", "Name.LastName"]
    assert event.header.nulledFields == ["Phone"]
    assert event.record.Name.LastName == "Lovelace1"  # type: ignore[union-attr]
    assert event.record.Phone is None
    modified = event.record.LastModifiedDate
    assert modified is not None and modified.isoformat().startswith("2024-05-01T12:00:00")  # type: ignore[union-attr]


async def test_the_next_fetch_goes_out_before_the_batch_is_taken_within_the_window(
    fake_org: FakeOrg,
    minimal: tuple[MinimalPubSub, str],
    grant: Callable[[FakeOrg], RefreshTokenGrant],
) -> None:
    """The default window (2 x num_requested): the server is asked for the next batch while
    the consumer still works on this one, and a consumer that stalls holds the rest back:
    what was requested never runs more than the window ahead of what was taken."""
    servicer, target = minimal
    servicer.total = 12
    window = 4
    taken = 0
    ahead: list[int] = []  # requested minus taken, each time an event is taken

    async def settled() -> None:  # let requests the client wrote reach the server
        for _ in range(20):
            await asyncio.sleep(0.01)

    async with (
        AsyncSalesforce(auth=grant(fake_org), token_store=MemoryTokenStore()) as sf,
        AsyncPubSub(sf, target=target, insecure=True) as pubsub,
    ):
        stream = pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST, num_requested=2)
        async for _message in stream:
            taken += 1
            await settled()
            ahead.append(sum(servicer.fetches) - taken)
            if taken == 1:
                # asked again before the first batch was taken (the old rule waited)
                assert servicer.fetches == [2, 2]
                await asyncio.sleep(0.3)  # a slow consumer: nothing more is asked for
                assert servicer.fetches == [2, 2] and servicer.sent == 4
            if taken == servicer.total:
                break
        await stream.aclose()  # type: ignore[attr-defined]

    assert taken == 12
    assert max(ahead) <= window and min(ahead) >= 0
    assert all(n == 2 for n in servicer.fetches)  # num_requested per FetchRequest


async def test_a_window_below_num_requested_is_refused(
    fake_org: FakeOrg, grant: Callable[[FakeOrg], RefreshTokenGrant]
) -> None:
    async with (
        AsyncSalesforce(auth=grant(fake_org), token_store=MemoryTokenStore()) as sf,
        AsyncPubSub(sf, target="127.0.0.1:1", insecure=True) as pubsub,
    ):
        stream = pubsub.subscribe("/data/X", num_requested=10, max_outstanding=5)
        with pytest.raises(UsageError):
            await anext(stream)


async def test_streams_ended_again_and_again_before_any_event_are_an_error(
    fake_org: FakeOrg,
    minimal: tuple[MinimalPubSub, str],
    grant: Callable[[FakeOrg], RefreshTokenGrant],
) -> None:
    """A stream the server ends is opened again (a slow consumer's); three in a row that end
    before any event raise instead of looping."""
    servicer, target = minimal
    servicer.end_streams = True
    async with (
        AsyncSalesforce(auth=grant(fake_org), token_store=MemoryTokenStore()) as sf,
        AsyncPubSub(sf, target=target, insecure=True) as pubsub,
    ):
        stream = pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST)
        with pytest.raises(PubSubError, match="ended 3 streams") as caught:
            async with asyncio.timeout(30):
                await anext(stream)
    assert caught.value.status == "OK"
    assert servicer.subscribes == 3  # the refused first token never opened a stream
    assert servicer.topics == 2  # a unary probe of the session before each reopen
