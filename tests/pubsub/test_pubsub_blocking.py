"""`PubSub`, the blocking face, on a `Salesforce` client: the same typed events and publish."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.core.errors import UsageError
from salesforce_typed.pubsub import EARLIEST, PubSub
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import ChangeDataEvent, PlatformEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_std import Contact, ContactChangeEvent


def test_blocking_subscribe_and_publish(
    org: FakeOrg, grant: Callable[[FakeOrg], RefreshTokenGrant]
) -> None:
    streaming.define_platform_event(org.state, "Order_Event__e", {"Order_Number__c": "string"})
    ca = org.credentials()["ca_file"]
    with (
        Salesforce(auth=grant(org), verify=ca, token_store=MemoryTokenStore()) as sf,
        PubSub.from_client(sf, target=org.pubsub_url) as pubsub,
    ):
        saved = sf.create(Contact(LastName="Blocking"))
        stream = pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST)
        message = next(stream)
        stream.close()  # ends the subscription on the loop thread
        assert isinstance(message.event, ChangeDataEvent)
        assert isinstance(message.event.record, ContactChangeEvent)
        assert message.event.record_ids == [saved.id]

        (result,) = pubsub.publish("/event/Order_Event__e", [{"Order_Number__c": "B-1"}])
        assert result.error is None
        for got in pubsub.subscribe("/event/Order_Event__e", replay=EARLIEST):
            assert isinstance(got.event, PlatformEvent)
            assert got.event.payload["Order_Number__c"] == "B-1"
            assert got.replay_id == result.replay_id
            break
        assert pubsub.get_topic("/event/Order_Event__e").can_publish
    pubsub.close()  # closing twice is harmless
    assert repr(pubsub) == f"PubSub(target={org.pubsub_url!r})"


def test_blocking_subscribe_passes_the_flow_control_window(
    org: FakeOrg, grant: Callable[[FakeOrg], RefreshTokenGrant]
) -> None:
    """`max_outstanding` reaches the async client: the strictest window still delivers, and
    a window below num_requested is refused as it is there."""
    ca = org.credentials()["ca_file"]
    with (
        Salesforce(auth=grant(org), verify=ca, token_store=MemoryTokenStore()) as sf,
        PubSub.from_client(sf, target=org.pubsub_url) as pubsub,
    ):
        saved = [sf.create(Contact(LastName=f"Window {n}")).id for n in range(3)]
        stream = pubsub.subscribe(
            "/data/ContactChangeEvent", replay=EARLIEST, num_requested=1, max_outstanding=1
        )
        got = [next(stream) for _ in range(3)]
        stream.close()
        ids = [m.event.record_ids[0] for m in got if isinstance(m.event, ChangeDataEvent)]
        assert ids == saved
        refused = pubsub.subscribe("/data/ContactChangeEvent", num_requested=10, max_outstanding=5)
        with pytest.raises(UsageError, match="max_outstanding"):
            next(refused)
