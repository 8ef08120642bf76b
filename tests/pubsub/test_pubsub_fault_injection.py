"""Tens of thousands of events through the Pub/Sub listener (`api="pubsub"`) while the fake
org drops its streams (RST_STREAM), answers UNAVAILABLE, expires every session and answers
slowly: every published event reaches a handler, none twice, and the checkpoint at the end
is the last event's replay id.

SFT_FAULT_EVENTS sets the size (default 20,000, as for CometD). Events are published with
the fake org's own hook (`publish_raw`), so the test measures the listener, not REST writes.
Faults come between chunks of publishing, so most of them hit a stream with events in
flight. At-least-once allows an event to be delivered again after a reconnect (the stream
resumes after the last delivered replay id, and a batch in flight when the stream died may
come again); the listener's dedupe window removes those, so handlers see each event once:
the test counts both and asserts that bound.
"""

from __future__ import annotations

import asyncio
import os
import time

from salesforce_typed import AsyncSalesforce, MemoryTokenStore, RefreshTokenGrant
from salesforce_typed.streaming import (
    EARLIEST,
    AsyncListener,
    Backoff,
    ChangeDataEvent,
    MemoryCheckpoints,
)
from salesforce_typed.testing import streaming
from salesforce_typed.testing.oauth import token_calls
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.pubsub import service
from salesforce_typed.testing.pubsub.service import replay_bytes
from salesforce_typed.testing.server import FakeOrg

EVENTS = int(os.environ.get("SFT_FAULT_EVENTS", "20000"))
ACCOUNTS = "/data/AccountChangeEvent"
CHUNKS = 40


def _event(n: int) -> dict[str, object]:
    header = {
        "entityName": "Account",
        "changeType": "UPDATE",
        "recordIds": [f"001F{n:014d}"],
        "changedFields": ["Rating"],
        "transactionKey": f"t{n}",
        "sequenceNumber": 1,
    }
    return {"ChangeEventHeader": header, "Rating": "Hot"}


async def test_every_event_is_handled_once_through_pubsub_faults() -> None:
    started = time.monotonic()
    with FakeOrg(tls=True, pubsub=True, config=OrgConfig(daily_api_limit=50_000_000)) as org:
        streaming.enable(org.state)
        pubsub = service(org.state)
        creds = org.credentials()
        grant = RefreshTokenGrant(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"],
            token_url=creds["token_url"],
        )
        errors: dict[str, int] = {}

        def count(error: Exception) -> None:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

        faults = {"drops": 0, "unavailable": 0, "expired": 0, "slow": 0}
        checkpoints = MemoryCheckpoints()
        token_store = MemoryTokenStore()
        async with AsyncSalesforce(
            auth=grant, verify=creds["ca_file"], token_store=token_store
        ) as sf:
            listener = sf.listener(
                api="pubsub",
                pubsub_target=org.pubsub_url,
                checkpoints=checkpoints,
                on_error=count,
                backoff=Backoff(base=0.01, cap=0.1),
            )
            assert isinstance(listener, AsyncListener)
            seen: set[int] = set()
            handled = [0]

            def on_update(event: ChangeDataEvent) -> None:
                assert event.replay_id is not None
                seen.add(event.replay_id)
                handled[0] += 1

            listener.channel(ACCOUNTS, replay=EARLIEST, on_update=on_update)
            task = asyncio.create_task(listener.run())
            async with asyncio.timeout(60):
                while not listener.subscribed:
                    await asyncio.sleep(0.01)
            published: list[int] = []
            chunk = max(EVENTS // CHUNKS, 1)
            for start in range(0, EVENTS, chunk):
                for n in range(start, min(start + chunk, EVENTS)):
                    published.append(streaming.publish_raw(org.state, ACCOUNTS, _event(n)))
                await asyncio.sleep(0.02)  # let the listener take part of the chunk
                step = start // chunk
                if step % 3 == 0:
                    faults["drops"] += pubsub.drop_streams() > 0  # UNAVAILABLE: RST_STREAM
                if step % 4 == 1:  # the next Subscribe is refused UNAUTHENTICATED: refresh
                    org.state.expire_sessions()
                    pubsub.drop_streams()
                    faults["expired"] += 1
                if step % 5 == 2:  # a window of UNAVAILABLE (service.unavailable) answers
                    pubsub.config.unavailable = True
                    pubsub.drop_streams()
                    await asyncio.sleep(0.1)
                    pubsub.config.unavailable = False
                    faults["unavailable"] += 1
                if step % 7 == 3:  # slow answers: every RPC waits before it is answered
                    pubsub.config.delay_s = 0.05
                    pubsub.drop_streams()
                    await asyncio.sleep(0.1)
                    pubsub.config.delay_s = 0.0
                    faults["slow"] += 1
            async with asyncio.timeout(150):  # a bound on a hang; no time is asserted
                while not set(published) <= seen:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # a repeat still in flight would show up now
            await listener.aclose()
            await task
            refreshes = token_calls(org.state).get("refresh_token", 0)
        last = await checkpoints.aread("pubsub:" + ACCOUNTS)
        missing = set(published) - seen
        repeats = handled[0] - len(seen)
        print(
            f"events={len(published)} handled={handled[0]} handler repeats={repeats}"
            f" removed by dedupe={listener.duplicates} faults={faults}"
            f" errors reported={errors} token refreshes={refreshes} seconds={time.monotonic() - started:.1f}"
        )
        assert not missing
        assert seen == set(published)
        assert repeats == 0, "a repeat got past the dedupe window"
        assert last == replay_bytes(published[-1])
        assert faults["drops"] and faults["expired"] and faults["unavailable"] and faults["slow"]
        assert sum(errors.values()) >= faults["drops"] + faults["unavailable"]
        assert refreshes >= 2  # expired sessions were refreshed (one per expiry a stream met)
        assert "InvalidGrantError" not in errors and "StreamingStoppedError" not in errors
