"""Managed subscriptions (ManagedSubscribe, beta) against the fake org: Tooling records,
commits kept by the org, resuming after the committed id, restarts, flow control, errors."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import grpc.aio
import pytest

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant, Salesforce
from salesforce_typed.pubsub import AsyncPubSub, PubSub, PubSubError
from salesforce_typed.pubsub._async.managed import ManagedStream
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming.events import PlatformEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import managed, service
from salesforce_typed.testing.pubsub.service import replay_bytes, replay_int
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_pubsub import pubsub_api_pb2 as pb
from salesforce_typed_pubsub import pubsub_api_pb2_grpc as pb_grpc

TOPIC = "/event/Order_Event__e"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _event_type(request: pytest.FixtureRequest) -> None:
    if "org" in request.fixturenames:  # the shared org of conftest; a restart test has its own
        org: FakeOrg = request.getfixturevalue("org")
        streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})


async def _publish(pubsub: AsyncPubSub, *numbers: str) -> list[bytes]:
    results = await pubsub.publish(TOPIC, [{"Order_Number__c": n} for n in numbers])
    assert all(r.error is None and r.replay_id for r in results), results
    return [r.replay_id for r in results if r.replay_id]


async def _take(stream: ManagedStream, count: int) -> list[str]:
    """The order numbers of the next `count` messages."""
    out: list[str] = []
    async with asyncio.timeout(10):
        async for message in stream:
            assert isinstance(message.event, PlatformEvent)
            out.append(str(message.event.payload["Order_Number__c"]))
            if len(out) == count:
                break
    return out


async def _cancel(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _settle(org: FakeOrg, sub_id: str, replay_id: bytes) -> None:
    """Wait until the org has stored `replay_id` as the subscription's commit."""
    wanted = replay_int(replay_id)
    for _ in range(200):
        found = managed.registry(org.state).find(sub_id)
        if found is not None and found.committed == wanted:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"commit {wanted} never stored")


async def test_tooling_record_round_trips(pubsub: AsyncPubSub, sf: AsyncSalesforce) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    record = await sf.request("GET", f"/tooling/sobjects/ManagedEventSubscription/{sub_id}")
    assert record["DeveloperName"] == "Orders_Sub"
    assert record["Metadata"]["topicName"] == TOPIC
    assert record["Metadata"]["state"] == "RUN"
    info = await pubsub.managed_subscription("Orders_Sub")
    assert (info.id, info.topic_name, info.default_replay) == (sub_id, TOPIC, "EARLIEST")
    assert (await pubsub.managed_subscription(sub_id)).developer_name == "Orders_Sub"


async def test_auto_commit_and_reconnect_resume_after_the_committed_id(
    org: FakeOrg, pubsub: AsyncPubSub
) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    replays = await _publish(pubsub, "A", "B", "C")
    stream = pubsub.managed_subscribe("Orders_Sub", num_requested=3)
    assert await _take(stream, 3) == ["A", "B", "C"]
    # the consumer asks for more: the batch it took is committed
    waiting = asyncio.ensure_future(anext(stream))
    await _settle(org, sub_id, replays[-1])
    await _cancel(waiting)
    await stream.aclose()

    await _publish(pubsub, "D", "E", "F")
    async with pubsub.managed_subscribe("Orders_Sub") as again:
        assert await _take(again, 1) == ["D"]  # a break mid-batch, then a clean exit:
    async with pubsub.managed_subscribe("Orders_Sub") as third:  # D was committed on the way out
        assert await _take(third, 2) == ["E", "F"]
    with pytest.raises(ValueError):  # leaving on an exception commits nothing
        async with pubsub.managed_subscribe("Orders_Sub") as failing:
            await _publish(pubsub, "G")
            assert await _take(failing, 1) == ["G"]
            raise ValueError("the handler failed")
    async with pubsub.managed_subscribe("Orders_Sub") as last:
        assert await _take(last, 1) == ["G"]


