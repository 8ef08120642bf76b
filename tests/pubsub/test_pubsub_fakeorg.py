"""The fake org's Pub/Sub service driven by raw gRPC stubs (no client of ours): auth metadata,
flow control and keepalives, topics, schemas, and bad input answered without INTERNAL."""

from __future__ import annotations

import asyncio
import io
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import fastavro
import grpc
import grpc.aio
import httpx
import pytest

from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import PubSubConfig
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

Metadata = tuple[tuple[str, str], ...]


@pytest.fixture
async def stub(org: FakeOrg) -> AsyncIterator[pb_grpc.PubSubAsyncStub]:
    assert org.tls_files is not None
    creds = grpc.ssl_channel_credentials(org.tls_files.ca_file.read_bytes())
    async with grpc.aio.secure_channel(org.pubsub_url, creds) as channel:
        yield pb_grpc.PubSubStub(channel)


@pytest.fixture
def metadata(org: FakeOrg) -> Metadata:
    session = org.state.new_session()
    return (
        ("accesstoken", session.access_token),
        ("instanceurl", org.instance_url),
        ("tenantid", org.state.config.org_id),
    )


def _contacts(org: FakeOrg, metadata: Metadata, count: int) -> None:
    token = dict(metadata)["accesstoken"]
    ca = ssl.create_default_context(cafile=org.credentials()["ca_file"])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=org.instance_url, verify=ca, headers=headers) as http:
        for n in range(count):
            r = http.post("/services/data/v62.0/sobjects/Contact", json={"LastName": f"C{n}"})
            assert r.status_code == 201, r.text


def _trailer(exc: grpc.aio.AioRpcError, key: str) -> str:
    return str(dict(exc.trailing_metadata() or ()).get(key, ""))


@pytest.mark.parametrize("drop", ["accesstoken", "instanceurl", "tenantid"])
async def test_each_auth_header_is_checked(
    stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, drop: str
) -> None:
    bad = tuple((k, "x" + v if k == drop else v) for k, v in metadata)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetTopic(pb.TopicRequest(topic_name="/data/ChangeEvents"), metadata=bad)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _trailer(caught.value, "error-code") == "sfdc.platform.eventbus.grpc.service.auth.error"
    rpc_id = _trailer(caught.value, "rpc-id")
    assert rpc_id and (caught.value.details() or "").endswith(f"rpcId: {rpc_id}")
    assert dict(metadata)["accesstoken"] not in (caught.value.details() or "")


