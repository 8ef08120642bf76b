"""Managed event subscriptions (beta) in the fake org: `ManagedEventSubscription` Tooling API
records, the replay id each one has committed, and the `ManagedSubscribe` RPC.

docs/pubsub.md ("Managed subscriptions") lists the guide's facts followed here.

What must stay true:
- The org keeps each subscription (topic, RUN/STOP state, replay presets) and its committed
  replay id; with a data dir they are written through to the org's journal, so a restarted
  org resumes a subscription after its last commit.
- A subscription serves one stream at a time ("unique per client"): a second ALREADY_EXISTS.
- ManagedSubscribe follows Subscribe's flow control: never more events than requested and
  not yet received; an idle stream gets an empty response with `latest_replay_id`.
- A commit is answered with a `commit_response` carrying its `commit_request_id`; a bad
  replay id fails that commit (error code COMMIT), never the stream.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import attrs
import grpc

from salesforce_typed.testing.org import persist
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.pubsub.service import (
    MAX_REQUESTED,
    REQUESTED_INVALID,
    FetchWait,
    PubSubService,
    _AbortError,
    replay_bytes,
    replay_int,
)
from salesforce_typed_pubsub import pubsub_api_pb2 as pb

__all__ = ["ManagedSubscription", "Registry", "managed_subscribe", "register", "registry"]

KEY_PREFIX: Final = "18x"  # **chosen**: the guide does not give the object's key prefix
RUN: Final = "RUN"
STOP: Final = "STOP"
PRESETS: Final = ("LATEST", "EARLIEST")
NOT_FOUND: Final = "sfdc.platform.eventbus.grpc.managed.subscription.notfound"  # chosen
ALREADY_ACTIVE: Final = "sfdc.platform.eventbus.grpc.managed.subscription.already.active"
STOPPED: Final = "sfdc.platform.eventbus.grpc.managed.subscription.stopped"  # chosen
MISSING_ID: Final = "sfdc.platform.eventbus.grpc.managed.subscription.id.missing"  # chosen
_EXTENSION: Final = "managed_subscriptions"
_JOURNAL_KIND: Final = "managed_subscription"
_NAME: Final = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$")


@attrs.define(kw_only=True)
class ManagedSubscription:
    """One `ManagedEventSubscription` record and the replay id committed on it."""

    id: str
    developer_name: str
    label: str
    topic_name: str
    default_replay: str = "LATEST"
    error_recovery_replay: str = "LATEST"
    state: str = RUN
    committed: int | None = None  # the bus replay id of the last commit

    def row(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def tooling(self) -> dict[str, Any]:
        """The record as the Tooling API returns it (`Metadata` holds the settings)."""
        return {
            "attributes": {
                "type": "ManagedEventSubscription",
                "url": f"/services/data/v62.0/tooling/sobjects/ManagedEventSubscription/{self.id}",
            },
            "Id": self.id,
            "DeveloperName": self.developer_name,
            "MasterLabel": self.label,
            "FullName": self.developer_name,
            "Metadata": {
                "label": self.label,
                "topicName": self.topic_name,
                "defaultReplay": self.default_replay,
                "errorRecoveryReplay": self.error_recovery_replay,
                "state": self.state,
            },
        }


class Registry:
    """The org's managed subscriptions, by id; written through to the journal if any."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._by_id: dict[str, ManagedSubscription] = {}
        self.active: set[str] = set()  # ids with an open ManagedSubscribe stream
        book = persist.journal(state)
        if book is not None:
            for key, row in book.entries(_JOURNAL_KIND):
                self._by_id[key] = ManagedSubscription(**row)

    def find(self, key: str) -> ManagedSubscription | None:
        """By record id (15 or 18 characters) or developer name."""
        with self._lock:
            for sub in self._by_id.values():
                if key and key in (sub.id, sub.id[:15], sub.developer_name):
                    return sub
        return None

    def all(self) -> list[ManagedSubscription]:
        with self._lock:
            return list(self._by_id.values())

    def create(self, fields: dict[str, Any]) -> ManagedSubscription:
        settings = _settings(fields)
        name = str(fields.get("FullName") or fields.get("DeveloperName") or "")
        if not _NAME.match(name):
            raise SfError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "The DeveloperName can contain only underscores and alphanumeric characters, "
                "must begin with a letter, not end with an underscore, and not contain two "
                "consecutive underscores.",
                fields=["DeveloperName"],
            )
        if self.find(name) is not None:
            raise SfError(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                f"A ManagedEventSubscription named {name} already exists.",
                fields=["DeveloperName"],
            )
        for required in ("topicName",):
            if not settings.get(required):
                raise SfError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{required}]",
                    fields=[required],
                )
        sub = ManagedSubscription(
            id=self.state.ids.new(KEY_PREFIX),
            developer_name=name,
            label=str(settings.get("label") or fields.get("MasterLabel") or name),
            topic_name=str(settings["topicName"]),
        )
        _apply(sub, settings)
        self._save(sub)
        return sub

    def update(self, sub: ManagedSubscription, fields: dict[str, Any]) -> None:
        settings = _settings(fields)
        if "topicName" in settings and settings["topicName"] != sub.topic_name:
            sub.topic_name = str(settings["topicName"])
            sub.committed = None  # a commit on another topic means nothing here
        if "label" in settings:
            sub.label = str(settings["label"])
        _apply(sub, settings)
        self._save(sub)

    def delete(self, sub: ManagedSubscription) -> None:
        with self._lock:
            self._by_id.pop(sub.id, None)
        book = persist.journal(self.state)
        if book is not None:
            book.delete(_JOURNAL_KIND, sub.id)

    def commit(self, sub: ManagedSubscription, replay_id: int) -> None:
        sub.committed = replay_id
        self._save(sub)

    def _save(self, sub: ManagedSubscription) -> None:
        with self._lock:
            self._by_id[sub.id] = sub
        book = persist.journal(self.state)
        if book is not None:
            book.put(_JOURNAL_KIND, sub.id, sub.row())


