"""Section 6: Change Data Capture events arriving at a listener while REST writes happen.

`sf.listener()` is the blocking `Listener`: it runs the async one on a thread of its own and
shares the REST client's auth, token store, instance URL and TLS settings. It subscribes to
`/data/AccountChangeEvent` from the tip; once subscribed,
a few REST writes are made, and each event is printed as it arrives, decoded into the
generated package's typed `AccountChangeEvent`. Then the listener is stopped and joined.
Handlers run on the listener's thread, so they only queue events; this thread prints them.
"""

from __future__ import annotations

import queue
import time
from types import ModuleType
from typing import Any

from rich.console import Console

from salesforce_typed import Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.streaming import TIP, ChangeDataEvent, Listener

CHANNEL = "/data/AccountChangeEvent"
TIMEOUT_S = 20.0
# The fake org's describeGlobal lists no `<Entity>ChangeEvent`, so a package generated from
# it has no change event types; the shipped standard package has them all.
EVENTS_PACKAGE = "salesforce_typed_std"
AUDIT = ("CreatedById", "CreatedDate", "LastModifiedById", "LastModifiedDate", "OwnerId")


def cdc_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    arrived: queue.Queue[ChangeDataEvent] = queue.Queue()
    errors: list[BaseException] = []
    listener = sf.listener(on_error=errors.append, package=EVENTS_PACKAGE)
    listener.channel(
        CHANNEL,
        replay=TIP,
        on_create=arrived.put,
        on_update=arrived.put,
        on_delete=arrived.put,
        on_undelete=arrived.put,
    )
    started = time.perf_counter()
    listener.start()
    try:
        _wait_subscribed(listener)
        say(console, f"listener subscribed to {CHANNEL} in {time.perf_counter() - started:.2f}s")
        writes = _write(console, sf, m)
        events = _receive(console, arrived, writes)
    finally:
        listener.stop()
    check(not listener.running, "the listener thread did not stop")
    kinds = sorted({str(e.change_type) for e in events})
    say(
        console,
        f"CDC: received {len(events)} events ({', '.join(kinds)}) for {writes} REST writes; "
        f"listener stopped cleanly, errors reported: {len(errors)}",
    )
    check(not errors and listener.error is None, f"listener errors: {errors or listener.error}")


def _wait_subscribed(listener: Listener) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not listener.listener.subscribed:  # from the tip: write only after this
        check(time.monotonic() < deadline, f"no subscription to {CHANNEL}")
        check(listener.error is None, f"listener failed: {listener.error!r}")
        time.sleep(0.01)


def _write(console: Console, sf: Any, m: ModuleType) -> int:
    """Four REST writes touching five records: create, update, a collection, delete."""
    made = sf.create(m.Account(Name="Initech", Industry="Technology"))
    sf.update(m.Account(Id=made.id, Rating="Hot", Website="https://initech.example"))
    pair = sf.create_many([m.Account(Name="Hooli"), m.Account(Name="Pied Piper")])
    sf.delete(m.Account, made.id)
    say(console, f"REST: created {made.id}, updated it, created 2 more in one call, deleted it")
    return 1 + 1 + len(pair) + 1


def _receive(console: Console, arrived: queue.Queue[ChangeDataEvent], writes: int) -> list[Any]:
    """Print events until every write is seen (an event may carry several record ids)."""
    events: list[ChangeDataEvent] = []
    seen = 0
    deadline = time.monotonic() + TIMEOUT_S
    while seen < writes:
        left = deadline - time.monotonic()
        check(left > 0, f"only {seen} of {writes} record changes arrived")
        try:
            event = arrived.get(timeout=left)
        except queue.Empty:
            continue
        events.append(event)
        seen += len(event.record_ids)
        values = {k: str(v) for k, v in event.changed_values().items() if k not in AUDIT}
        say(
            console,
            f"event {event.replay_id}: {event.change_type!s:<6} {event.record_ids} as "
            f"{type(event.record).__module__.split('.')[0]}.{type(event.record).__name__}, "
            f"changedFields {event.header.changedFields}, values {values}",
        )
    return events
