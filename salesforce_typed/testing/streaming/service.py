"""The fake org's Streaming API: `/cometd/NN.0`, platform-event publishing, and its admin API.

Wires the event bus (`bus`) to the Bayeux transport (`bayeux`) for one
org, and exposes what tests and the CLI need: Python helpers taking the `OrgState`, and the
same operations over HTTP under `/_admin/streaming/...` (no auth), for a separately started
`fake-org serve`.

What must stay true:
- Capture starts when streaming is first used: a `/cometd` request, any admin call or helper
  here (`enable(state)` does only that). From then on every committed write reaches the bus
  through `state.change_listeners`; before it, writes build no CDC events at all (bulk loads
  in orgs that never stream pay nothing). A test that replays writes made before its first
  handshake calls `enable` first.
- `POST /services/data/vNN.0/sobjects/<Name>__e` is answered here, registered before the
  record routes, so platform events never reach the record store.
- The admin API changes only streaming state; it never touches sessions or records.
- A held long poll must not delay shutdown: `release_all` is registered under
  `state.extensions["stoppers"]` (for the server to call before it stops) and "closers".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from salesforce_typed.core.fields import FieldInfo
from salesforce_typed.testing.org.changes import cdc_value
from salesforce_typed.testing.org.describe import field_describe
from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.validation import FieldIndex, PayloadError, coerce
from salesforce_typed.testing.streaming.bayeux import BayeuxServer, no_version_response
from salesforce_typed.testing.streaming.bus import EventBus, StreamingConfig

__all__ = [
    "StreamingConfig",
    "StreamingOrg",
    "configure",
    "define_channel",
    "define_platform_event",
    "drop_all_clients",
    "enable",
    "inject_gap",
    "publish_raw",
    "purge",
    "register",
    "stats",
]

_KEY = "streaming"
# The id Salesforce returns for every published event: events are not records.
EVENT_RECORD_ID = "e00xx0000000001AAA"
EVENT_TYPES = frozenset(
    {"string", "textarea", "double", "int", "long", "boolean", "date", "datetime", "picklist"}
)
_TEXT = frozenset({"string", "textarea", "picklist"})


@attrs.define
class StreamingOrg:
    """One org's streaming: its settings, event bus and Bayeux clients."""

    config: StreamingConfig
    bus: EventBus
    bayeux: BayeuxServer
    capturing: bool = False  # the bus hears the org's writes (CDC)


def enable(state: OrgState, *, capture: bool = True) -> StreamingOrg:
    """The org's streaming, created on first use, and CDC capture started unless `capture`
    is False: a server that only makes ready (the Pub/Sub API's, at startup) leaves a big
    load without CDC's cost until a client first uses streaming (`fake-org serve --no-cdc`)."""
    found = state.extensions.get(_KEY)
    if isinstance(found, StreamingOrg) and (found.capturing or not capture):
        return found
    with state.lock:
        org = state.extensions.get(_KEY)
        if not isinstance(org, StreamingOrg):
            config = StreamingConfig()
            bus = EventBus(state, config)
            org = StreamingOrg(config=config, bus=bus, bayeux=BayeuxServer(state, bus, config))
            state.extensions[_KEY] = org
            # stop hooks: a held long poll must not keep the server from shutting down
            state.extensions.setdefault("stoppers", []).append(org.bayeux.release_all)
            state.extensions.setdefault("closers", []).append(org.bayeux.release_all)
        if capture and not org.capturing:
            state.change_listeners.append(org.bus.on_change)
            org.capturing = True
    return org


def configure(state: OrgState, **values: Any) -> dict[str, Any]:
    """Set `StreamingConfig` fields (timeouts in ms, retention in s); returns them all."""
    config = enable(state).config
    known = attrs.fields_dict(StreamingConfig)
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown streaming settings {sorted(unknown)}; known: {sorted(known)}")
    converted = {key: _setting(getattr(config, key), value) for key, value in values.items()}
    for key, value in converted.items():  # all converted first: a bad value changes nothing
        setattr(config, key, value)
    return attrs.asdict(config)


def _setting(current: Any, value: Any) -> Any:
    """`value` as the type of the setting it replaces (JSON gives floats, strings, lists)."""
    if isinstance(current, bool):
        return value is True or str(value).lower() == "true"
    if isinstance(current, int | float):
        return type(current)(value)
    if value is None or isinstance(value, str):  # cdc_entities: all, or one entity
        return None if value is None else [value]
    return [str(v) for v in value]