def _settings(fields: dict[str, Any]) -> dict[str, Any]:
    """`Metadata` as the Tooling API takes it, or the same keys given flat."""
    metadata = fields.get("Metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Metadata must be a JSON object.")
    known = ("label", "topicName", "defaultReplay", "errorRecoveryReplay", "state")
    flat = {k: fields[k] for k in known if k in fields}
    return {**flat, **(metadata or {})}


def _apply(sub: ManagedSubscription, settings: dict[str, Any]) -> None:
    for key, attr, allowed in (
        ("defaultReplay", "default_replay", PRESETS),
        ("errorRecoveryReplay", "error_recovery_replay", PRESETS),
        ("state", "state", (RUN, STOP)),
    ):
        if key not in settings:
            continue
        value = str(settings[key])
        if value not in allowed:
            raise SfError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"bad value for restricted picklist field: {value}",
                fields=[key],
            )
        setattr(sub, attr, value)


def registry(state: OrgState) -> Registry:
    """The org's managed subscriptions (made on first use; restored from the journal)."""
    found = state.extensions.get(_EXTENSION)
    if not isinstance(found, Registry):
        found = state.extensions[_EXTENSION] = Registry(state)
    return found


# -- Tooling API REST ---------------------------------------------------------------------


def _record(req: Request) -> ManagedSubscription:
    found = registry(req.org).find(req.params["id"])
    if found is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return found


