"""The listener against the fake org over real loopback sockets: CDC from REST writes, replay,
forced drops, gaps, platform events, expired sessions and the sync facade."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fake_org_grant import grant

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce, PasswordGrant, Salesforce
from salesforce_typed.core.change_events import ChangeType
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import (
    EARLIEST,
    TIP,
    AsyncListener,
    ChangeDataEvent,
    Listener,
    MemoryCheckpoints,
    PlatformEvent,
    PushTopicEvent,
    ReplayFallback,
    ReplayIdInvalidError,
    StreamEvent,
)
from salesforce_typed.testing import streaming
from salesforce_typed.testing.oauth import token_calls
from salesforce_typed.testing.org import records
from salesforce_typed.testing.server import FakeOrg

ACCOUNTS = "/data/AccountChangeEvent"


@pytest.fixture
def org(fake_org: FakeOrg) -> FakeOrg:
    streaming.enable(fake_org.state)
    # Short holds keep idle polls (and so stop/close at the end of each test) quick.
    streaming.configure(fake_org.state, timeout_ms=500)
    return fake_org


@pytest.fixture
async def sf(org: FakeOrg) -> AsyncIterator[AsyncSalesforce]:
    async with AsyncSalesforce(auth=grant(org), token_store=MemoryTokenStore()) as client:
        yield client


async def until(predicate: Callable[[], bool], task: asyncio.Task[Any] | None = None) -> None:
    """Wait for a condition; bounded only to turn a hang into a failure."""
    async with asyncio.timeout(60):
        while not predicate():
            if task is not None and task.done():
                task.result()  # surface the listener's error
                raise AssertionError("the listener ended early")
            await asyncio.sleep(0.01)


async def finish(listener: AsyncListener, task: asyncio.Task[Any]) -> None:
    await listener.aclose()
    await task


async def test_cdc_from_rest_writes_arrives_typed(org: FakeOrg, sf: AsyncSalesforce) -> None:
    listener = AsyncListener.from_client(sf)
    events: list[ChangeDataEvent] = []
    svc = listener.channel(ACCOUNTS, replay=TIP)
    for name in ("on_create", "on_update", "on_delete", "on_undelete"):
        svc.set_handler(name, events.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: listener.subscribed, task)

    made = await sf.create(std.Account(Name="Acme", Industry=std.AccountIndustryPicklist.BANKING))
    await sf.update(std.Account(Id=made.id, Rating=std.AccountRatingPicklist.HOT, Phone=None))
    await sf.delete(std.Account, made.id)
    records.undelete(org.state, "Account", made.id)
    await until(lambda: len(events) == 4, task)
    await finish(listener, task)

    kinds = [e.change_type for e in events]
    assert kinds == [ChangeType.CREATE, ChangeType.UPDATE, ChangeType.DELETE, ChangeType.UNDELETE]
    assert all(e.record_ids == [made.id] for e in events)
    created, updated = events[0], events[1]
    assert isinstance(created.record, std.AccountChangeEvent)
    assert created.record.Name == "Acme"
    assert created.record.Industry is std.AccountIndustryPicklist.BANKING
    assert updated.record.Rating is std.AccountRatingPicklist.HOT
    assert "Rating" in updated.header.changedFields
    assert updated.header.commitTimestamp > 0 and updated.header.transactionKey
    assert updated.header.changeOrigin.startswith("com/salesforce/api/rest/")
    ids = [e.replay_id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_replay_earliest_tip_and_from_an_id(org: FakeOrg, sf: AsyncSalesforce) -> None:
    first = await sf.create(std.Account(Name="before-1"))
    second = await sf.create(std.Account(Name="before-2"))

    async def collect(replay: int, expected: int) -> list[ChangeDataEvent]:
        listener = AsyncListener.from_client(sf)
        got: list[ChangeDataEvent] = []
        listener.channel(ACCOUNTS, replay=replay, on_create=got.append)
        task = asyncio.create_task(listener.run())
        await until(lambda: len(got) >= expected, task)
        await finish(listener, task)
        return got

    everything = await collect(EARLIEST, 2)
    assert [e.record_ids[0] for e in everything] == [first.id, second.id]
    after_first = await collect(everything[0].replay_id or 0, 1)
    assert [e.record_ids[0] for e in after_first] == [second.id]

    listener = AsyncListener.from_client(sf)
    new_only: list[ChangeDataEvent] = []
    listener.channel(ACCOUNTS, replay=TIP, on_create=new_only.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: listener.subscribed, task)
    third = await sf.create(std.Account(Name="after"))
    await until(lambda: len(new_only) == 1, task)
    await finish(listener, task)
    assert new_only[0].record_ids == [third.id]


async def test_purged_replay_id_falls_back_to_earliest_and_reports(
    org: FakeOrg, sf: AsyncSalesforce
) -> None:
    old = await sf.create(std.Account(Name="purged"))
    streaming.purge(org.state)
    kept = await sf.create(std.Account(Name="kept"))
    errors: list[Exception] = []
    checkpoints = MemoryCheckpoints({ACCOUNTS: 12})  # long gone
    listener = AsyncListener.from_client(
        sf, checkpoints=checkpoints, on_error=errors.append, replay_fallback=ReplayFallback.EARLIEST
    )
    got: list[ChangeDataEvent] = []
    listener.channel(ACCOUNTS, on_create=got.append)
    task = asyncio.create_task(listener.run())
    await until(lambda: len(got) == 1, task)
    await finish(listener, task)
    assert got[0].record_ids == [kept.id] and old.id not in got[0].record_ids
    assert len(errors) == 1 and isinstance(errors[0], ReplayIdInvalidError)
    assert errors[0].replay_id == 12 and errors[0].fallback == EARLIEST


async def test_resubscribes_from_the_checkpoint_after_a_forced_drop(
    org: FakeOrg, sf: AsyncSalesforce
) -> None:
    listener = AsyncListener.from_client(sf)
    got: list[str] = []
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=lambda e: got.extend(e.record_ids))
    task = asyncio.create_task(listener.run())
    made: list[str] = []
    for round_ in range(3):
        for i in range(5):
            made.append((await sf.create(std.Account(Name=f"r{round_}-{i}"))).id)
        await until(lambda: set(made) <= set(got), task)
        assert streaming.drop_all_clients(org.state) == 1  # "403::Unknown client" next
    for i in range(5):
        made.append((await sf.create(std.Account(Name=f"last-{i}"))).id)
    await until(lambda: set(made) <= set(got), task)
    session = listener.session
    assert session is not None and session.handshakes == 4
    await finish(listener, task)
    assert sorted(got) == sorted(made)  # nothing lost, nothing repeated to the handler
    assert token_calls(org.state) == {"refresh_token": 1}  # a drop is not an auth problem


async def test_gap_and_overflow_events(org: FakeOrg, sf: AsyncSalesforce) -> None:
    listener = AsyncListener.from_client(sf)
    gaps: list[ChangeDataEvent] = []
    overflows: list[ChangeDataEvent] = []
    listener.channel(ACCOUNTS, replay=EARLIEST, on_gap=gaps.append, on_overflow=overflows.append)
    streaming.inject_gap(org.state, "Account", "GAP_UPDATE", ["001000000000001AAA"])
    streaming.inject_gap(org.state, "Account", "GAP_OVERFLOW")
    task = asyncio.create_task(listener.run())
    await until(lambda: len(gaps) == 1 and len(overflows) == 1, task)
    await finish(listener, task)
    assert gaps[0].change_type is ChangeType.GAP_UPDATE and gaps[0].is_gap
    assert gaps[0].record_ids == ["001000000000001AAA"]
    assert overflows[0].change_type is ChangeType.GAP_OVERFLOW and overflows[0].record_ids == []


async def test_platform_events_and_all_change_events(org: FakeOrg, sf: AsyncSalesforce) -> None:
    streaming.define_platform_event(
        org.state, "Order_Placed__e", {"Order_Number__c": "string", "Total__c": "double"}
    )
    listener = AsyncListener.from_client(sf)
    placed: list[StreamEvent] = []
    everything: list[ChangeDataEvent] = []
    listener.channel("/event/Order_Placed__e", replay=EARLIEST, on_message=placed.append)
    listener.channel("/data/ChangeEvents", replay=EARLIEST, on_create=everything.append)
    task = asyncio.create_task(listener.run())
    await sf.request(
        "POST", "/sobjects/Order_Placed__e", json={"Order_Number__c": "A-1", "Total__c": 9.5}
    )
    contact = await sf.create(std.Contact(LastName="Doe"))
    await until(lambda: placed and everything, task)
    await finish(listener, task)
    event = placed[0]
    assert isinstance(event, PlatformEvent)
    assert event.payload["Order_Number__c"] == "A-1" and event.payload["Total__c"] == 9.5
    assert event.event_uuid
    assert isinstance(everything[0].record, std.ContactChangeEvent)
    assert everything[0].record_ids == [contact.id]


async def test_expired_sessions_refresh_once_and_the_stream_goes_on(
    org: FakeOrg, sf: AsyncSalesforce
) -> None:
    errors: list[Exception] = []
    listener = AsyncListener.from_client(sf, on_error=errors.append)
    got: list[str] = []
    listener.channel(ACCOUNTS, replay=EARLIEST, on_create=lambda e: got.extend(e.record_ids))
    task = asyncio.create_task(listener.run())
    first = await sf.create(std.Account(Name="one"))
    await until(lambda: first.id in got, task)
    assert token_calls(org.state) == {"refresh_token": 1}

    # Every access token dies: the held connect answers 401, the listener refreshes once.
    org.state.expire_sessions()
    header = {"entityName": "Account", "changeType": "CREATE", "recordIds": ["001X"]}
    streaming.publish_raw(org.state, ACCOUNTS, {"ChangeEventHeader": header})
    await until(lambda: "001X" in got, task)
    assert token_calls(org.state) == {"refresh_token": 2}

    # Again, but REST refreshes first: the listener adopts that token, no extra call.
    org.state.expire_sessions()
    second = await sf.create(std.Account(Name="two"))
    await until(lambda: second.id in got, task)
    await finish(listener, task)
    assert token_calls(org.state) == {"refresh_token": 3}
    assert errors == []
    assert got == [first.id, "001X", second.id]


def test_sync_facade_against_the_fake_org(org: FakeOrg) -> None:
    with Salesforce(auth=grant(org)) as client:
        got: list[str] = []
        with Listener.from_client(client) as listener:
            listener.channel(
                ACCOUNTS, replay=EARLIEST, on_create=lambda e: got.extend(e.record_ids)
            )
            listener.start()
            made = client.create(std.Account(Name="sync"))
            for _ in range(6000):
                if made.id in got:
                    break
                threading_wait(0.01)
        assert got == [made.id] and not listener.running


def threading_wait(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)


async def test_custom_channel_pushtopic_and_password_grant(org: FakeOrg) -> None:
    streaming.define_channel(org.state, "/data/Sales__chn", entities=["Account", "Contact"])
    streaming.define_channel(org.state, "/topic/HotAccounts", entities=["Account"], fields=["Name"])
    c = org.credentials()
    grant = PasswordGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        username=c["username"],
        password=c["password"],
        security_token=c["security_token"],
        token_url=c["token_url"],
    )
    listener = AsyncListener(auth=grant)
    custom: list[ChangeDataEvent] = []
    topic: list[StreamEvent] = []
    listener.channel("/data/Sales__chn", replay=EARLIEST, on_create=custom.append)
    listener.channel("/topic/HotAccounts", replay=EARLIEST, on_message=topic.append)
    async with AsyncSalesforce(auth=grant) as sf:
        account = await sf.create(std.Account(Name="Hot One"))
        contact = await sf.create(std.Contact(LastName="Doe"))
    task = asyncio.create_task(listener.run())
    await until(lambda: len(custom) == 2 and len(topic) == 1, task)
    await finish(listener, task)
    assert [e.record_ids for e in custom] == [[account.id], [contact.id]]
    assert isinstance(custom[1].record, std.ContactChangeEvent)
    pushed = topic[0]
    assert isinstance(pushed, PushTopicEvent) and pushed.event_type == "created"
    assert pushed.sobject["Name"] == "Hot One"
