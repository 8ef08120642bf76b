"""Pub/Sub API: a CDC event arriving over gRPC, typed, and a platform event published and
received.

The fake org serves the Pub/Sub API beside REST over TLS with its CA; `AsyncPubSub` rides on
a REST client built on the same auth flow as the demo's `sf`. A REST update of a Contact comes
back as an Avro-encoded change event whose `changedFields` bitmap decodes to
`Name.LastName`, typed as the generated `ContactChangeEvent`; a platform event published over
Pub/Sub is received on the same topic with its replay id.
"""

from __future__ import annotations

import asyncio
import threading
from types import ModuleType
from typing import TYPE_CHECKING

from rich.console import Console

from salesforce_typed import AsyncSalesforce, Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.pubsub import EARLIEST, AsyncPubSub
from salesforce_typed.streaming import EARLIEST as ALL_RETAINED
from salesforce_typed.streaming import ChangeDataEvent, MemoryCheckpoints, PlatformEvent
from salesforce_typed_std import Contact, ContactChangeEvent

if TYPE_CHECKING:
    from salesforce_typed.testing.server import FakeOrg

EVENT = "Demo_Order__e"
TIMEOUT_S = 20.0


def pubsub_tour(console: Console, sf: Salesforce, m: ModuleType, org: FakeOrg) -> None:
    from salesforce_typed.testing import streaming

    streaming.enable(org.state)  # change events from the writes below on (idempotent)
    streaming.define_platform_event(org.state, EVENT, {"Order_Number__c": "string"})
    saved = sf.create(Contact(FirstName="Ada", LastName="Byron"))
    sf.update(Contact(Id=saved.id, LastName="Lovelace"))
    asyncio.run(_tour(console, sf, org.pubsub_url, saved.id))
    _listener(console, sf, org.pubsub_url, saved.id)


def _listener(console: Console, sf: Salesforce, target: str, record_id: str) -> None:
    """The CDC listener's own handler API over Pub/Sub: one argument, bytes checkpoints."""
    checkpoints = MemoryCheckpoints()
    seen: list[str] = []
    with sf.listener(api="pubsub", pubsub_target=target, checkpoints=checkpoints) as listener:
        contacts = listener.channel("/data/ContactChangeEvent", replay=ALL_RETAINED)

        @contacts.on_update
        def updated(event: ChangeDataEvent) -> None:
            if event.record_ids == [record_id]:
                seen.append(str(event.change_type))
                listener.stop()  # after this event's checkpoint

        runner = threading.Thread(target=listener.run, daemon=True)
        runner.start()
        runner.join(TIMEOUT_S)
        check(not runner.is_alive() and seen == ["UPDATE"], "the listener did not get the update")
    stored = checkpoints.positions.get("pubsub:/data/ContactChangeEvent")
    check(isinstance(stored, bytes), "no bytes checkpoint")
    shown = stored.hex() if isinstance(stored, bytes) else ""
    say(
        console,
        f'sf.listener(api="pubsub"): on_update got the {seen[0]}; checkpoint '
        f"pubsub:/data/ContactChangeEvent = {shown} (bytes, written after the handler)",
    )


async def _tour(console: Console, sf: Salesforce, target: str, record_id: str) -> None:
    async with (
        AsyncSalesforce(auth=sf.connection.auth, verify=sf.sender.verify) as asf,
        AsyncPubSub.from_client(asf, target=target) as pubsub,
    ):
        topic = await pubsub.get_topic("/data/ContactChangeEvent")
        say(console, f"GetTopic /data/ContactChangeEvent: schema id {topic.schema_id}")
        async with asyncio.timeout(TIMEOUT_S):
            async for message in pubsub.subscribe(topic.topic_name, replay=EARLIEST):
                event = message.event
                if not isinstance(event, ChangeDataEvent) or event.record_ids != [record_id]:
                    continue
                if str(event.change_type) != "UPDATE":
                    continue
                check(isinstance(event.record, ContactChangeEvent), "not typed")
                check("Name.LastName" in event.header.changedFields, "bitmap not decoded")
                say(
                    console,
                    f"UPDATE over gRPC, replay id {message.replay_id.hex()}: changedFields "
                    f"{event.header.changedFields} -> {type(event.record).__name__}",
                )
                break
        (result,) = await pubsub.publish(f"/event/{EVENT}", [{"Order_Number__c": "A-42"}])
        check(result.error is None and result.replay_id is not None, "publish failed")
        async with asyncio.timeout(TIMEOUT_S):
            async for message in pubsub.subscribe(f"/event/{EVENT}", replay=EARLIEST):
                received = message.event
                check(isinstance(received, PlatformEvent), "not a platform event")
                check(message.replay_id == result.replay_id, "another event arrived")
                payload = received.payload if isinstance(received, PlatformEvent) else {}
                say(console, f"published and received {EVENT}: {payload['Order_Number__c']}")
                break