def _body(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.")
    return body


async def tooling_create(req: Request) -> Response:
    sub = registry(req.org).create(_body(req))
    return Response.json({"id": sub.id, "success": True, "errors": [], "warnings": []}, 201)


async def tooling_get(req: Request) -> Response:
    return Response.json(_record(req).tooling())


async def tooling_update(req: Request) -> Response:
    registry(req.org).update(_record(req), _body(req))
    return Response.empty()


async def tooling_delete(req: Request) -> Response:
    registry(req.org).delete(_record(req))
    return Response.empty()


_QUERY: Final = re.compile(
    r"^\s*SELECT\s+[\w\s,]+\s+FROM\s+ManagedEventSubscription"
    r"(?:\s+WHERE\s+(Id|DeveloperName)\s*=\s*'([^']*)')?\s*$",
    re.IGNORECASE,
)


async def tooling_query(req: Request) -> Response:
    """`SELECT ... FROM ManagedEventSubscription [WHERE Id|DeveloperName = '...']`, all
    fields returned (the only Tooling query the fake org answers)."""
    found = _QUERY.match(req.arg("q") or "")
    if found is None:
        raise SfError(
            400,
            "MALFORMED_QUERY",
            "The fake org's Tooling API answers only queries of ManagedEventSubscription.",
        )
    subs = registry(req.org).all()
    if found.group(1):
        key = found.group(2)
        subs = [
            s
            for s in subs
            if key in ((s.id, s.id[:15]) if found.group(1).lower() == "id" else (s.developer_name,))
        ]
    records = [s.tooling() for s in subs]
    return Response.json(
        {"size": len(records), "totalSize": len(records), "done": True, "records": records}
    )


_TOOLING: Final = "/services/data/v{version}/tooling/sobjects/ManagedEventSubscription"
ROUTES: Final = (
    ("GET", "/services/data/v{version}/tooling/query", tooling_query),
    ("POST", _TOOLING, tooling_create),
    ("GET", _TOOLING + "/{id}", tooling_get),
    ("PATCH", _TOOLING + "/{id}", tooling_update),
    ("DELETE", _TOOLING + "/{id}", tooling_delete),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(ROUTES)


# -- ManagedSubscribe ---------------------------------------------------------------------


@attrs.define(eq=False)
class _Stream:
    """One open ManagedSubscribe stream: its credit, pending commit answers, failure."""

    sub: ManagedSubscription
    cursor: int
    credit: int
    watch: FetchWait
    commits: list[pb.CommitReplayResponse] = attrs.field(factory=list)
    failure: list[_AbortError] = attrs.field(factory=list)
    wake: asyncio.Event = attrs.field(factory=asyncio.Event)


def _abort(code: grpc.StatusCode, error_code: str, message: str) -> _AbortError:
    return _AbortError(code, error_code, message)


def _open(service: PubSubService, first: pb.ManagedFetchRequest) -> ManagedSubscription:
    """The subscription the first request names, if it may stream now."""
    book = registry(service.state)
    key = first.subscription_id or first.developer_name
    if not key:
        raise _abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            MISSING_ID,
            "The first ManagedFetchRequest must set subscription_id or developer_name.",
        )
    sub = book.find(first.subscription_id) or book.find(first.developer_name)
    if sub is None:
        raise _abort(
            grpc.StatusCode.NOT_FOUND,
            NOT_FOUND,
            f"The managed subscription {key} was not found. Ensure that the "
            "ManagedEventSubscription record exists.",
        )
    if sub.state != RUN:
        raise _abort(
            grpc.StatusCode.FAILED_PRECONDITION,
            STOPPED,
            f"The managed subscription {sub.developer_name} is in the STOP state.",
        )
    with book._lock:
        if sub.id in book.active:
            raise _abort(
                grpc.StatusCode.ALREADY_EXISTS,
                ALREADY_ACTIVE,
                f"The managed subscription {sub.developer_name} is already active on "
                "another stream.",
            )
        book.active.add(sub.id)
    return sub


def _start(service: PubSubService, sub: ManagedSubscription) -> int:
    """After the committed replay id; `errorRecoveryReplay` when it left retention;
    `defaultReplay` when nothing was committed."""
    presets = {"LATEST": -1, "EARLIEST": -2}
    if sub.committed is not None:
        found = service.bus.replay_start(sub.topic_name, sub.committed)
        if found is not None:
            return found
        preset = presets[sub.error_recovery_replay]
    else:
        preset = presets[sub.default_replay]
    start = service.bus.replay_start(sub.topic_name, preset)
    return 0 if start is None else start


def _commit(
    service: PubSubService, stream: _Stream, request: pb.CommitReplayRequest
) -> pb.CommitReplayResponse:
    now_ms = int(time.time() * 1000)
    wanted = replay_int(request.replay_id)
    latest = service.bus.replay_start(stream.sub.topic_name, -1)
    if wanted is None or latest is None or wanted > latest:
        return pb.CommitReplayResponse(
            commit_request_id=request.commit_request_id,
            replay_id=request.replay_id,
            error=pb.Error(
                code=pb.ErrorCode.COMMIT,
                msg="The Replay ID to commit is not valid for this subscription's topic.",
            ),
            process_time=now_ms,
        )
    registry(service.state).commit(stream.sub, wanted)
    return pb.CommitReplayResponse(
        commit_request_id=request.commit_request_id,
        replay_id=request.replay_id,
        process_time=now_ms,
    )


async def managed_subscribe(
    service: PubSubService,
    request_iterator: AsyncIterator[pb.ManagedFetchRequest],
    context: grpc.aio.ServicerContext[Any, Any],
) -> AsyncIterator[pb.ManagedFetchResponse]:
    """The RPC, for `PubSubService.ManagedSubscribe` to delegate to."""
    book = registry(service.state)
    try:
        # the first request is read before the session is checked: a client's first write
        # then never races the refusal (gRPC would report that race as INTERNAL)
        first = await anext(request_iterator, None)
        await service._admit(context)
        if first is None:
            return
        sub = _open(service, first)
    except _AbortError as exc:
        await service._fail(context, exc)
        return
    try:
        try:
            service.topic(sub.topic_name)
            stream = _Stream(
                sub=sub,
                cursor=_start(service, sub),
                credit=0,
                watch=FetchWait(service.config),
            )
            _take(service, stream, first)
        except _AbortError as exc:
            await service._fail(context, exc)
            return
        with service._lock:
            service._waiters[stream.wake] = (sub.topic_name, stream.failure)
        reader = asyncio.ensure_future(_read(service, stream, request_iterator))
        try:
            async for response in _deliver(service, stream, service._rpc_id):
                yield response
            if stream.failure:
                await service._fail(context, stream.failure[0])
        finally:
            reader.cancel()
            with service._lock:
                service._waiters.pop(stream.wake, None)
    finally:
        with book._lock:
            book.active.discard(sub.id)


def _take(service: PubSubService, stream: _Stream, request: pb.ManagedFetchRequest) -> None:
    """One request's credit and commit; `_AbortError` for a negative num_requested."""
    if request.num_requested < 0:
        raise _abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            REQUESTED_INVALID,
            "The number of requested events in ManagedFetchRequest must not be negative.",
        )
    stream.credit = min(stream.credit + request.num_requested, MAX_REQUESTED)
    if request.HasField("commit_replay_id_request"):
        stream.commits.append(_commit(service, stream, request.commit_replay_id_request))