async def test_manual_commit_is_answered_and_sets_the_resume_point(
    org: FakeOrg, pubsub: AsyncPubSub
) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    replays = await _publish(pubsub, "A", "B", "C")
    async with pubsub.managed_subscribe("Orders_Sub", auto_commit=False) as stream:
        assert await _take(stream, 3) == ["A", "B", "C"]
        request_id = await stream.commit(replays[0])  # only A is done
        await _settle(org, sub_id, replays[0])
        waiting = asyncio.ensure_future(anext(stream))  # reads the commit answer
        for _ in range(200):
            if stream.last_commit is not None:
                break
            await asyncio.sleep(0.01)
        await _cancel(waiting)
        assert stream.last_commit is not None
        assert stream.last_commit.commit_request_id == request_id
        assert stream.last_commit.replay_id == replays[0]
    async with pubsub.managed_subscribe(sub_id, auto_commit=False) as again:
        assert await _take(again, 2) == ["B", "C"]  # at least once: after the commit


async def test_bad_commit_ends_the_iteration_with_a_commit_error(pubsub: AsyncPubSub) -> None:
    await pubsub.create_managed_subscription("Orders_Sub", TOPIC, default_replay="EARLIEST")
    await _publish(pubsub, "A")
    async with pubsub.managed_subscribe("Orders_Sub", auto_commit=False) as stream:
        assert await _take(stream, 1) == ["A"]
        await stream.commit(replay_bytes(10**9))  # never published
        with pytest.raises(PubSubError) as caught:
            async with asyncio.timeout(10):
                await anext(stream)
    assert caught.value.status == "COMMIT"


async def test_unknown_subscription_is_not_found(pubsub: AsyncPubSub) -> None:
    with pytest.raises(PubSubError) as caught:
        await anext(pubsub.managed_subscribe("Nope_Sub", topic=TOPIC))
    assert caught.value.status == "NOT_FOUND"
    assert caught.value.error_code == managed.NOT_FOUND
    with pytest.raises(PubSubError):  # the Tooling lookup finds no record either
        await anext(pubsub.managed_subscribe("Nope_Sub"))


async def test_stopped_and_already_active_subscriptions_are_refused(
    pubsub: AsyncPubSub, sf: AsyncSalesforce
) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    await _publish(pubsub, "A")
    async with pubsub.managed_subscribe("Orders_Sub") as first:
        assert await _take(first, 1) == ["A"]
        with pytest.raises(PubSubError) as caught:
            await anext(pubsub.managed_subscribe("Orders_Sub"))
        assert caught.value.status == "ALREADY_EXISTS"
        assert caught.value.error_code == managed.ALREADY_ACTIVE
    path = f"/tooling/sobjects/ManagedEventSubscription/{sub_id}"
    await sf.request("PATCH", path, json={"Metadata": {"state": "STOP"}})
    with pytest.raises(PubSubError) as stopped:
        await anext(pubsub.managed_subscribe("Orders_Sub"))
    assert stopped.value.status == "FAILED_PRECONDITION"


async def test_flow_control_and_bad_auth_on_the_raw_stub(org: FakeOrg, pubsub: AsyncPubSub) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    await _publish(pubsub, *"ABCDE")
    assert org.tls_files is not None
    creds = grpc.ssl_channel_credentials(org.tls_files.ca_file.read_bytes())
    session = org.state.new_session()
    good = (
        ("accesstoken", session.access_token),
        ("instanceurl", org.instance_url),
        ("tenantid", org.state.config.org_id),
    )
    async with grpc.aio.secure_channel(org.pubsub_url, creds) as channel:
        stub = pb_grpc.PubSubStub(channel)
        call = stub.ManagedSubscribe(metadata=good)
        await call.write(pb.ManagedFetchRequest(subscription_id=sub_id, num_requested=2))
        got, pending = 0, -1
        while got < 2:
            response = await asyncio.wait_for(call.read(), 5)
            assert isinstance(response, pb.ManagedFetchResponse)
            got, pending = got + len(response.events), response.pending_num_requested
        assert (got, pending) == (2, 0)
        with pytest.raises(TimeoutError):  # nothing more until more is requested
            await asyncio.wait_for(asyncio.shield(call.read()), 0.3)
        call.cancel()

        bad = (("accesstoken", "nope"), *good[1:])
        call = stub.ManagedSubscribe(metadata=bad)
        # the server may refuse before reading: a write racing its end fails, the read tells why
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            await call.write(pb.ManagedFetchRequest(developer_name="Orders_Sub", num_requested=1))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        trailers = dict(caught.value.trailing_metadata() or ())
        assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"