def define_platform_event(
    state: OrgState, name: str, fields: Mapping[str, str] | None = None, *, label: str = ""
) -> str:
    """Add the platform event type `<Name>__e` (its describe, and `/event/<Name>__e`).

    `fields` maps custom field names (`Order_Number__c`) to describe types (string, double,
    boolean, date, datetime...). Returns the API name.
    """
    if not name.endswith("__e"):
        raise ValueError(f"a platform event's API name ends in __e, not {name}")
    for field, ftype in (fields or {}).items():
        if not field.endswith("__c") or ftype not in EVENT_TYPES:
            raise ValueError(f"{field}: custom fields end in __c, types are {sorted(EVENT_TYPES)}")
    org = enable(state)
    state.schema.add_describe(_event_describe(state, name, fields or {}, label or name[:-3]))
    org.bus.define_event_type(name)
    return name


def define_channel(
    state: OrgState,
    name: str,
    *,
    entities: Iterable[str] = (),
    fields: Iterable[str] = (),
) -> None:
    """A custom channel: `/data/<Name>__chn` carries the CDC events of `entities`;
    `/topic/<Name>` is a PushTopic on the one entity in `entities` with `fields` in its
    `sobject`; `/u/<Name>` is a generic channel (publish with `publish_raw`)."""
    bus = enable(state).bus
    members = list(entities)
    if name.startswith("/topic/"):
        if len(members) != 1:
            raise ValueError("a PushTopic follows exactly one entity")
        bus.define_topic(name, members[0], fields)
    elif name.startswith("/u/"):
        bus.define_generic(name)
    else:
        bus.define_custom_channel(name, members)


def drop_all_clients(state: OrgState) -> int:
    """Forget every client: their next message gets `403::Unknown client`."""
    return enable(state).bayeux.drop_all()


def inject_gap(
    state: OrgState,
    entity: str,
    change_type: str = "GAP_UPDATE",
    record_ids: Sequence[str] = (),
) -> int:
    """Publish a header-only `GAP_*` event (GAP_OVERFLOW: no ids); returns its replay id."""
    bus = enable(state).bus
    ids = () if change_type == "GAP_OVERFLOW" else record_ids
    return bus.publish_change(bus.gap_event(entity, change_type, ids))


def publish_raw(state: OrgState, channel: str, payload: Any, event_type: str = "created") -> int:
    """Publish `payload` as-is on one channel, shaped for its kind; returns the replay id."""
    bus = enable(state).bus
    if not bus.exists(channel):
        raise ValueError(f"no such channel {channel}")
    return bus.publish_raw(channel, payload, event_type)


def purge(state: OrgState, channel: str | None = None) -> int:
    """Drop retained events now, as retention would; returns how many."""
    return enable(state).bus.purge(channel)


def stats(state: OrgState) -> dict[str, Any]:
    org = enable(state)
    return {**org.bus.stats(), **org.bayeux.stats(), "config": attrs.asdict(org.config)}


# -- platform events ---------------------------------------------------------------------------


def _event_describe(
    state: OrgState, name: str, fields: Mapping[str, str], label: str
) -> dict[str, Any]:
    standard = [
        FieldInfo(name="ReplayId", type="string", length=255, createable=False),
        FieldInfo(name="CreatedDate", type="datetime", createable=False, nillable=False),
        FieldInfo(
            name="CreatedById",
            type="reference",
            length=18,
            createable=False,
            nillable=False,
            reference_to=("User",),
            relationship_name="CreatedBy",
        ),
        FieldInfo(name="EventUuid", type="string", length=36, createable=False),
    ]
    custom = [
        FieldInfo(
            name=f,
            type=t,
            label=f[:-3].replace("_", " "),
            custom=True,
            length=255 if t in _TEXT else 0,
            precision=18 if t == "double" else 0,
        )
        for f, t in fields.items()
    ]
    described = []
    for info in [*standard, *custom]:
        doc = field_describe(info)
        doc["updateable"] = False  # events are immutable once published
        described.append(doc)
    old = state.schema.describe(name)
    return {
        "actionOverrides": [],
        "activateable": False,
        "childRelationships": [],
        "compactLayoutable": False,
        "createable": True,
        "custom": True,
        "customSetting": False,
        "deletable": False,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "fields": described,
        "keyPrefix": old["keyPrefix"] if old else _event_prefix(state),
        "label": label,
        "labelPlural": label,
        "layoutable": False,
        "mergeable": False,
        "mruEnabled": False,
        "name": name,
        "queryable": False,
        "recordTypeInfos": [],
        "replicateable": False,
        "retrieveable": False,
        "searchable": False,
        "triggerable": True,
        "undeletable": False,
        "updateable": False,
        "urls": {
            "sobject": f"/services/data/v{{version}}/sobjects/{name}",
            "describe": f"/services/data/v{{version}}/sobjects/{name}/describe",
        },
    }


def _event_prefix(state: OrgState) -> str:
    for n in range(1000):
        prefix = f"e{n:02d}" if n < 100 else f"e{n}"
        if state.schema.by_prefix(prefix) is None:
            return prefix
    raise ValueError("no platform event key prefix left")


