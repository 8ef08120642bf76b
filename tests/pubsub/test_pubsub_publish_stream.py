"""PublishStream: many batches over one stream, one result per event, the guide's limits
(client-side batch size and request size, the org's per-event 1 MB and per-request 4 MB)."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import grpc.aio
import pytest

from salesforce_typed.core.errors import UsageError
from salesforce_typed.pubsub import AsyncPubSub
from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import limits, service
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

TOPIC = "/event/Order_Event__e"


@pytest.fixture(autouse=True)
def _event_type(org: FakeOrg) -> None:
    streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})


def _on_bus(org: FakeOrg) -> list[int]:
    return [r.replay_id for r in service(org.state).bus.read(TOPIC, 0, 10_000)]


async def test_many_batches_over_one_stream_give_one_result_per_event(
    org: FakeOrg, pubsub: AsyncPubSub
) -> None:
    batches = [[{"Order_Number__c": f"{b}-{n}"} for n in range(50)] for b in range(5)]
    results = await pubsub.publish_stream(TOPIC, batches)
    assert len(results) == 250
    assert all(r.error is None and r.replay_id for r in results)
    replays = [r.replay_id for r in results if r.replay_id]
    assert replays == sorted(replays) and len(set(replays)) == 250  # in order, each its own
    assert len(_on_bus(org)) == 250


async def test_batch_over_the_limit_is_refused_before_anything_is_sent(
    org: FakeOrg, pubsub: AsyncPubSub
) -> None:
    ok = [{"Order_Number__c": "1"}]
    too_many = [{"Order_Number__c": str(n)} for n in range(201)]
    with pytest.raises(UsageError, match="batch 1 has 201 events"):
        await pubsub.publish_stream(TOPIC, [ok, too_many])
    big = [{"Order_Number__c": "x" * 900_000} for _ in range(5)]  # 4.5 MB encoded
    with pytest.raises(UsageError, match="4 MB"):
        await pubsub.publish_stream(TOPIC, [ok, big])
    with pytest.raises(UsageError):
        await pubsub.publish_stream(TOPIC, [[]])
    assert _on_bus(org) == []  # the first, valid, batch was not sent either
    results = await pubsub.publish_stream(TOPIC, [too_many], max_batch=300)  # a caller's choice
    assert len(results) == 201 and all(r.replay_id for r in results)


async def test_an_event_over_1_mb_fails_alone(org: FakeOrg, pubsub: AsyncPubSub) -> None:
    batch = [
        {"Order_Number__c": "small"},
        {"Order_Number__c": "x" * (limits.MAX_EVENT_BYTES + 10)},
        {"Order_Number__c": "small too"},
    ]
    first, big, last = await pubsub.publish_stream(TOPIC, [batch])
    assert first.replay_id and last.replay_id
    assert big.replay_id is None and big.error is not None and "maximum" in big.error
    assert len(_on_bus(org)) == 2


@pytest.fixture
def metadata(org: FakeOrg) -> tuple[tuple[str, str], ...]:
    session = org.state.new_session()
    return (
        ("accesstoken", session.access_token),
        ("instanceurl", org.instance_url),
        ("tenantid", org.state.config.org_id),
    )


async def _raw_requests(
    org: FakeOrg, pubsub: AsyncPubSub, sizes: list[int], topics: list[str]
) -> list[pb.PublishRequest]:
    info = await pubsub.get_topic(TOPIC)
    events = await pubsub._producer_events(TOPIC, [{"Order_Number__c": "x"}], ())
    payload = events[0].payload
    return [
        pb.PublishRequest(
            topic_name=topic,
            events=[pb.ProducerEvent(id=f"e{n}", schema_id=info.schema_id, payload=payload)]
            + [
                pb.ProducerEvent(id=f"pad{n}-{k}", schema_id="x" * 1000, payload=b"p" * 1_000_000)
                for k in range(size)
            ],
        )
        for n, (size, topic) in enumerate(zip(sizes, topics, strict=True))
    ]


async def test_org_answers_an_oversize_request_unavailable_and_a_topic_change_invalid(
    org: FakeOrg, pubsub: AsyncPubSub, metadata: tuple[tuple[str, str], ...]
) -> None:
    assert org.tls_files is not None
    creds = grpc.ssl_channel_credentials(org.tls_files.ca_file.read_bytes())
    async with grpc.aio.secure_channel(org.pubsub_url, creds) as channel:
        stub = pb_grpc.PubSubStub(channel)
        (oversize,) = await _raw_requests(org, pubsub, [5], [TOPIC])
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Publish(oversize, metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # as the guide shows
        assert limits.REQUEST_TOO_LARGE in (caught.value.details() or "")

        ok, other = await _raw_requests(org, pubsub, [0, 0], [TOPIC, "/event/Other__e"])
        call = stub.PublishStream(metadata=metadata)
        await call.write(ok)
        first = await asyncio.wait_for(call.read(), 5)
        assert isinstance(first, pb.PublishResponse) and first.results[0].replay_id
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await call.write(other)
        with pytest.raises(grpc.aio.AioRpcError) as mismatch:
            await asyncio.wait_for(call.read(), 5)
        assert mismatch.value.code() == grpc.StatusCode.INVALID_ARGUMENT
