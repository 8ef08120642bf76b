"""Typed events: a Bayeux data message decoded into what the handler receives.

CDC payloads become a `ChangeDataEvent` whose `record` is the generated
`<Entity>ChangeEvent` model of the configured package (`salesforce_typed_std` by default),
resolved by the header's `entityName`; an entity the package lacks decodes into
`GenericChangeEvent`, which keeps every field in `extra_fields`. Platform events, PushTopic
and generic events get their own small classes; anything else is a plain `StreamEvent`.

What must stay true:
- Decoding never raises into the listener: a payload the model cannot take (a new field
  type, a bad value) falls back to the generic model and is logged, so one odd event cannot
  stop a stream. The raw Bayeux `data` is always kept on the event.
- `header.recordIds` holds every id of the transaction, never only the first.
- A long text Salesforce sent as a diff (`"Description": {"diff": "--- \n+++ <sha256>..."}`,
  CDC guide "Data Differences in Event Fields") is kept in `diffs`, out of the typed record
  (whose field is a string), and named in `header.diffFields`, which CometD does not send.
- `(channel, replay_id)` identifies an event for dedupe; CDC also carries
  `(transactionKey, sequenceNumber)` and platform events `EventUuid`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import attrs

from salesforce_typed.core.change_events import ChangeEvent, ChangeEventHeader, ChangeType
from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.core.models import SObject, resolve_pending, resolve_sobject
from salesforce_typed.core.unset import UNSET, UnsetType

__all__ = [
    "DEFAULT_PACKAGE",
    "ChangeDataEvent",
    "EventDecoder",
    "GenericChangeEvent",
    "GenericEvent",
    "PlatformEvent",
    "PushTopicEvent",
    "StreamEvent",
    "change_event_type_name",
]

logger = logging.getLogger("salesforce_typed.streaming")

DEFAULT_PACKAGE = "salesforce_typed_std"


@attrs.define(kw_only=True, slots=True, repr=False)
class GenericChangeEvent(ChangeEvent):
    """A change event of an entity the model package does not know: fields in `extra_fields`."""

    __sobject_type__: ClassVar[str] = "ChangeEvent"
    __sf_fields__: ClassVar[tuple[FieldInfo, ...]] = (
        FieldInfo(name="ChangeEventHeader", type="changeEventHeader", label="Header"),
    )

    ChangeEventHeader: ChangeEventHeader | None | UnsetType = UNSET


def change_event_type_name(entity_name: str) -> str:
    """`Account` -> `AccountChangeEvent`; `Invoice__c` -> `Invoice__ChangeEvent`."""
    if entity_name.endswith("__c"):
        return entity_name[:-1] + "ChangeEvent"
    return entity_name + "ChangeEvent"


@attrs.frozen(kw_only=True, slots=True)
class StreamEvent:
    """One delivered event: its channel, replay id and the raw Bayeux `data`."""

    channel: str
    replay_id: int | None
    data: dict[str, Any] = attrs.field(repr=False)

    @property
    def key(self) -> tuple[str, int | None]:
        """The dedupe key Salesforce documents for every channel kind."""
        return (self.channel, self.replay_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI prints one per line)."""
        return {"channel": self.channel, "replayId": self.replay_id, "data": self.data}


@attrs.frozen(kw_only=True, slots=True)
class ChangeDataEvent(StreamEvent):
    """A Change Data Capture event: the header and the changed fields, typed."""

    header: ChangeEventHeader
    record: ChangeEvent
    diffs: dict[str, str] = attrs.field(factory=dict)
    """Long text fields sent as a unified diff of their previous value, by field name."""

    @property
    def change_type(self) -> ChangeType | str:
        return self.header.changeType

    @property
    def entity_name(self) -> str:
        return self.header.entityName

    @property
    def record_ids(self) -> list[str]:
        return self.header.recordIds

    @property
    def is_gap(self) -> bool:
        return self.header.is_gap

    def changed_values(self) -> dict[str, Any]:
        """Decoded values of the fields the payload carries, header excluded."""
        out = {
            name: self.record[name]
            for name in self.record.set_fields()
            if name != "ChangeEventHeader"
        }
        out.update(self.record.extra_fields)
        return out

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        out.update(
            entityName=self.header.entityName,
            changeType=str(self.header.changeType),
            recordIds=list(self.header.recordIds),
        )
        return out


@attrs.frozen(kw_only=True, slots=True)
class PlatformEvent(StreamEvent):
    """`/event/<Name>__e`: the payload's fields as sent (`CreatedDate`, `CreatedById`, `*__c`)."""

    payload: dict[str, Any]

    @property
    def event_uuid(self) -> str | None:
        """The publish-time UUID (dedupe key); CometD carries it in `data.event`."""
        event = self.data.get("event")
        for source in (event if isinstance(event, dict) else {}, self.payload):
            value = source.get("EventUuid")
            if isinstance(value, str):
                return value
        return None


