"""Change Data Capture over the gRPC Pub/Sub API, typed, and a second run resuming after the
bytes checkpoint the first one wrote.

    python examples/pubsub_listener.py

The listener is the CDC one (`sf.listener()`), switched to Pub/Sub by one argument:
`api="pubsub"` (and `pubsub_target=`, the endpoint). It takes the client's token, pool and
TLS setting. Run 1 subscribes from the tip, then an Account is created, updated and deleted
through REST; each change arrives as a typed `AccountChangeEvent`. Pub/Sub replay ids are
opaque bytes: the listener writes them to its checkpoint store (here `MemoryCheckpoints`,
under `pubsub:/data/AccountChangeEvent`) after the handler returned. While no listener runs,
a second Account is created and deleted; run 2, given the same checkpoint store, resumes
right after run 1's last event: it gets those two changes and none of run 1's again.

By default a local fake org serves REST and Pub/Sub over TLS with its CA. Against a real
org (`SF_INSTANCE_URL` and friends, see examples/README.md) the code is the same; the org
needs Account selected under Setup > Change Data Capture, and the user "View All Records"
on Account (or "View All Data") to receive its change events. The endpoint is
`api.pubsub.salesforce.com:7443` unless `SF_PUBSUB_URL` names another. A checkpoint that
must outlive the process goes to a store (Redis, PostgreSQL, a file) instead of memory.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable

from _connect import Target, step, target

import salesforce_typed_std as std
from salesforce_typed import AsyncSalesforce
from salesforce_typed.streaming import TIP, ChangeDataEvent, MemoryCheckpoints
from salesforce_typed.testing import streaming

CHANNEL = "/data/AccountChangeEvent"
KEY = "pubsub:" + CHANNEL  # where the listener keeps a Pub/Sub checkpoint of CHANNEL
TIMEOUT_S = 30
TAG = f"sft-{uuid.uuid4().hex[:6]}"  # marks the records made here


def _ours(event: ChangeDataEvent, ours: set[str]) -> bool:
    """A change of a record this script made. A CREATE may arrive before `create()` has
    returned the Id, so it is known by the tag in its Name."""
    name = getattr(event.record, "Name", None)
    if str(event.change_type) == "CREATE" and isinstance(name, str) and name.endswith(TAG):
        ours.update(event.record_ids)
    return bool(ours.intersection(event.record_ids))


def _hex(position: object) -> str:
    return position.hex() if isinstance(position, bytes) else repr(position)


async def listen(
    sf: AsyncSalesforce,
    org: Target,
    checkpoints: MemoryCheckpoints,
    ours: set[str],
    writes: Callable[[], Awaitable[None]] | None,
) -> list[ChangeDataEvent]:
    """One run of the listener: handle changes of `ours` until a DELETE, then stop;
    `writes` (if any) runs once the stream is up."""
    listener = sf.listener(
        api="pubsub",
        pubsub_target=org.pubsub_target,
        checkpoints=checkpoints,
        on_error=lambda e: print("error:", e),
    )
    accounts = listener.channel(CHANNEL, replay=TIP)  # a stored checkpoint wins over TIP
    seen: list[ChangeDataEvent] = []

    @accounts.on_create
    @accounts.on_update
    @accounts.on_delete
    def show(event: ChangeDataEvent) -> None:
        if not _ours(event, ours):
            return  # someone else's change (a real org)
        record = event.record  # an AccountChangeEvent: typed fields, the set ones only
        print(f"{event.change_type} {event.record_ids} -> {type(record).__name__}")
        print(f"    {record!r}")
        stored = _hex(checkpoints.positions.get(KEY))
        print(f"    stored checkpoint while the handler runs: {stored}")
        seen.append(event)
        if str(event.change_type) == "DELETE":
            listener.stop()  # ends after this event, its checkpoint written

    task = asyncio.create_task(listener.run())
    async with asyncio.timeout(TIMEOUT_S):
        if writes is not None:
            while not listener.subscribed:  # from the tip: write once the stream is up
                if task.done():
                    break
                await asyncio.sleep(0.01)
            await writes()
        await task
    print(f"checkpoint after the handler: {KEY} = {_hex(checkpoints.positions.get(KEY))}")
    return seen


async def main() -> int:
    with target() as org:
        if org.fake is not None:
            streaming.enable(org.fake.state)  # the fake org captures changes from now on
        async with org.async_client() as sf:
            checkpoints = MemoryCheckpoints()
            ours: set[str] = set()
            leftovers: list[str] = []

            async def first_writes() -> None:
                made = await sf.create(std.Account(Name=f"Acme over Pub/Sub {TAG}"))
                ours.add(made.id)
                leftovers.append(made.id)
                await sf.update(std.Account(Id=made.id, Rating=std.AccountRatingPicklist.HOT))
                await sf.delete(std.Account, made.id)
                leftovers.remove(made.id)

            try:
                step(f'run 1: sf.listener(api="pubsub") at {_where(org)}, from the tip')
                first = await listen(sf, org, checkpoints, ours, first_writes)

                step("while no listener runs: create and delete another Account")
                away = await sf.create(std.Account(Name=f"Made while away {TAG}"))
                ours.add(away.id)
                leftovers.append(away.id)
                await sf.delete(std.Account, away.id)
                leftovers.remove(away.id)

                stored = _hex(checkpoints.positions.get(KEY))
                step(f"run 2: a new listener on the same checkpoints resumes after {stored}")
                second = await listen(sf, org, checkpoints, ours, None)
            finally:
                for record_id in leftovers:  # a step failed halfway: leave nothing behind
                    await sf.delete(std.Account, record_id)

    kinds = [str(e.change_type) for e in first]
    again = {e.replay_id for e in first} & {e.replay_id for e in second}
    resumed = [i for e in second for i in e.record_ids] == [away.id, away.id]
    print(f"run 1 got {kinds}; run 2 got {len(second)} events, {len(again)} of them repeated")
    ok = kinds == ["CREATE", "UPDATE", "DELETE"] and resumed and not again
    print("pubsub_listener: done" if ok else "pubsub_listener: unexpected events")
    return 0 if ok else 1


def _where(org: Target) -> str:
    return "the fake org's gRPC endpoint" if org.fake is not None else org.pubsub_target


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
