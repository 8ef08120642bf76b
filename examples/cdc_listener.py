"""Change Data Capture, typed: listen to Account changes while making a few REST writes.

    python examples/cdc_listener.py

Starts a fresh local fake org over TLS (nothing to configure), subscribes to
`/data/AccountChangeEvent` with `sf.listener()`, creates, updates and deletes an Account
through the REST client, prints each change as the typed `AccountChangeEvent` it decodes
into, and exits 0 once all three arrived. The listener takes the client's token, pool and
TLS setting (here the fake org's CA), so nothing is configured twice. Against a real org,
build the grant from your connected app instead of `org.credentials()`; the listener code
is the same.
"""

from __future__ import annotations

import asyncio
import sys

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce, RefreshTokenGrant
from salesforce_typed.streaming import TIP, ChangeDataEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg


async def main() -> int:
    with FakeOrg(tls=True) as org:
        streaming.configure(org.state, timeout_ms=1000)  # short idle polls: a quick exit
        creds = org.credentials()
        grant = RefreshTokenGrant(
            client_id=creds["client_id"],
            client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"],
            token_url=creds["token_url"],
        )
        async with AsyncSalesforce(auth=grant, verify=creds["ca_file"]) as sf:
            # The listener shares the REST client's auth (one token, one refresh lock), its
            # pool and its TLS setting: no second `verify=`.
            listener = sf.listener(on_error=lambda e: print("error:", e))
            accounts = listener.channel("/data/AccountChangeEvent", replay=TIP)
            seen: list[ChangeDataEvent] = []

            @accounts.on_create
            @accounts.on_update
            @accounts.on_delete
            def show(event: ChangeDataEvent) -> None:
                record = event.record  # an AccountChangeEvent: typed fields, set ones only
                print(f"{event.change_type} {event.record_ids} replay={event.replay_id}")
                print(f"    {record!r}")
                seen.append(event)
                if len(seen) == 3:
                    listener.stop()

            task = asyncio.create_task(listener.run())
            while not listener.subscribed:  # subscribed from the tip: write after that
                await asyncio.sleep(0.01)
            made = await sf.create(std.Account(Name="Acme", AnnualRevenue=1_250_000.0))
            await sf.update(std.Account(Id=made.id, Rating=std.AccountRatingPicklist.HOT))
            await sf.delete(std.Account, made.id)
            await asyncio.wait_for(task, 60)
    kinds = [str(e.change_type) for e in seen]
    return 0 if kinds == ["CREATE", "UPDATE", "DELETE"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