@attrs.frozen(kw_only=True, slots=True)
class PushTopicEvent(StreamEvent):
    """`/topic/<Name>`: `type` (created, updated, deleted, undeleted) and the `sobject`."""

    event_type: str
    sobject: dict[str, Any]


@attrs.frozen(kw_only=True, slots=True)
class GenericEvent(StreamEvent):
    """`/u/<Name>` generic streaming: the payload is a string."""

    payload: str


def replay_id_of(data: dict[str, Any]) -> int | None:
    """The `data.event.replayId` of a raw Bayeux event, or None."""
    event = data.get("event")
    value = event.get("replayId") if isinstance(event, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


class EventDecoder:
    """Decodes Bayeux data messages; model classes are resolved once per entity and cached."""

    def __init__(self, package: str = DEFAULT_PACKAGE, *, strict: bool = False) -> None:
        self.package = package
        self.strict = strict  # our tests decode strictly; production stays loose
        self._models: dict[str, type[ChangeEvent]] = {}

    def model_for(self, entity_name: str) -> type[ChangeEvent]:
        model = self._models.get(entity_name)
        if model is None:
            found: type[SObject] = GenericChangeEvent
            if entity_name and self.package:
                try:
                    found = resolve_sobject(self.package, change_event_type_name(entity_name))
                except ImportError:
                    logger.warning("model package %r cannot be imported", self.package)
            model = found if issubclass(found, ChangeEvent) else GenericChangeEvent
            self._models[entity_name] = model
        return model

    def decode(self, message: dict[str, Any]) -> StreamEvent:
        raw = message.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {"payload": raw}
        return self.decode_data(str(message.get("channel", "")), replay_id_of(data), data)

    def decode_data(self, channel: str, replay_id: int | None, data: dict[str, Any]) -> StreamEvent:
        """`decode` of a message's `data` whose channel and replay id are known already
        (Pub/Sub builds `data` itself: nothing to look up again)."""
        payload = data.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("ChangeEventHeader"), dict):
            return self._change_event(channel, replay_id, data, payload)
        if isinstance(payload, dict):
            return PlatformEvent(channel=channel, replay_id=replay_id, data=data, payload=payload)
        sobject = data.get("sobject")
        if isinstance(sobject, dict):
            event = data.get("event")
            kind = event.get("type") if isinstance(event, dict) else None
            return PushTopicEvent(
                channel=channel,
                replay_id=replay_id,
                data=data,
                event_type=str(kind or ""),
                sobject=sobject,
            )
        if isinstance(payload, str):
            return GenericEvent(channel=channel, replay_id=replay_id, data=data, payload=payload)
        return StreamEvent(channel=channel, replay_id=replay_id, data=data)

    def _change_event(
        self, channel: str, replay_id: int | None, data: dict[str, Any], payload: dict[str, Any]
    ) -> ChangeDataEvent:
        raw_header: dict[str, Any] = payload["ChangeEventHeader"]
        diffs = {  # `{"diff": "..."}` values, tested inline: a call per field would cost more
            k: v["diff"]
            for k, v in payload.items()
            if isinstance(v, dict) and len(v) == 1 and isinstance(v.get("diff"), str)
        }
        if diffs:
            payload = {k: v for k, v in payload.items() if k not in diffs}
        entity = raw_header.get("entityName")
        model = self.model_for("" if entity is None else entity)
        try:
            # The generic model declares no fields: it is loose by design, even in strict mode.
            strict = self.strict and model is not GenericChangeEvent
            record: ChangeEvent = model.from_dict(payload, strict=strict)
            resolve_pending(record)  # a bad datetime falls back here, not in a handler
        except Exception as exc:
            if self.strict:
                raise
            # One odd payload must not stop the stream: keep every field, untyped.
            logger.warning(
                "change event %s/%s did not decode into %s (%s): kept untyped",
                channel,
                replay_id,
                model.__name__,
                type(exc).__name__,
            )
            record = GenericChangeEvent.from_dict(payload)
        # The record parsed the header already: the event shares it rather than parse it
        # again (a model without the field keeps it as a dict: parsed here).
        header = getattr(record, "ChangeEventHeader", None)
        if not isinstance(header, ChangeEventHeader):
            header = ChangeEventHeader.from_dict(raw_header)
        if diffs and not header.diffFields:  # the record's header stays as sent
            header = attrs.evolve(header, diffFields=list(diffs))
        return ChangeDataEvent(
            channel=channel,
            replay_id=replay_id,
            data=data,
            header=header,
            record=record,
            diffs=diffs,
        )