async def test_subscription_and_commit_survive_an_org_restart(
    tmp_path: Path, grant: Callable[[FakeOrg], RefreshTokenGrant]
) -> None:
    async def session(org: FakeOrg, body: Callable[[AsyncPubSub], Awaitable[T]]) -> T:
        streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})
        ca = org.credentials()["ca_file"]
        store = MemoryTokenStore()
        async with (
            AsyncSalesforce(auth=grant(org), verify=ca, token_store=store) as sf,
            AsyncPubSub.from_client(sf, target=org.pubsub_url) as pubsub,
        ):
            return await body(pubsub)

    async def before(pubsub: AsyncPubSub) -> list[str]:
        await pubsub.create_managed_subscription("Orders_Sub", TOPIC, default_replay="EARLIEST")
        replays = await _publish(pubsub, "A", "B")
        async with pubsub.managed_subscribe("Orders_Sub", auto_commit=False) as stream:
            taken = await _take(stream, 2)
            await stream.commit(replays[0])
            sub = managed.registry(first.state).find("Orders_Sub")
            assert sub is not None
            await _settle(first, sub.id, replays[0])
        await _publish(pubsub, "C")
        return taken

    async def after(pubsub: AsyncPubSub) -> list[str]:
        async with pubsub.managed_subscribe("Orders_Sub") as stream:
            return await _take(stream, 2)

    with FakeOrg(data_dir=tmp_path, tls=True, pubsub=True) as first:
        streaming.enable(first.state)
        taken = await session(first, before)
    with FakeOrg(data_dir=tmp_path, tls=True, pubsub=True) as second:
        assert await session(second, after) == ["B", "C"]
    assert taken == ["A", "B"]


def test_blocking_face_streams_publishes_and_commits(
    org: FakeOrg, grant: Callable[[FakeOrg], RefreshTokenGrant]
) -> None:
    ca = org.credentials()["ca_file"]
    with (
        Salesforce(auth=grant(org), verify=ca, token_store=MemoryTokenStore()) as sf,
        PubSub.from_client(sf, target=org.pubsub_url) as pubsub,
    ):
        sub_id = pubsub.create_managed_subscription("Orders_Sub", TOPIC, default_replay="EARLIEST")
        assert pubsub.managed_subscription("Orders_Sub").id == sub_id
        results = pubsub.publish_stream(
            TOPIC, [[{"Order_Number__c": "A"}], [{"Order_Number__c": "B"}]]
        )
        assert [r.error for r in results] == [None, None]
        with pubsub.managed_subscribe("Orders_Sub", auto_commit=False) as stream:
            message = next(stream)
            assert isinstance(message.event, PlatformEvent)
            assert message.event.payload["Order_Number__c"] == "A"
            assert stream.commit(message.replay_id)
        stored = managed.registry(org.state).find(sub_id)
        for _ in range(200):
            if stored is not None and stored.committed == replay_int(message.replay_id):
                break
            threading.Event().wait(0.01)
        assert stored is not None and stored.committed == replay_int(message.replay_id)
        with pubsub.managed_subscribe("Orders_Sub") as again:
            assert next(again).replay_id == results[1].replay_id


