"""`fake-org serve --no-cdc` with the Pub/Sub API served: starting the gRPC server does not
start CDC capture (a big load before any client streams pays nothing for it); the first
Pub/Sub call does, and the writes after it are events."""

from __future__ import annotations

from collections.abc import Callable

from salesforce_typed import RefreshTokenGrant, Salesforce
from salesforce_typed.pubsub import EARLIEST, PubSub
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import ChangeDataEvent
from salesforce_typed.testing import streaming
from salesforce_typed.testing.org.state import OrgConfig
from salesforce_typed.testing.server import FakeOrg
from salesforce_typed_std import Contact


def test_serving_pubsub_leaves_capture_off_until_the_first_call(
    grant: Callable[[FakeOrg], RefreshTokenGrant],
) -> None:
    with FakeOrg(tls=True, pubsub=True, config=OrgConfig(capture_changes=False)) as org:
        ca = org.credentials()["ca_file"]
        with (
            Salesforce(auth=grant(org), verify=ca, token_store=MemoryTokenStore()) as sf,
            PubSub.from_client(sf, target=org.pubsub_url) as pubsub,  # the server is up
        ):
            before = sf.create(Contact(LastName="Before")).id
            assert not streaming.enable(org.state, capture=False).capturing
            assert pubsub.get_topic("/data/ContactChangeEvent").can_subscribe
            after = sf.create(Contact(LastName="After")).id
            stream = pubsub.subscribe("/data/ContactChangeEvent", replay=EARLIEST)
            first = next(stream)
            stream.close()
        assert isinstance(first.event, ChangeDataEvent)
        assert first.event.record_ids == [after] != [before]