def _event_fields(state: OrgState, name: str, body: Any) -> dict[str, Any]:
    """The published event's custom fields (every one, null when not sent), validated as a
    REST create is: unknown -> INVALID_FIELD, read-only -> INVALID_FIELD_FOR_INSERT_UPDATE."""
    if not isinstance(body, dict):
        raise SfError(
            400,
            "JSON_PARSER_ERROR",
            "Can not deserialize SObject out of START_ARRAY token at [line:1, column:1]",
        )
    doc = state.schema.describe(name)
    assert doc is not None
    index = FieldIndex(name, doc["fields"])
    values: dict[str, Any] = {f: None for f, d in index.fields.items() if d.get("custom")}
    for key, value in body.items():
        if key == "attributes":
            continue
        field = index.field(key)
        if field is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {name}")
        canonical = str(field["name"])
        if not field.get("createable"):
            raise SfError(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {canonical}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                [canonical],
            )
        try:
            values[canonical] = cdc_value(coerce(field, value))
        except PayloadError as exc:
            raise SfError(400, exc.code, exc.message) from None
    return values


# -- routes ------------------------------------------------------------------------------------


def _admin_body(req: Request) -> dict[str, Any]:
    if not req.body:
        return {}
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "expected a JSON object")
    return body


def _bad(exc: Exception) -> SfError:
    return SfError(400, "INVALID_FIELD", str(exc))


async def cometd(req: Request) -> Response:
    return await enable(req.org).bayeux.handle(req)


async def cometd_no_version(req: Request) -> Response:
    return no_version_response()


async def publish_event(req: Request) -> Response:
    name = req.org.schema.canonical(req.params["name"] + "__e")
    if name is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    org = enable(req.org)
    values = _event_fields(req.org, name, req.json())
    user = req.session.user_id if req.session else req.org.config.user_id
    _, event_uuid = org.bus.publish_platform_event(name, values, user)
    enqueued = {"statusCode": "OPERATION_ENQUEUED", "message": event_uuid, "fields": []}
    body = {"id": EVENT_RECORD_ID, "success": True, "errors": [enqueued]}
    return Response.json(body, status=201)


async def admin_stats(req: Request) -> Response:
    return Response.json(stats(req.org))


async def admin_config(req: Request) -> Response:
    try:
        return Response.json(configure(req.org, **_admin_body(req)))
    except (TypeError, ValueError) as exc:
        raise _bad(exc) from None


async def admin_drop(req: Request) -> Response:
    return Response.json({"dropped": drop_all_clients(req.org)})


async def admin_gap(req: Request) -> Response:
    body = _admin_body(req)
    try:
        replay_id = inject_gap(
            req.org,
            str(body["entity"]),
            str(body.get("changeType", "GAP_UPDATE")),
            [str(i) for i in body.get("recordIds", [])],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(exc) from None
    return Response.json({"replayId": replay_id})


async def admin_publish(req: Request) -> Response:
    body = _admin_body(req)
    try:
        replay_id = publish_raw(
            req.org,
            str(body["channel"]),
            body.get("payload"),
            str(body.get("type", "created")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(exc) from None
    return Response.json({"replayId": replay_id})


async def admin_channel(req: Request) -> Response:
    body = _admin_body(req)
    try:
        define_channel(
            req.org,
            str(body["name"]),
            entities=[str(e) for e in body.get("entities", [])],
            fields=[str(f) for f in body.get("fields", [])],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(exc) from None
    return Response.json({"name": body["name"]}, status=201)


async def admin_event_type(req: Request) -> Response:
    body = _admin_body(req)
    try:
        fields = {str(k): str(v) for k, v in dict(body.get("fields", {})).items()}
        name = define_platform_event(req.org, str(body["name"]), fields)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(exc) from None
    return Response.json({"name": name, "channel": f"/event/{name}"}, status=201)


async def admin_purge(req: Request) -> Response:
    channel = _admin_body(req).get("channel")
    return Response.json({"purged": purge(req.org, None if channel is None else str(channel))})


COMETD_ROUTES: Final = (
    ("POST", "/cometd/{version}", cometd),  # no app auth: Bayeux-shaped 401s
    ("POST", "/cometd", cometd_no_version),
)
ROUTES: Final = (("POST", "/services/data/v{version}/sobjects/{name}__e", publish_event),)
_ADMIN: Final = "/_admin/streaming"
ADMIN_ROUTES: Final = (
    ("GET", _ADMIN, admin_stats),
    ("POST", _ADMIN + "/config", admin_config),
    ("POST", _ADMIN + "/drop-clients", admin_drop),
    ("POST", _ADMIN + "/gap", admin_gap),
    ("POST", _ADMIN + "/publish", admin_publish),
    ("POST", _ADMIN + "/channels", admin_channel),
    ("POST", _ADMIN + "/platform-events", admin_event_type),
    ("POST", _ADMIN + "/purge", admin_purge),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(COMETD_ROUTES, auth=False)
    router.add_all(ROUTES)
    router.add_all(ADMIN_ROUTES, auth=False)