async def test_a_dropped_stream_fails_and_a_new_one_resumes_after_the_commit(
    org: FakeOrg, pubsub: AsyncPubSub
) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST"
    )
    replays = await _publish(pubsub, "A", "B")
    stream = pubsub.managed_subscribe("Orders_Sub", auto_commit=False)
    assert await _take(stream, 2) == ["A", "B"]
    await stream.commit(replays[0])
    await _settle(org, sub_id, replays[0])
    assert service(org.state).drop_streams() == 1  # the managed stream is one of the org's
    with pytest.raises(PubSubError) as caught:
        async with asyncio.timeout(10):
            await anext(stream)
    assert caught.value.status == "UNAVAILABLE"
    await stream.aclose()
    async with pubsub.managed_subscribe("Orders_Sub") as again:  # the slot was freed
        assert await _take(again, 1) == ["B"]


async def test_a_rejected_session_is_refreshed_once_and_the_stream_reopened(
    org: FakeOrg, pubsub: AsyncPubSub, sf: AsyncSalesforce
) -> None:
    await pubsub.create_managed_subscription("Orders_Sub", TOPIC, default_replay="EARLIEST")
    await _publish(pubsub, "A")
    assert org.state.expire_sessions() >= 1
    before = sf.sender.session_refreshes
    async with pubsub.managed_subscribe("Orders_Sub", topic=TOPIC) as stream:  # no REST first
        assert await _take(stream, 1) == ["A"]
    assert sf.sender.session_refreshes == before + 1


@pytest.mark.parametrize(("recovery", "expected"), [("LATEST", ["D"]), ("EARLIEST", ["C", "D"])])
async def test_a_commit_past_retention_resumes_at_error_recovery_replay(
    org: FakeOrg, pubsub: AsyncPubSub, recovery: str, expected: list[str]
) -> None:
    sub_id = await pubsub.create_managed_subscription(
        "Orders_Sub", TOPIC, default_replay="EARLIEST", error_recovery_replay=recovery
    )
    await _publish(pubsub, "A")
    async with pubsub.managed_subscribe("Orders_Sub") as stream:
        assert await _take(stream, 1) == ["A"]  # committed on the way out
    await _publish(pubsub, "B")
    # A and B leave retention: events after the committed A are gone, the commit is stale
    assert streaming.purge(org.state, TOPIC) == 2
    await _publish(pubsub, "C")
    stream = pubsub.managed_subscribe("Orders_Sub")
    taking = asyncio.ensure_future(_take(stream, len(expected)))
    book = managed.registry(org.state)
    while sub_id not in book.active:  # the stream has started (at the tip, for LATEST)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    await _publish(pubsub, "D")
    assert await taking == expected
    await stream.aclose()


@pytest.mark.parametrize("expire", [False, True], ids=["session-kept", "session-expired"])
async def test_a_consumer_slower_than_the_fetch_wait_gets_each_event_once(
    org: FakeOrg, pubsub: AsyncPubSub, expire: bool
) -> None:
    """Each batch held past the server's wait for a request: the stream ends, the commit
    sent as the consumer moved on is lost with it, and the reopened stream resumes at the
    org's older position. The messages handed out already are skipped, the lost commit is
    sent again, and every event reaches the consumer once, in order; with `expire` the
    session dies each time too, and each reopen refreshes it."""
    service(org.state).config.fetch_wait_s = 0.2
    await pubsub.create_managed_subscription("Orders_Sub", TOPIC, default_replay="EARLIEST")
    await _publish(pubsub, *"ABCDEF")
    got: list[str] = []
    expired = 0
    async with asyncio.timeout(30), pubsub.managed_subscribe("Orders_Sub", num_requested=2) as s:
        async for message in s:
            assert isinstance(message.event, PlatformEvent)
            got.append(str(message.event.payload["Order_Number__c"]))
            if len(got) == 6:
                break
            await asyncio.sleep(0.3)  # longer than the server waits for the next request
            if expire:
                expired += org.state.expire_sessions()
    assert got == list("ABCDEF")
    assert expired >= 2 if expire else expired == 0  # refreshed after more than one reopen
