"""Our Pub/Sub client against the fake org over TLS: typed CDC events from REST writes, replay,
auth refresh, the documented errors, and platform events shared with CometD."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from salesforce_typed import AsyncSalesforce
from salesforce_typed.pubsub import (
    EARLIEST,
    LATEST,
    AsyncPubSub,
    PubSubError,
    PubSubMessage,
    Replay,
)
from salesforce_typed.streaming import EARLIEST as COMETD_EARLIEST
from salesforce_typed.streaming import ChangeDataEvent, PlatformEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import PubSubConfig
from salesforce_typed.testing.pubsub import service as pubsub_service
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_std import (
    Account,
    AccountChangeEvent,
    Contact,
    ContactChangeEvent,
    Event,
    EventChangeEvent,
    Opportunity,
    OpportunityChangeEvent,
)

TOPIC = "/data/ContactChangeEvent"


async def _take(
    pubsub: AsyncPubSub, count: int, *, replay: Replay, topic: str = TOPIC, num_requested: int = 100
) -> list[PubSubMessage]:
    got: list[PubSubMessage] = []
    stream = pubsub.subscribe(topic, replay=replay, num_requested=num_requested)
    async with asyncio.timeout(30):
        async for message in stream:
            got.append(message)
            if len(got) == count:
                break
    await stream.aclose()  # type: ignore[attr-defined]
    return got


async def _create_and_rename(sf: AsyncSalesforce) -> str:
    saved = await sf.create(Contact(FirstName="Ada", LastName="Byron", Phone="555-0100"))
    await sf.update(Contact(Id=saved.id, LastName="Lovelace", Phone=None))
    return saved.id


async def test_rest_write_arrives_typed_with_compound_changed_fields(
    sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    record_id = await _create_and_rename(sf)
    created, updated = await _take(pubsub, 2, replay=EARLIEST)

    assert isinstance(created.event, ChangeDataEvent)
    assert str(created.event.change_type) == "CREATE"
    assert isinstance(created.event.record, ContactChangeEvent)
    assert created.event.record.Name is not None
    assert created.event.record.Name.FirstName == "Ada"  # type: ignore[union-attr]
    assert created.event.header.changedFields == []

    event = updated.event
    assert isinstance(event, ChangeDataEvent)
    assert isinstance(event.record, ContactChangeEvent)
    assert event.record_ids == [record_id]
    assert str(event.change_type) == "UPDATE"
    # the compound child by its CDC name, decoded from the "<i>-0x.." bitmap
    assert sorted(event.header.changedFields) == ["LastModifiedDate", "Name.LastName", "Phone"]
    assert event.header.nulledFields == ["Phone"]  # Pub/Sub carries it, CometD does not
    assert event.record.Name.LastName == "Lovelace"  # type: ignore[union-attr]
    assert event.record.Phone is None
    assert "FirstName" not in event.record.to_dict().get("Name", {})  # unchanged: left out
    assert len(updated.replay_id) == 8 and updated.replay_id > created.replay_id
    assert updated.schema_id == created.schema_id
    assert (await pubsub.get_schema(updated.schema_id))["name"] == "ContactChangeEvent"


async def test_custom_replay_resumes_after_the_given_event(
    sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    await _create_and_rename(sf)
    first, second = await _take(pubsub, 2, replay=EARLIEST)
    (resumed,) = await _take(pubsub, 1, replay=first.replay_id)
    assert resumed.replay_id == second.replay_id
    assert isinstance(resumed.event, ChangeDataEvent)
    assert str(resumed.event.change_type) == "UPDATE"


async def test_schema_is_fetched_once_per_schema_id(
    sf: AsyncSalesforce, pubsub: AsyncPubSub, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _create_and_rename(sf)
    calls: list[str] = []
    fetch = pubsub._stub.GetSchema

    def counting(request: object, **kw: object) -> object:
        calls.append(str(getattr(request, "schema_id", "")))
        return fetch(request, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pubsub._stub, "GetSchema", counting)
    await _take(pubsub, 2, replay=EARLIEST)
    await _take(pubsub, 2, replay=EARLIEST)
    assert len(calls) == 1


async def test_rejected_session_is_refreshed_once_and_the_call_retried(
    org: FakeOrg, pubsub: AsyncPubSub, sf: AsyncSalesforce
) -> None:
    await pubsub.get_topic(TOPIC)  # a session, and the org id, in hand
    assert org.state.expire_sessions() >= 1
    before = sf.sender.session_refreshes
    info = await pubsub.get_topic(TOPIC)
    assert info.schema_id and info.can_subscribe and not info.can_publish
    assert sf.sender.session_refreshes == before + 1


async def test_bad_topic_is_not_found_with_the_error_code(pubsub: AsyncPubSub) -> None:
    with pytest.raises(PubSubError) as caught:
        await pubsub.get_topic("/data/NoSuchThingChangeEvent")
    assert caught.value.status == "NOT_FOUND"
    assert caught.value.error_code == "sfdc.platform.eventbus.grpc.topic.notfound"
    assert caught.value.rpc_id
    with pytest.raises(PubSubError) as again:
        await _take(pubsub, 1, replay=EARLIEST, topic="/event/Nope__e")
    assert again.value.status == "NOT_FOUND"
    assert again.value.error_code == "sfdc.platform.eventbus.grpc.topic.notfound"


async def test_replay_id_outside_the_retention_window_is_corrupted(
    org: FakeOrg, sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    await _create_and_rename(sf)
    (first,) = await _take(pubsub, 1, replay=EARLIEST)
    streaming.purge(org.state)  # retention passes: the stored id now points before the log
    with pytest.raises(PubSubError) as caught:
        await _take(pubsub, 1, replay=first.replay_id)
    assert caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.error_code == (
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
    )
    with pytest.raises(PubSubError) as garbage:
        await _take(pubsub, 1, replay=b"\x01\x02\x03")
    assert garbage.value.error_code.endswith("replayid.corrupted")


async def test_published_platform_event_reaches_cometd_and_pubsub(
    org: FakeOrg, sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    streaming.define_platform_event(
        org.state, "Order_Event__e", {"Order_Number__c": "string", "Amount__c": "double"}
    )
    topic = "/event/Order_Event__e"
    info = await pubsub.get_topic(topic)
    assert info.can_publish
    (result,) = await pubsub.publish(
        topic, [{"Order_Number__c": "A-1", "Amount__c": 12.5}], ids=["corr-1"]
    )
    assert result.error is None and result.correlation_key == "corr-1"
    assert result.replay_id is not None

    # Pub/Sub subscriber: typed as the CometD listener types a platform event
    stream = pubsub.subscribe(topic, replay=EARLIEST)
    async with asyncio.timeout(30):
        message = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert isinstance(message.event, PlatformEvent)
    assert message.event.payload["Order_Number__c"] == "A-1"
    assert message.event.payload["Amount__c"] == 12.5
    assert message.replay_id == result.replay_id

    # CometD subscriber on the same bus: the same event, the same replay id
    received: list[PlatformEvent] = []
    async with sf.listener() as listener:
        channel = listener.channel(topic, replay=COMETD_EARLIEST)

        @channel.on_message
        async def got(event: PlatformEvent) -> None:
            received.append(event)
            listener.stop()

        async with asyncio.timeout(30):
            await listener.run()
    assert received[0].payload["Order_Number__c"] == "A-1"
    assert received[0].replay_id == int.from_bytes(result.replay_id, "big")


async def test_rest_published_platform_event_and_all_change_events_reach_pubsub(
    org: FakeOrg, sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})
    await sf.request("POST", "/sobjects/Order_Event__e/", json={"Order_Number__c": "R-7"})
    (published,) = await _take(pubsub, 1, replay=EARLIEST, topic="/event/Order_Event__e")
    assert isinstance(published.event, PlatformEvent)
    assert published.event.payload["Order_Number__c"] == "R-7"
    assert published.event.event_uuid  # ProducerEvent.id, as CometD's data.event.EventUuid

    record_id = await _create_and_rename(sf)
    await sf.create(Account(Name="Acme"))
    events = await _take(pubsub, 3, replay=EARLIEST, topic="/data/ChangeEvents")
    entities = [m.event.entity_name for m in events if isinstance(m.event, ChangeDataEvent)]
    assert entities == ["Contact", "Contact", "Account"]
    assert events[0].schema_id != events[2].schema_id  # one topic, one schema per entity
    assert isinstance(events[2].event, ChangeDataEvent)
    assert isinstance(events[2].event.record, AccountChangeEvent)
    assert events[1].event.record_ids == [record_id]  # type: ignore[attr-defined]


async def test_a_silent_stream_is_reported_not_waited_on_forever(pubsub: AsyncPubSub) -> None:
    # the fake org's keepalive is Salesforce's 270 s: nothing arrives within the idle timeout
    stream = pubsub.subscribe(TOPIC, replay=LATEST, idle_timeout_s=0.3)
    with pytest.raises(PubSubError) as caught:
        async with asyncio.timeout(30):
            await anext(stream)
    assert caught.value.status == "DEADLINE_EXCEEDED"


async def test_keepalives_keep_a_quiet_stream_alive(
    pubsub: AsyncPubSub, sf: AsyncSalesforce, pubsub_config: PubSubConfig
) -> None:
    pubsub_config.keepalive_s = 0.05  # empty FetchResponses far more often than the timeout
    stream = pubsub.subscribe(TOPIC, replay=LATEST, idle_timeout_s=0.6)
    waiting = asyncio.ensure_future(anext(stream))
    done, _ = await asyncio.wait({waiting}, timeout=1.8)
    assert not done  # still subscribed after three idle timeouts' worth of keepalives
    record_id = await _create_and_rename(sf)
    async with asyncio.timeout(30):
        message = await waiting
    assert message.event.record_ids == [record_id]  # type: ignore[attr-defined]
    await stream.aclose()  # type: ignore[attr-defined]


async def test_field_types_round_trip_through_avro_into_the_typed_models(
    sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    await sf.create(
        Account(
            Name="Typed",
            BillingCity="Paris",
            BillingLatitude=48.85,
            AnnualRevenue=1.5e6,
            NumberOfEmployees=42,
        )
    )
    close = dt.date(2031, 5, 14)
    await sf.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=close, Amount=9.5))
    starts = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    await sf.create(Event(Subject="Call", ActivityDateTime=starts, DurationInMinutes=30))
    events = await _take(pubsub, 3, replay=EARLIEST, topic="/data/ChangeEvents")
    account, deal, call = (m.event.record for m in events)  # type: ignore[attr-defined]
    assert isinstance(account, AccountChangeEvent)
    assert account.BillingAddress.city == "Paris"  # type: ignore[union-attr]
    assert account.BillingAddress.latitude == 48.85  # type: ignore[union-attr]
    assert (account.AnnualRevenue, account.NumberOfEmployees) == (1.5e6, 42)
    assert isinstance(deal, OpportunityChangeEvent)
    assert (deal.CloseDate, deal.Amount) == (close, 9.5)
    assert isinstance(call, EventChangeEvent)
    assert call.ActivityDateTime == starts and call.DurationInMinutes == 30
    assert call.IsAllDayEvent is False


async def test_a_long_text_sent_as_a_diff_is_kept_as_the_diff(
    sf: AsyncSalesforce, pubsub: AsyncPubSub
) -> None:
    lines = [f"line {n} of a long description" for n in range(60)]
    saved = await sf.create(Account(Name="Diffed", Description="\n".join(lines)))
    lines[30] = "line 30, edited"
    await sf.update(Account(Id=saved.id, Description="\n".join(lines)))
    _, updated = await _take(pubsub, 2, replay=EARLIEST, topic="/data/AccountChangeEvent")
    event = updated.event
    assert isinstance(event, ChangeDataEvent)
    assert event.header.diffFields == ["Description"]  # from the diffFields bitmap
    assert "Description" in event.header.changedFields
    assert event.diffs["Description"].startswith("--- \n+++ ")
    assert "+line 30, edited" in event.diffs["Description"]
    assert "Description" not in event.record.to_dict()  # the typed field is not the diff


async def test_fault_switches_unavailable_and_a_dropped_stream(
    org: FakeOrg, sf: AsyncSalesforce, pubsub: AsyncPubSub, pubsub_config: PubSubConfig
) -> None:
    pubsub_config.unavailable = True
    with pytest.raises(PubSubError) as caught:
        await pubsub.get_topic(TOPIC)
    assert caught.value.status == "UNAVAILABLE"
    assert caught.value.error_code == "sfdc.platform.eventbus.grpc.service.unavailable"
    pubsub_config.unavailable = False

    await sf.create(Contact(LastName="Dropped"))
    # more requested than there are events: no FetchRequest is in flight when the stream
    # drops (one racing the reset may end as INTERNAL "from Core", as gRPC reports it)
    stream = pubsub.subscribe(TOPIC, replay=EARLIEST, num_requested=5)
    async with asyncio.timeout(30):
        await anext(stream)  # subscribed, the one event in hand
        assert pubsub_service(org.state).drop_streams() == 1
        with pytest.raises(PubSubError) as dropped:
            await anext(stream)
    assert dropped.value.status == "UNAVAILABLE", dropped.value.message
    assert dropped.value.error_code == ""
    assert "RST_STREAM" in dropped.value.message


@pytest.mark.parametrize("expire", [False, True], ids=["session-kept", "session-expired"])
async def test_a_consumer_slower_than_the_fetch_wait_gets_every_event_once(
    org: FakeOrg,
    pubsub: AsyncPubSub,
    sf: AsyncSalesforce,
    pubsub_config: PubSubConfig,
    expire: bool,
) -> None:
    """The strictest window (the next FetchRequest only once a batch was taken) and a
    consumer that holds each batch past the server's wait: the server ends the stream, the
    client subscribes again after the last event it handed over. With `expire` the session
    dies each time too: each reopen refreshes it (a unary call first, so the refusal is not
    lost in gRPC's INTERNAL race)."""
    pubsub_config.fetch_wait_s = 0.2
    made = [(await sf.create(Contact(LastName=f"Slow {n}"))).id for n in range(6)]
    stream = pubsub.subscribe_batches(TOPIC, replay=EARLIEST, num_requested=2, max_outstanding=2)
    got: list[str] = []
    expired = 0
    async with asyncio.timeout(30):
        async for batch in stream:
            got += [m.event.record_ids[0] for m in batch]  # type: ignore[attr-defined]
            if len(got) >= len(made):
                break
            await asyncio.sleep(0.5)  # longer than the server waits for the next request
            if expire:
                expired += org.state.expire_sessions()
    await stream.aclose()
    assert got == made
    assert expired >= 2 if expire else expired == 0
