"""The listener's own gaps: a tip subscription re-handshaken before its first event.

Subscribed at -1 with no checkpoint, a listener whose client is dropped (`403::Unknown
client`) before any event has no replay id to resume after; re-subscribing at -1 lost what
was published in between. It now replays from -2 and drops what predates `run()`, so every
event published after the start arrives exactly once and none from before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from fake_org_grant import grant

from salesforce_typed import AsyncSalesforce, MemoryTokenStore
from salesforce_typed.streaming import AsyncListener, Backoff, ChangeDataEvent
from salesforce_typed.streaming.tip import CLOCK_SKEW_S, TipStart, event_time
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg

ACCOUNTS = "/data/AccountChangeEvent"
BOUND_S = 60.0  # turns a hang into a failure; nothing asserts on time


def _old_event(seconds_ago: float) -> dict[str, object]:
    header = {
        "entityName": "Account",
        "changeType": "CREATE",
        "recordIds": ["001F00000000000001"],
        "changedFields": [],
        "transactionKey": "old",
        "sequenceNumber": 1,
        "commitTimestamp": int((time.time() - seconds_ago) * 1000),
    }
    return {"ChangeEventHeader": header, "Name": "before run()"}


async def _until(predicate: Callable[[], bool], task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(BOUND_S):
        while not predicate():
            if task.done():
                task.result()
            await asyncio.sleep(0.01)


def _rest(org: FakeOrg) -> httpx.Client:
    """A blocking REST client: its writes cannot yield to the listener's loop."""
    c = org.credentials()
    form = {
        "grant_type": "password",
        "client_id": c["client_id"],
        "client_secret": c["client_secret"],
        "username": c["username"],
        "password": c["password"] + c["security_token"],
    }
    token = httpx.post(c["token_url"], data=form).json()["access_token"]
    return httpx.Client(base_url=org.instance_url, headers={"Authorization": f"Bearer {token}"})


def _create_account(rest: httpx.Client, name: str) -> str:
    response = rest.post("/services/data/v62.0/sobjects/Account", json={"Name": name})
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


async def test_rehandshake_before_the_first_event_loses_nothing(fake_org: FakeOrg) -> None:
    streaming.enable(fake_org.state)
    streaming.configure(fake_org.state, timeout_ms=300)
    # Retained from before run(): a tip listener must never see it, even replaying from -2.
    old = streaming.publish_raw(fake_org.state, ACCOUNTS, _old_event(3600))
    async with AsyncSalesforce(auth=grant(fake_org), token_store=MemoryTokenStore()) as sf:
        listener = AsyncListener.from_client(sf, backoff=Backoff(base=0.01, cap=0.05))
        created: list[tuple[int | None, list[str]]] = []

        def on_create(event: ChangeDataEvent) -> None:
            created.append((event.replay_id, list(event.record_ids)))

        listener.channel(ACCOUNTS, on_create=on_create)  # replay=-1: the tip
        task = asyncio.create_task(listener.run())
        await _until(lambda: listener.subscribed, task)
        session = listener.session
        assert session is not None and session.handshakes == 1

        with _rest(fake_org) as rest:
            # No await between these: the listener cannot re-subscribe in between, so both
            # events are published while it has no subscription at all.
            assert streaming.drop_all_clients(fake_org.state) == 1
            first = _create_account(rest, "in between 1")
            second = _create_account(rest, "in between 2")
            await _until(lambda: len(created) >= 2, task)
            assert session.handshakes == 2  # the drop forced exactly one re-handshake
            third = _create_account(rest, "after")
            await _until(lambda: len(created) >= 3, task)
        await listener.aclose()
        await task

    ids = [record_ids for _, record_ids in created]
    assert ids == [[first], [second], [third]]  # each exactly once, in order
    replay_ids = [replay_id for replay_id, _ in created]
    assert old not in replay_ids and len(set(replay_ids)) == 3
    assert listener.predating == 1  # the old event was replayed and dropped, not handled
    assert listener.duplicates == 0


def test_event_time_reads_every_kind_of_event() -> None:
    cdc = {"payload": {"ChangeEventHeader": {"commitTimestamp": 1_700_000_000_123}}}
    platform = {"payload": {"CreatedDate": "2023-11-14T22:13:20.000Z"}, "event": {}}
    topic = {"event": {"createdDate": "2023-11-14T22:13:20.000Z", "replayId": 5}}
    assert event_time(cdc) == 1_700_000_000.123
    assert event_time(platform) == 1_700_000_000.0
    assert event_time(topic) == 1_700_000_000.0
    assert event_time({"event": {"replayId": 5}, "payload": "text"}) is None
    assert event_time({"event": {"createdDate": "not a date"}}) is None


def test_tip_start_replays_from_earliest_only_after_the_first_subscribe() -> None:
    tip = TipStart()
    tip.start("/u/x", 1_700_000_000.0)
    assert tip.replay_for("/u/x", -1) == -1  # a fresh start never replays the retention
    assert tip.replay_for("/u/x", -1) == -2  # re-subscribed before any event
    assert tip.replay_for("/u/x", 42) == 42  # a known position always wins
    assert tip.replay_for("/u/other", -1) == -1  # not a tip start: untouched

    def at(seconds: float) -> dict[str, Any]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))
        return {"event": {"createdDate": stamp, "replayId": 1}, "payload": "p"}

    assert tip.predates("/u/x", at(1_700_000_000 - CLOCK_SKEW_S - 1))
    assert not tip.predates("/u/x", at(1_700_000_000 - CLOCK_SKEW_S + 1))  # within the skew
    assert not tip.predates("/u/other", at(0))  # not a tip channel: nothing is dropped
    undated = {"event": {"replayId": 2}, "payload": "p"}
    assert not tip.predates("/u/x", undated)  # no timestamp: delivered, never dropped silently
    tip.delivered("/u/x")
    assert not tip.predates("/u/x", at(0))  # once an event was handled, its replay id rules


def test_a_fallback_to_the_tip_subscribes_at_the_tip_first() -> None:
    tip = TipStart()
    tip.start("/u/x", 1_700_000_000.0)
    assert (tip.replay_for("/u/x", -1), tip.replay_for("/u/x", -1)) == (-1, -2)
    tip.fell_back("/u/x", 1_700_000_100.0)  # -2 refused, fallback TIP: no loop back to -2
    assert (tip.replay_for("/u/x", -1), tip.replay_for("/u/x", -1)) == (-1, -2)
    assert tip.since["/u/x"] == 1_700_000_000.0  # the earliest start still bounds the drop
    tip.fell_back("/u/y", 1_700_000_100.0)  # a checkpointed channel whose id expired
    assert (tip.replay_for("/u/y", -1), tip.replay_for("/u/y", -1)) == (-1, -2)