async def _read(
    service: PubSubService,
    stream: _Stream,
    request_iterator: AsyncIterator[pb.ManagedFetchRequest],
) -> None:
    async for more in request_iterator:
        stream.watch.touch()
        try:
            _take(service, stream, more)
        except _AbortError as exc:
            stream.failure.append(exc)
        stream.wake.set()


async def _deliver(
    service: PubSubService, stream: _Stream, rpc_id: Callable[[], str]
) -> AsyncIterator[pb.ManagedFetchResponse]:
    topic = stream.sub.topic_name
    while not stream.failure:
        stream.wake.clear()
        commit = stream.commits.pop(0) if stream.commits else None
        batch = service.bus.read(topic, stream.cursor, stream.credit) if stream.credit > 0 else []
        if batch or commit is not None:
            events = [service._consumer_event(r.replay_id, r.body) for r in batch]
            if batch:
                stream.cursor = batch[-1].replay_id
                stream.credit -= len(batch)
            yield pb.ManagedFetchResponse(
                events=[e for e in events if e is not None],
                latest_replay_id=replay_bytes(stream.cursor),
                rpc_id=rpc_id(),
                pending_num_requested=stream.credit,
                commit_response=commit,
            )
            if batch:
                stream.watch.touch()
            continue
        wait = stream.watch.idle(stream.credit)
        if wait is None:
            return  # nothing pending, no request in time: the stream closes (status OK)
        try:
            await asyncio.wait_for(stream.wake.wait(), wait)
        except TimeoutError:
            if stream.watch.idle(stream.credit) is None:
                return
            yield pb.ManagedFetchResponse(
                latest_replay_id=replay_bytes(stream.cursor),
                rpc_id=rpc_id(),
                pending_num_requested=stream.credit,
            )
