"""A managed subscription (ManagedSubscribe, beta): the org keeps the committed replay id.

    async with pubsub.managed_subscribe("Order_Events_Sub") as stream:
        async for message in stream:
            handle(message.event)  # committed once the whole batch has been taken

What must stay true:
- Flow control as for Subscribe: the next ManagedFetchRequest goes out only when the
  server's `pending_num_requested` is 0 and the consumer has taken the whole batch.
- auto_commit (the default) commits a batch's `latest_replay_id` when the consumer asks for
  the message after the batch's last one, so an event is committed only after its handler
  returned (Salesforce's example commits after processing each batch, and the latest replay
  id of an empty keepalive batch); leaving an `async with` block without an exception
  commits the last message taken and waits for the answer. With auto_commit=False the
  caller commits.
- A failed commit (CommitReplayResponse with an error) ends the iteration in a PubSubError
  with status COMMIT: a consumer must never believe an uncommitted position is stored.
- UNAUTHENTICATED refreshes the session once and reopens the stream, which the org resumes
  after the last committed replay id (events after it are delivered again: at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Final

import attrs
import grpc
import grpc.aio

from salesforce_typed.pubsub.errors import PubSubError
from salesforce_typed.pubsub.policy import MAX_EMPTY_ENDS
from salesforce_typed_pubsub import pubsub_api_pb2 as pb

if TYPE_CHECKING:
    from salesforce_typed.pubsub._async.client import AsyncPubSub, PubSubMessage

__all__ = ["CommitResult", "ManagedStream"]

_ID_PREFIX_LENGTHS: Final = (15, 18)
_Call = grpc.aio.StreamStreamCall[pb.ManagedFetchRequest, pb.ManagedFetchResponse]


@attrs.frozen(kw_only=True)
class CommitResult:
    """The server's answer to a commit: `replay_id` stored, or `error` why not."""

    commit_request_id: str
    replay_id: bytes
    error: str | None = None


def is_record_id(key: str) -> bool:
    """Whether `key` looks like a Tooling record id (15/18 alphanumerics with a digit) rather
    than a developer name; a guess only, so lookups try the other reading when it misses."""
    return len(key) in _ID_PREFIX_LENGTHS and key.isalnum() and any(c.isdigit() for c in key)


def first_request(key: str, num_requested: int) -> pb.ManagedFetchRequest:
    if is_record_id(key):
        return pb.ManagedFetchRequest(subscription_id=key, num_requested=num_requested)
    return pb.ManagedFetchRequest(developer_name=key, num_requested=num_requested)


def commit_request(replay_id: bytes) -> tuple[str, pb.ManagedFetchRequest]:
    request_id = str(uuid.uuid4())
    commit = pb.CommitReplayRequest(commit_request_id=request_id, replay_id=replay_id)
    return request_id, pb.ManagedFetchRequest(commit_replay_id_request=commit)


def commit_result(response: pb.CommitReplayResponse) -> CommitResult:
    return CommitResult(
        commit_request_id=response.commit_request_id,
        replay_id=response.replay_id,
        error=response.error.msg if response.HasField("error") else None,
    )


