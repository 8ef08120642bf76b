"""`PubSub`: the blocking face of `AsyncPubSub`, for code written against `Salesforce`.

gRPC's asyncio API and its blocking one differ too much for an unasync twin, so this runs the
async client on an event loop of its own, in a daemon thread, and waits on its results. It
shares the REST client's auth flow (same token, token store and refresh lock), instance URL,
TLS setting, API version and package; the REST pool and gRPC channel are its own.

    with PubSub.from_client(sf, target=...) as pubsub:
        for message in pubsub.subscribe("/data/AccountChangeEvent", replay=EARLIEST):
            ...
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from salesforce_typed.pubsub._async.client import (
    DEFAULT_TARGET,
    LATEST,
    MAX_PUBLISH_BATCH,
    MAX_REQUESTED,
    AsyncPubSub,
    ManagedSubscriptionInfo,
    PublishResult,
    PubSubMessage,
    Replay,
    TopicInfo,
)
from salesforce_typed.pubsub._async.managed import CommitResult, ManagedStream

if TYPE_CHECKING:
    from salesforce_typed.rest._async.client import AsyncSalesforce
    from salesforce_typed.rest._sync.client import Salesforce

__all__ = ["BlockingManagedStream", "PubSub"]

T = TypeVar("T")


class PubSub:
    """Salesforce's Pub/Sub API on a `Salesforce` client's session, blocking."""

    def __init__(
        self,
        sf: Salesforce,
        *,
        target: str = DEFAULT_TARGET,
        root_certificates: bytes | None = None,
        insecure: bool = False,
    ) -> None:
        self.target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="salesforce-typed-pubsub", daemon=True
        )
        self._thread.start()
        self._closed = False

        async def open_clients() -> tuple[AsyncSalesforce, AsyncPubSub]:
            from salesforce_typed.rest._async.client import AsyncSalesforce

            rest = AsyncSalesforce(
                auth=sf.connection.auth,
                instance_url=sf.connection.instance_url,
                api_version=sf.api_version,
                package=sf.package,
                verify=sf.sender.verify,
                clock=sf.clock,
            )
            client = AsyncPubSub(
                rest, target=target, root_certificates=root_certificates, insecure=insecure
            )
            return rest, client

        self._rest, self.client = self._run(open_clients())

    @classmethod
    def from_client(cls, sf: Salesforce, **options: Any) -> PubSub:
        return cls(sf, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r})"

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # -- the API -----------------------------------------------------------------------------

    def get_topic(self, topic: str) -> TopicInfo:
        return self._run(self.client.get_topic(topic))

    def get_schema(self, schema_id: str) -> dict[str, Any]:
        return self._run(self.client.get_schema(schema_id))

    def publish(
        self, topic: str, events: Sequence[Mapping[str, Any]], *, ids: Sequence[str] = ()
    ) -> list[PublishResult]:
        return self._run(self.client.publish(topic, events, ids=ids))

    def publish_stream(
        self,
        topic: str,
        batches: Iterable[Sequence[Mapping[str, Any]]],
        *,
        max_batch: int = MAX_PUBLISH_BATCH,
    ) -> list[PublishResult]:
        """As `AsyncPubSub.publish_stream`: many batches over one PublishStream."""
        return self._run(self.client.publish_stream(topic, batches, max_batch=max_batch))

    def create_managed_subscription(
        self,
        developer_name: str,
        topic: str,
        *,
        default_replay: str = LATEST,
        error_recovery_replay: str = LATEST,
        state: str = "RUN",
        label: str | None = None,
    ) -> str:
        return self._run(
            self.client.create_managed_subscription(
                developer_name,
                topic,
                default_replay=default_replay,
                error_recovery_replay=error_recovery_replay,
                state=state,
                label=label,
            )
        )

    def managed_subscription(self, key: str) -> ManagedSubscriptionInfo:
        return self._run(self.client.managed_subscription(key))

    def managed_subscribe(
        self,
        subscription: str,
        *,
        topic: str | None = None,
        num_requested: int = MAX_REQUESTED,
        auto_commit: bool = True,
        idle_timeout_s: float = 330.0,
    ) -> BlockingManagedStream:
        """As `AsyncPubSub.managed_subscribe`; iterate the result, `commit()` on it, close it
        (or leave its `with` block) to end the subscription."""
        stream = self.client.managed_subscribe(
            subscription,
            topic=topic,
            num_requested=num_requested,
            auto_commit=auto_commit,
            idle_timeout_s=idle_timeout_s,
        )
        return BlockingManagedStream(self, stream)

    def subscribe(
        self,
        topic: str,
        *,
        replay: Replay = LATEST,
        num_requested: int = MAX_REQUESTED,
        idle_timeout_s: float = 330.0,
        max_outstanding: int | None = None,
    ) -> Generator[PubSubMessage, None, None]:
        """As `AsyncPubSub.subscribe`; closing the iterator (or leaving its loop) ends the
        subscription."""
        stream = self.client.subscribe(
            topic,
            replay=replay,
            num_requested=num_requested,
            idle_timeout_s=idle_timeout_s,
            max_outstanding=max_outstanding,
        )
        return self._iterate(stream)

    def _iterate(
        self, stream: AsyncIterator[PubSubMessage]
    ) -> Generator[PubSubMessage, None, None]:
        try:
            while True:
                try:
                    yield self._run(_next(stream))
                except StopAsyncIteration:
                    return
        finally:
            closing = getattr(stream, "aclose", None)
            if closing is not None and not self._closed:
                self._run(closing())

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel and the REST pool, then stop the loop thread; safe twice."""
        if self._closed:
            return
        try:
            self._run(self.client.aclose())
            self._run(self._rest.aclose())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> PubSub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _next(stream: AsyncIterator[PubSubMessage]) -> PubSubMessage:
    return await anext(stream)


class BlockingManagedStream:
    """A `ManagedStream` driven from blocking code through its `PubSub`'s event loop."""

    def __init__(self, pubsub: PubSub, stream: ManagedStream) -> None:
        self._pubsub = pubsub
        self.stream = stream

    def __repr__(self) -> str:
        return f"Blocking{self.stream!r}"

    @property
    def last_commit(self) -> CommitResult | None:
        return self.stream.last_commit

    def __iter__(self) -> BlockingManagedStream:
        return self

    def __next__(self) -> PubSubMessage:
        try:
            return self._pubsub._run(_next(self.stream))
        except StopAsyncIteration:
            raise StopIteration from None

    def commit(self, replay_id: bytes) -> str:
        return self._pubsub._run(self.stream.commit(replay_id))

    def close(self) -> None:
        if not self._pubsub._closed:
            self._pubsub._run(self.stream.aclose())

    def __enter__(self) -> BlockingManagedStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """As `ManagedStream`'s: a clean exit commits the last message taken."""
        if not self._pubsub._closed:
            self._pubsub._run(self.stream.__aexit__(exc_type, exc, tb))