async def test_topics_and_their_schemas(stub: pb_grpc.PubSubAsyncStub, metadata: Metadata) -> None:
    everything = await stub.GetTopic(
        pb.TopicRequest(topic_name="/data/ChangeEvents"), metadata=metadata
    )
    assert everything.can_subscribe and not everything.can_publish and not everything.schema_id
    account = await stub.GetTopic(
        pb.TopicRequest(topic_name="/data/AccountChangeEvent"), metadata=metadata
    )
    info = await stub.GetSchema(pb.SchemaRequest(schema_id=account.schema_id), metadata=metadata)
    schema = json.loads(info.schema_json)
    fastavro.parse_schema(schema)
    fields = {f["name"]: f for f in schema["fields"]}
    assert schema["fields"][0]["name"] == "ChangeEventHeader"
    billing = fields["BillingAddress"]["type"]
    assert billing[0] == "null" and billing[1]["type"] == "record"
    assert {f["name"] for f in billing[1]["fields"]} >= {"Street", "City", "PostalCode"}
    assert "BillingCity" not in fields and "Id" not in fields
    assert all(f["type"][0] == "null" for f in schema["fields"][1:])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSchema(pb.SchemaRequest(schema_id="nope"), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_new_field_is_a_new_schema_id(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata
) -> None:
    streaming.define_platform_event(org.state, "Ping__e", {"Note__c": "string"})
    topic = pb.TopicRequest(topic_name="/event/Ping__e")
    before = await stub.GetTopic(topic, metadata=metadata)
    assert before.can_publish
    streaming.define_platform_event(org.state, "Ping__e", {"Note__c": "string", "N__c": "int"})
    after = await stub.GetTopic(topic, metadata=metadata)
    assert after.schema_id != before.schema_id
    old = await stub.GetSchema(pb.SchemaRequest(schema_id=before.schema_id), metadata=metadata)
    assert "N__c" not in old.schema_json  # the old version stays served


async def test_flow_control_and_keepalive(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, pubsub_config: PubSubConfig
) -> None:
    pubsub_config.keepalive_s = 0.2
    _contacts(org, metadata, 5)
    call = stub.Subscribe(metadata=metadata)
    await call.write(
        pb.FetchRequest(
            topic_name="/data/ContactChangeEvent",
            replay_preset=pb.ReplayPreset.EARLIEST,
            num_requested=2,
        )
    )
    async with asyncio.timeout(30):
        delivered: list[pb.ConsumerEvent] = []
        pending = -1
        while len(delivered) < 2:
            response = await call.read()
            assert isinstance(response, pb.FetchResponse)
            delivered += response.events
            pending = response.pending_num_requested
        assert len(delivered) == 2 and pending == 0
        # three more are waiting, none requested: only an empty keepalive comes
        idle = await call.read()
        assert isinstance(idle, pb.FetchResponse)
        assert not idle.events and idle.latest_replay_id == delivered[-1].replay_id
        await call.write(pb.FetchRequest(num_requested=10))
        while len(delivered) < 5:
            response = await call.read()
            assert isinstance(response, pb.FetchResponse)
            delivered += response.events
            pending = response.pending_num_requested
        assert pending == 7
    ids = [e.replay_id for e in delivered]
    assert ids == sorted(ids) and len(set(ids)) == 5
    call.cancel()


async def test_bad_requests_get_their_codes_never_internal(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata
) -> None:
    custom_without_id = pb.FetchRequest(
        topic_name="/data/ContactChangeEvent",
        replay_preset=pb.ReplayPreset.CUSTOM,
        num_requested=1,
    )
    negative = pb.FetchRequest(topic_name="/data/ContactChangeEvent", num_requested=-1)
    for request, code in (
        (custom_without_id, "replayid.validation.failed"),
        (negative, "fetch.requested.events.invalid"),
    ):
        call = stub.Subscribe(metadata=metadata)
        await call.write(request)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert _trailer(caught.value, "error-code").endswith(code)

    streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})
    topic = await stub.GetTopic(
        pb.TopicRequest(topic_name="/event/Order_Event__e"), metadata=metadata
    )
    good = io.BytesIO()
    schema = json.loads(
        (
            await stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=metadata)
        ).schema_json
    )
    fastavro.schemaless_writer(
        good,
        fastavro.parse_schema(schema),
        {"CreatedDate": 0, "CreatedById": "", "Order_Number__c": "A-9"},
    )
    events = [
        pb.ProducerEvent(id="bad-bytes", schema_id=topic.schema_id, payload=b"\xff\xff\xff"),
        pb.ProducerEvent(id="bad-schema", schema_id="other", payload=good.getvalue()),
        pb.ProducerEvent(id="good", schema_id=topic.schema_id, payload=good.getvalue()),
    ]
    response = await stub.Publish(
        pb.PublishRequest(topic_name="/event/Order_Event__e", events=events), metadata=metadata
    )
    by_key = {r.correlation_key: r for r in response.results}
    assert by_key["bad-bytes"].error.code == pb.ErrorCode.PUBLISH
    assert by_key["bad-schema"].error.code == pb.ErrorCode.PUBLISH
    assert not by_key["good"].HasField("error") and len(by_key["good"].replay_id) == 8
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.Publish(
            pb.PublishRequest(topic_name="/data/ContactChangeEvent", events=events[2:]),
            metadata=metadata,
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_delay_switch_holds_every_answer(
    stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, pubsub_config: PubSubConfig
) -> None:
    pubsub_config.delay_s = 30.0  # far past the caller's deadline
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        request = pb.TopicRequest(topic_name="/data/ChangeEvents")
        await stub.GetTopic(request, metadata=metadata, timeout=0.2)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    pubsub_config.delay_s = 0.0
    answered = await stub.GetTopic(request, metadata=metadata, timeout=10)
    assert answered.can_subscribe


async def _first_event(
    stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, topic: str
) -> pb.ConsumerEvent:
    call = stub.Subscribe(metadata=metadata)
    request = pb.FetchRequest(
        topic_name=topic, replay_preset=pb.ReplayPreset.EARLIEST, num_requested=1
    )
    await call.write(request)
    async with asyncio.timeout(30):
        while True:
            response = await call.read()
            assert isinstance(response, pb.FetchResponse)
            if response.events:
                call.cancel()
                return response.events[0]


async def test_a_delivered_event_keeps_its_schema_after_a_new_field(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata
) -> None:
    streaming.define_platform_event(org.state, "Ping__e", {"Note__c": "string"})
    streaming.publish_raw(
        org.state,
        "/event/Ping__e",
        {"CreatedDate": "2024-05-01T12:00:00.000Z", "CreatedById": "005", "Note__c": "hi"},
    )
    before = await _first_event(stub, metadata, "/event/Ping__e")
    streaming.define_platform_event(org.state, "Ping__e", {"Note__c": "string", "N__c": "int"})
    again = await _first_event(stub, metadata, "/event/Ping__e")
    assert again.event.schema_id == before.event.schema_id
    assert again.event.payload == before.event.payload
    topic = await stub.GetTopic(pb.TopicRequest(topic_name="/event/Ping__e"), metadata=metadata)
    assert topic.schema_id != before.event.schema_id  # new events use the new version


async def _subscribed(stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, num_requested: int) -> Any:
    """A Subscribe call on the Contact change events from the earliest one."""
    call = stub.Subscribe(metadata=metadata)
    await call.write(
        pb.FetchRequest(
            topic_name="/data/ContactChangeEvent",
            replay_preset=pb.ReplayPreset.EARLIEST,
            num_requested=num_requested,
        )
    )
    return call


async def _events(call: Any, count: int) -> pb.FetchResponse:
    """Read until `count` events came; the last response (its pending count)."""
    got = 0
    response = pb.FetchResponse()
    while got < count:
        read = await call.read()
        assert isinstance(read, pb.FetchResponse)
        response = read
        got += len(response.events)
    return response


async def test_with_nothing_pending_a_stream_without_a_fetch_request_closes(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, pubsub_config: PubSubConfig
) -> None:
    """The guide's 60 s rule (shortened): every requested event delivered, no new
    FetchRequest since the last FetchResponse -> the stream ends. With events still pending,
    keepalives go on instead."""
    pubsub_config.fetch_wait_s = 0.3
    pubsub_config.keepalive_s = 0.1
    _contacts(org, metadata, 2)
    async with asyncio.timeout(30):
        waiting = await _subscribed(stub, metadata, 10)  # 2 to deliver
        drained = await _subscribed(stub, metadata, 2)
        assert (await _events(drained, 2)).pending_num_requested == 0
        while (response := await drained.read()) is not grpc.aio.EOF:
            assert isinstance(response, pb.FetchResponse) and not response.events
        assert await drained.code() == grpc.StatusCode.OK
        # the other stream, 8 still pending, outlives that wait several times over
        keepalives = 0
        while keepalives < 8:
            response = await waiting.read()
            assert isinstance(response, pb.FetchResponse)
            keepalives += not response.events
        assert response.pending_num_requested == 8
        waiting.cancel()


async def test_requested_events_count_at_most_100_across_requests(
    org: FakeOrg, stub: pb_grpc.PubSubAsyncStub, metadata: Metadata, pubsub_config: PubSubConfig
) -> None:
    pubsub_config.keepalive_s = 0.1
    _contacts(org, metadata, 2)
    async with asyncio.timeout(30):
        call = await _subscribed(stub, metadata, 100)
        assert (await _events(call, 2)).pending_num_requested == 98
        await call.write(pb.FetchRequest(num_requested=100))
        while True:  # the next keepalive after that request was counted
            response = await call.read()
            assert isinstance(response, pb.FetchResponse) and not response.events
            if response.pending_num_requested != 98:
                break
        assert response.pending_num_requested == 100  # not 198
    call.cancel()