class ManagedStream:
    """The messages of one managed subscription; iterate it, `commit()` on it, close it."""

    def __init__(
        self,
        client: AsyncPubSub,
        subscription: str,
        *,
        topic: str | None,
        num_requested: int,
        auto_commit: bool,
        idle_timeout_s: float,
    ) -> None:
        self.subscription = subscription
        self.topic = topic
        self.auto_commit = auto_commit
        self.last_commit: CommitResult | None = None  # the latest answered commit
        self._client = client
        self._num_requested = num_requested
        self._idle_timeout_s = idle_timeout_s
        self._call: _Call | None = None
        self._writing = asyncio.Lock()
        self._asked: bytes | None = None  # the last replay id auto-committed
        self._taken: bytes | None = None  # the replay id of the last message handed out
        # after the server ended a stream: the last message handed out on it, which the
        # reopened stream (resuming at the org's committed position) may deliver again
        self._redelivered: bytes | None = None
        self._messages = self._run()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(subscription={self.subscription!r}, topic={self.topic!r})"

    def __aiter__(self) -> ManagedStream:
        return self

    async def __anext__(self) -> PubSubMessage:
        return await anext(self._messages)

    async def __aenter__(self) -> ManagedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leaving the block without an exception commits the last message taken (with
        auto_commit), so a `break` after handling a message keeps it handled."""
        try:
            if exc_type is None and self.auto_commit:
                await self._commit_taken()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._messages.aclose()

    async def _commit_taken(self, timeout_s: float = 10.0) -> None:
        """Commit the last message taken and wait for the org's answer (events arriving
        meanwhile are not the consumer's: the next subscription delivers them again)."""
        call, taken = self._call, self._taken
        if call is None or taken is None or taken == self._asked:
            return
        self._asked = taken
        request_id = await self.commit(taken)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    response = await call.read()
                    if not isinstance(response, pb.ManagedFetchResponse):
                        return  # the stream ended: its status is the next read's
                    if response.HasField("commit_response"):
                        self._answered(response.commit_response)
                        if response.commit_response.commit_request_id == request_id:
                            return
        except grpc.aio.AioRpcError as exc:
            from salesforce_typed.pubsub._async.client import rpc_error

            raise rpc_error(exc) from None

    async def commit(self, replay_id: bytes) -> str:
        """Ask the org to store `replay_id` as this subscription's position; returns the
        commit request id. The answer arrives on the stream (`last_commit`); a failed one
        ends the iteration in a PubSubError (status COMMIT)."""
        request_id, request = commit_request(replay_id)
        await self._write(request)
        return request_id

    async def _write(self, request: pb.ManagedFetchRequest) -> None:
        call = self._call
        if call is None:
            raise PubSubError("the managed subscription is not open", status="CANCELLED")
        async with self._writing:
            # a write racing the server's end of the stream: the next read raises its status
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await call.write(request)

    async def _run(self) -> AsyncGenerator[PubSubMessage, None]:
        from salesforce_typed.pubsub._async.client import rpc_error

        if self.topic is None:  # the subscription's record names it (and its id)
            info = await self._client.managed_subscription(self.subscription)
            self.subscription, self.topic = info.id, info.topic_name
        refreshed = False
        ended = 0  # streams the server ended in a row before any event
        while True:
            metadata = await self._client._metadata()
            call = self._call = self._client._stub.ManagedSubscribe(metadata=metadata)
            try:
                await self._write(first_request(self.subscription, self._num_requested))
                if self._redelivered is not None and self.auto_commit:
                    # the commit lost with the ended stream, so the org's position moves on
                    self._asked = self._redelivered
                    await self.commit(self._redelivered)
                got = False
                async for message in self._read(call):
                    got = True
                    yield message
                # The server ended the stream (no request within 60 s, nothing pending: a
                # slow consumer). Open it again: it resumes at the org's committed position,
                # which may be before what was handed out (its commit was lost with the
                # stream): those events are skipped up to the last one handed out, if the
                # first batch holds it; otherwise they come again (at least once).
                self._redelivered = self._taken
                ended = 0 if got else ended + 1
                refreshed = refreshed and not got  # a stream that worked: may refresh again
                if ended >= MAX_EMPTY_ENDS:
                    raise PubSubError(
                        f"the server ended {ended} streams of {self.subscription} in a row "
                        "before any event",
                        status="OK",
                    )
                # a unary call first: it refreshes a session that died meanwhile, where a
                # stream refused at its first write shows only INTERNAL (a gRPC race)
                await self._client.get_topic(self.topic or "")
                continue
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    refreshed = True
                    await self._client._refresh(metadata)
                    continue
                raise rpc_error(exc) from None
            finally:
                self._call = None
                call.cancel()

    async def _read(self, call: _Call) -> AsyncIterator[PubSubMessage]:
        while True:
            try:
                response = await asyncio.wait_for(call.read(), self._idle_timeout_s)
            except TimeoutError:
                raise PubSubError(
                    f"no ManagedFetchResponse (not even a keepalive) in {self._idle_timeout_s:g} s",
                    status="DEADLINE_EXCEEDED",
                ) from None
            if response is grpc.aio.EOF or not isinstance(response, pb.ManagedFetchResponse):
                return
            if response.HasField("commit_response"):
                self._answered(response.commit_response)
            events = list(response.events)
            if self._redelivered is not None and events:
                ids = [consumer.replay_id for consumer in events]
                if self._redelivered in ids:
                    events = events[ids.index(self._redelivered) + 1 :]
                self._redelivered = None
            for consumer in events:
                message = await self._client._message(self.topic or "", consumer)
                self._taken = consumer.replay_id
                yield message
            # the consumer has taken the batch (it asked for the next message): commit its
            # position, or a keepalive's, unless that position was committed already
            latest = response.latest_replay_id
            if self.auto_commit and latest and latest != self._asked:
                self._asked = latest
                await self.commit(latest)
            if response.events and response.pending_num_requested == 0:
                await self._write(pb.ManagedFetchRequest(num_requested=self._num_requested))

    def _answered(self, response: pb.CommitReplayResponse) -> None:
        result = commit_result(response)
        if result.error is not None:
            raise PubSubError(
                f"commit {result.commit_request_id} failed: {result.error}", status="COMMIT"
            )
        self.last_commit = result
