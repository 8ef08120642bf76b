"""Pub/Sub API tests: a TLS fake org serving gRPC beside REST, and an async REST client on
its refresh-token grant (the Pub/Sub client rides on that client's session)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from salesforce_typed import AsyncSalesforce, RefreshTokenGrant
from salesforce_typed.pubsub import AsyncPubSub
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.testing import streaming
from salesforce_typed.testing.pubsub import PubSubConfig, service
from salesforce_typed.testing.server import FakeOrg


def _grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


@pytest.fixture
def grant() -> Callable[[FakeOrg], RefreshTokenGrant]:
    """The refresh-token grant of a fake org, as a user's connected app gives it."""
    return _grant


@pytest.fixture
def org() -> Iterator[FakeOrg]:
    with FakeOrg(tls=True, pubsub=True) as fake:
        streaming.enable(fake.state)  # CDC from the first write
        yield fake


@pytest.fixture
def pubsub_config(org: FakeOrg) -> PubSubConfig:
    """The running server's knobs (keepalive interval), for tests to shorten."""
    return service(org.state).config


@pytest.fixture
async def sf(org: FakeOrg) -> AsyncIterator[AsyncSalesforce]:
    ca = org.credentials()["ca_file"]
    async with AsyncSalesforce(auth=_grant(org), verify=ca, token_store=MemoryTokenStore()) as c:
        yield c


@pytest.fixture
async def pubsub(org: FakeOrg, sf: AsyncSalesforce) -> AsyncIterator[AsyncPubSub]:
    async with AsyncPubSub.from_client(sf, target=org.pubsub_url) as client:
        yield client
