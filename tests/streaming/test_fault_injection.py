"""Tens of thousands of events through forced drops (`403::Unknown client`), 503s, dropped
connections and expired tokens: every published event reaches a handler at least once.

SFT_FAULT_EVENTS sets the size (default 20,000). Events are published with the fake org's
own publish hook so the test measures the listener, not REST writes.
"""

from __future__ import annotations

import asyncio
import os

from salesforce_typed import AsyncSalesforce, MemoryTokenStore, RefreshTokenGrant
from salesforce_typed.streaming import EARLIEST, AsyncListener, Backoff, ChangeDataEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.server import FakeOrg

EVENTS = int(os.environ.get("SFT_FAULT_EVENTS", "20000"))
ACCOUNTS = "/data/AccountChangeEvent"


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


async def test_every_event_is_delivered_at_least_once_through_faults() -> None:
    config = OrgConfig(daily_api_limit=50_000_000)
    with FakeOrg(config=config) as org:
        streaming.configure(org.state, timeout_ms=300, max_events_per_reply=100)
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

        async with AsyncSalesforce(auth=grant, token_store=MemoryTokenStore()) as sf:
            listener = AsyncListener.from_client(
                sf, on_error=count, backoff=Backoff(base=0.01, cap=0.2)
            )
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
            org.state.faults.reseed(1234)
            org.state.faults.server_error_rate = 0.05
            org.state.faults.drop_rate = 0.05
            published: list[int] = []
            chunk = max(EVENTS // 40, 1)
            for start in range(0, EVENTS, chunk):
                for n in range(start, min(start + chunk, EVENTS)):
                    published.append(streaming.publish_raw(org.state, ACCOUNTS, _event(n)))
                step = start // chunk
                if step % 3 == 0:
                    streaming.drop_all_clients(org.state)  # next connect: 403::Unknown client
                if step % 4 == 1:
                    org.state.expire_sessions()  # next connect: 401, refresh
                await asyncio.sleep(0.05)  # let the listener interleave with the publisher
            async with asyncio.timeout(150):  # a bound on a hang; no time is asserted
                while not set(published) <= seen:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.05)
            org.state.faults.server_error_rate = org.state.faults.drop_rate = 0.0
            await listener.aclose()
            await task
        missing = set(published) - seen
        assert not missing
        session_stats = (handled[0], listener.duplicates, errors)
        print(f"events={len(published)} handled={handled[0]} duplicates={listener.duplicates}")
        print(f"errors reported: {errors}")
        assert handled[0] >= len(published), session_stats
        assert "InvalidGrantError" not in errors and "StreamingStoppedError" not in errors
