"""Change events for every catalog object with a ChangeEvent model, as a CometD client gets them.

Each object is created, updated (a compound component set, a person-name part changed, a
field nulled), deleted and undeleted through the APIs, then the project's own listener
replays `/data/ChangeEvents` from the earliest event and must decode every one into the
object's typed `<Entity>ChangeEvent`, strictly, none "kept untyped". The raw payloads are
checked against the CDC guide's CometD rules (docs/fidelity/cdc.md): header keys, nested
compounds, `Compound.Component` in changedFields, nulls only where set to null, and empty
bodies on delete.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest

import salesforce_typed_std
from salesforce_typed import AsyncSalesforce, RefreshTokenGrant
from salesforce_typed.core.change_events import ChangeEvent
from salesforce_typed.core.compound import Address, PersonName
from salesforce_typed.stores.memory import MemoryTokenStore
from salesforce_typed.streaming import (
    EARLIEST,
    AsyncListener,
    ChangeDataEvent,
    EventDecoder,
    PushTopicEvent,
)
from salesforce_typed.testing import streaming
from salesforce_typed.testing.org import records
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.server import FakeOrg

V = "/services/data/v62.0"
DATETIME_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # UTC, as CometD sends it
# "Change Event Message Structure": what a CometD client gets in ChangeEventHeader.
COMETD_HEADER = {
    "entityName",
    "recordIds",
    "changeType",
    "changeOrigin",
    "transactionKey",
    "sequenceNumber",
    "commitTimestamp",
    "commitNumber",
    "commitUser",
    "changedFields",
}
Refs = dict[str, str]
Body = Callable[[Refs], dict[str, Any]]

# Per object, in dependency order: the create body (given the ids made so far) and the
# update. Every update sets a compound component or a name part where the object has one
# and nulls a field set at create.
SPECS: dict[str, tuple[Body, dict[str, Any]]] = {
    "Account": (
        lambda r: {"Name": "Acme", "BillingCity": "Paris", "Phone": "555-0100"},
        {"BillingCity": "Lyon", "ShippingStreet": "1 Main St", "Phone": None},
    ),
    "Contact": (
        lambda r: {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "MailingCity": "London",
            "Title": "Countess",
            "AccountId": r["Account"],
        },
        {"LastName": "King", "OtherCity": "Ockham", "Title": None},
    ),
    "Lead": (
        lambda r: {
            "FirstName": "Grace",
            "LastName": "Hopper",
            "Company": "Navy",
            "City": "Arlington",
            "Title": "RADM",
        },
        {"FirstName": "Amazing", "City": "New York", "Title": None},
    ),
    "User": (
        lambda r: {
            "Username": "jo.doe@example.com.fidelity",
            "FirstName": "Jo",
            "LastName": "Doe",
            "Email": "jo.doe@example.com",
            "Alias": "jdoe",
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": "00e5g000000AbcdAAC",
            "City": "Paris",
            "Title": "Engineer",
        },
        {"FirstName": "Joe", "City": "Lyon", "Title": None},
    ),
    "Campaign": (
        lambda r: {"Name": "Spring", "Description": "Launch"},
        {"Name": "Summer", "Description": None},
    ),
    "CampaignMember": (
        lambda r: {"CampaignId": r["Campaign"], "ContactId": r["Contact"], "Status": "Sent"},
        {"Status": "Responded"},
    ),
    "Case": (
        lambda r: {"Subject": "Broken", "Description": "It broke", "AccountId": r["Account"]},
        {"Subject": "Fixed", "Description": None},
    ),
    "ContentVersion": (
        lambda r: {
            "Title": "Notes",
            "PathOnClient": "notes.txt",
            "VersionData": base64.b64encode(b"hello").decode(),
            "Description": "First draft",
        },
        {"Title": "Notes v2", "Description": None},
    ),
    "Contract": (
        lambda r: {
            "AccountId": r["Account"],
            "StartDate": "2024-01-01",
            "ContractTerm": 12,
            "BillingCity": "Paris",
            "Description": "Annual",
        },
        {"BillingCity": "Lyon", "Description": None},
    ),
    "Event": (
        lambda r: {
            "Subject": "Call",
            "ActivityDateTime": "2024-05-01T10:00:00.000+0000",
            "DurationInMinutes": 30,
            "Description": "Intro",
        },
        {"Subject": "Meeting", "Description": None},
    ),
    "Opportunity": (
        lambda r: {
            "Name": "Deal",
            "StageName": "Prospecting",
            "CloseDate": "2024-06-30",
            "AccountId": r["Account"],
            "Description": "Big",
        },
        {"StageName": "Qualification", "Description": None},
    ),
    "Product2": (
        lambda r: {"Name": "Widget", "ProductCode": "W-1", "Description": "Blue"},
        {"Name": "Gadget", "Description": None},
    ),
    "Pricebook2": (
        lambda r: {"Name": "Retail", "Description": "Shops", "IsActive": True},
        {"Name": "Retail 2025", "Description": None},
    ),
    "PricebookEntry": (
        lambda r: {
            "Pricebook2Id": r["Pricebook2"],
            "Product2Id": r["Product2"],
            "UnitPrice": 10,
            "IsActive": True,
        },
        {"UnitPrice": 12},
    ),
    "Order": (
        lambda r: {
            "AccountId": r["Account"],
            "EffectiveDate": "2024-05-01",
            "Status": "Draft",
            "Pricebook2Id": r["Pricebook2"],
            "BillingCity": "Paris",
            "Description": "First",
        },
        {"ShippingCity": "Lyon", "Description": None},
    ),
    "OrderItem": (
        lambda r: {
            "OrderId": r["Order"],
            "PricebookEntryId": r["PricebookEntry"],
            "Quantity": 2,
            "UnitPrice": 10,
            "Description": "Two",
        },
        {"Quantity": 3, "Description": None},
    ),
    "Asset": (
        lambda r: {"Name": "Unit 1", "AccountId": r["Account"], "City": "Paris"},
        {"City": "Lyon", "SerialNumber": "S-1"},
    ),
    "Task": (
        lambda r: {"Subject": "Call back", "Description": "Soon"},
        {"Subject": "Called", "Description": None},
    ),
}


def change_event_models() -> dict[str, type[ChangeEvent]]:
    """Every `<Entity>ChangeEvent` model of the catalog, by entity."""
    found: dict[str, type[ChangeEvent]] = {}
    for info in pkgutil.iter_modules(salesforce_typed_std.__path__):
        if not info.name.endswith("_change_event"):
            continue
        module = importlib.import_module(f"salesforce_typed_std.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, ChangeEvent)
                and value.__module__ == module.__name__
            ):
                found[str(value.__sf_entity__)] = value
    return found


MODELS = change_event_models()


def describe(api: httpx.Client, sobject: str) -> dict[str, Any]:
    response = api.get(f"{V}/sobjects/{sobject}/describe")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def compounds_of(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Component -> (compound, CDC key) from a describe, person name included."""
    out: dict[str, tuple[str, str]] = {}
    names = {f["name"] for f in doc["fields"]}
    for f in doc["fields"]:
        compound = f.get("compoundFieldName")
        if compound and compound != f["name"]:
            prefix = compound.removesuffix("Address") if compound != "Name" else ""
            out[f["name"]] = (compound, f["name"].removeprefix(prefix))
    if {"FirstName", "LastName", "Name"} <= names:
        for part in ("Salutation", "FirstName", "MiddleName", "LastName", "Suffix"):
            if part in names:
                out.setdefault(part, ("Name", part))
    return out


def cdc_name(field: str, compounds: Mapping[str, tuple[str, str]]) -> str:
    parent = compounds.get(field)
    return field if parent is None else f"{parent[0]}.{parent[1]}"


def no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and no_nulls(v) for v in value.values())
    return value is not None


def expect_body(
    written: Mapping[str, Any], compounds: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """The CometD body fields `written` must produce: components nested under compounds."""
    out: dict[str, Any] = {}
    for name, value in written.items():
        parent = compounds.get(name)
        if parent is None:
            out[name] = value
        else:
            out.setdefault(parent[0], {})[parent[1]] = value
    return out


class World:
    """The objects written through the APIs, and what each write must produce."""

    def __init__(self, org: FakeOrg, api: httpx.Client) -> None:
        self.org = org
        self.api = api
        self.ids: Refs = {}
        self.published: list[dict[str, Any]] = []  # every event the org emitted
        org.state.change_listeners.append(self.published.append)
        self.docs = {name: describe(api, name) for name in SPECS}
        self.compounds = {name: compounds_of(doc) for name, doc in self.docs.items()}

    def field(self, sobject: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = next(f for f in self.docs[sobject]["fields"] if f["name"] == name)
        return found

    def create_all(self) -> None:
        for name, (body, _) in SPECS.items():
            response = self.api.post(f"{V}/sobjects/{name}", json=body(self.ids))
            assert response.status_code == 201, (name, response.text)
            self.ids[name] = response.json()["id"]

    def update_all(self) -> None:
        for name, (_, patch) in SPECS.items():
            url = f"{V}/sobjects/{name}/{self.ids[name]}"
            response = self.api.patch(url, json=patch)
            assert response.status_code == 204, (name, response.text)

    def deletable(self) -> list[str]:
        return [n for n in SPECS if self.docs[n]["deletable"]]

    def undeletable(self) -> list[str]:
        return [n for n in self.deletable() if self.docs[n]["undeletable"]]

    def delete_and_undelete(self) -> None:
        for name in reversed(self.deletable()):  # children first
            response = self.api.delete(f"{V}/sobjects/{name}/{self.ids[name]}")
            assert response.status_code == 204, (name, response.text)
        for name in self.undeletable():  # parents first
            outcome = records.undelete(self.org.state, name, self.ids[name])
            assert outcome.success, (name, outcome.errors)


@pytest.fixture
def org(fake_org: FakeOrg) -> FakeOrg:
    streaming.enable(fake_org.state)  # capture from the first write
    streaming.configure(fake_org.state, timeout_ms=500)  # quick idle polls, quick stop
    return fake_org


@pytest.fixture
def world(org: FakeOrg, api: httpx.Client) -> Iterator[World]:
    made = World(org, api)
    made.create_all()
    made.update_all()
    made.delete_and_undelete()
    yield made


def grant(org: FakeOrg) -> RefreshTokenGrant:
    c = org.credentials()
    return RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )


async def replay_all(org: FakeOrg, count: int) -> list[ChangeDataEvent]:
    """Every retained change event through the project's listener, decoded strictly."""
    kinds = ("on_create", "on_update", "on_delete", "on_undelete")
    events: list[ChangeDataEvent] = await replay(org, count, "/data/ChangeEvents", kinds)
    return events


async def replay(org: FakeOrg, count: int, channel: str, handlers: tuple[str, ...]) -> list[Any]:
    """The first `count` events of `channel` from the earliest, given to `handlers`."""
    errors: list[Exception] = []
    events: list[Any] = []
    async with AsyncSalesforce(auth=grant(org), token_store=MemoryTokenStore()) as sf:
        listener = AsyncListener.from_client(sf, strict_decoding=True, on_error=errors.append)
        service = listener.channel(channel, replay=EARLIEST)
        for handler in handlers:
            service.set_handler(handler, events.append)
        task = asyncio.create_task(listener.run())
        try:
            async with asyncio.timeout(60):  # turns a hang into a failure
                while len(events) < count and not errors and not task.done():
                    await asyncio.sleep(0.01)
        finally:
            await listener.aclose()
            await task
    assert not errors, errors
    return events


def test_every_change_event_model_has_a_scenario() -> None:
    assert set(SPECS) == set(MODELS), "add the new ChangeEvent model's object to SPECS"


async def test_every_event_decodes_into_its_typed_model(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    published = world.published
    caplog.set_level(logging.WARNING, logger="salesforce_typed.streaming")
    events = await replay_all(world.org, len(published))
    assert len(events) == len(published)
    assert "kept untyped" not in caplog.text
    strict = EventDecoder(strict=True)
    seen: dict[tuple[str, str], list[str]] = {}
    for event in events:
        entity = event.entity_name
        assert type(event.record) is MODELS[entity], (entity, type(event.record))
        again = strict.decode({"channel": event.channel, "data": event.data})
        assert isinstance(again, ChangeDataEvent) and type(again.record) is MODELS[entity]
        for record_id in event.record_ids:
            seen.setdefault((entity, record_id), []).append(str(event.change_type))
    for name in SPECS:
        kinds = seen[(name, world.ids[name])]
        want = ["CREATE", "UPDATE"]
        want += ["DELETE"] if name in world.deletable() else []
        want += ["UNDELETE"] if name in world.undeletable() else []
        assert [k for k in kinds if k in want] == want, (name, kinds)


async def test_payloads_follow_the_cometd_rules(world: World) -> None:
    published = world.published
    events = await replay_all(world.org, len(published))
    by_record: dict[tuple[str, str, str], ChangeDataEvent] = {}
    for event in events:
        for record_id in event.record_ids:
            by_record.setdefault((event.entity_name, record_id, str(event.change_type)), event)
    for name, (body, patch) in SPECS.items():
        record_id, compounds = world.ids[name], world.compounds[name]
        created = by_record[(name, record_id, "CREATE")]
        check_header(created, name, record_id)
        payload = created.data["payload"]
        assert created.header.changedFields == [], name
        assert no_nulls(payload), (name, "CometD leaves empty fields out of a create")
        wanted = expect_body(body(world.ids), compounds)
        for field, value in wanted.items():
            if isinstance(value, dict):
                assert payload[field] == value, (name, field, payload.get(field))
        flat = set(payload) & set(compounds)
        assert not flat, (name, "components travel nested only", flat)
        assert not {"Id", "IsDeleted", "SystemModstamp"} & set(payload), name
        assert {"CreatedDate", "CreatedById", "LastModifiedDate"} <= set(payload), name

        updated = by_record[(name, record_id, "UPDATE")]
        check_header(updated, name, record_id)
        payload = updated.data["payload"]
        changed = {cdc_name(f, compounds) for f in patch} | {"LastModifiedDate"}
        # and what Salesforce derives from the write (LastStageChangeDate on a new stage)
        derived = set(updated.header.changedFields) - changed
        assert changed <= set(updated.header.changedFields), name
        assert all(not world.field(name, f)["updateable"] for f in derived), (name, derived)
        shape = expect_body(patch, compounds)
        body_fields = set(payload) - {"ChangeEventHeader", "LastModifiedDate"} - derived
        assert body_fields == set(shape), (name, body_fields)
        for field, value in shape.items():
            assert payload[field] == value, (name, field, payload[field])
        assert DATETIME_Z.match(payload["LastModifiedDate"]), name

        if name in world.deletable():
            deleted = by_record[(name, record_id, "DELETE")]
            check_header(deleted, name, record_id)
            assert set(deleted.data["payload"]) == {"ChangeEventHeader"}, name
        if name in world.undeletable():
            undeleted = by_record[(name, record_id, "UNDELETE")]
            check_header(undeleted, name, record_id)
            assert no_nulls(undeleted.data["payload"]), name
            assert undeleted.header.changedFields == [], name


def check_header(event: ChangeDataEvent, entity: str, record_id: str) -> None:
    raw = event.data["payload"]["ChangeEventHeader"]
    assert set(raw) == COMETD_HEADER, (entity, set(raw) ^ COMETD_HEADER)
    assert raw["entityName"] == entity and record_id in raw["recordIds"]
    assert all(isinstance(i, str) and len(i) == 18 for i in raw["recordIds"])
    for key in ("sequenceNumber", "commitTimestamp", "commitNumber"):
        assert isinstance(raw[key], int) and not isinstance(raw[key], bool), key
    assert raw["sequenceNumber"] >= 1 and raw["commitTimestamp"] > 10**12
    assert isinstance(raw["transactionKey"], str) and raw["transactionKey"]
    assert raw["changeOrigin"].startswith("com/salesforce/api/")
    assert isinstance(raw["commitUser"], str) and len(raw["commitUser"]) == 18
    assert isinstance(raw["changedFields"], list)


async def test_typed_compounds_carry_what_changed(world: World) -> None:
    published = world.published
    events = await replay_all(world.org, len(published))
    typed = {
        (e.entity_name, rid, str(e.change_type)): e.record for e in events for rid in e.record_ids
    }
    contact = typed[("Contact", world.ids["Contact"], "CREATE")]
    assert isinstance(contact.Name, PersonName)
    assert (contact.Name.FirstName, contact.Name.LastName) == ("Ada", "Lovelace")
    assert isinstance(contact.MailingAddress, Address) and contact.MailingAddress.city == "London"
    contact = typed[("Contact", world.ids["Contact"], "UPDATE")]
    assert isinstance(contact.Name, PersonName) and contact.Name.LastName == "King"
    assert contact.Name.FirstName is None  # unchanged parts are not sent
    assert isinstance(contact.OtherAddress, Address) and contact.OtherAddress.city == "Ockham"
    assert contact.Title is None and "Title" in contact.set_fields()  # set to null
    contact = typed[("Contact", world.ids["Contact"], "UNDELETE")]  # the record as it is
    assert isinstance(contact.Name, PersonName)
    assert (contact.Name.FirstName, contact.Name.LastName) == ("Ada", "King")
    assert isinstance(contact.OtherAddress, Address) and contact.OtherAddress.city == "Ockham"
    assert "Title" not in contact.set_fields()  # empty fields are left out
    lead = typed[("Lead", world.ids["Lead"], "UPDATE")]
    assert isinstance(lead.Name, PersonName) and lead.Name.FirstName == "Amazing"
    assert isinstance(lead.Address, Address) and lead.Address.city == "New York"
    user = typed[("User", world.ids["User"], "UPDATE")]
    assert isinstance(user.Name, PersonName) and user.Name.FirstName == "Joe"
    account = typed[("Account", world.ids["Account"], "UPDATE")]
    assert isinstance(account.BillingAddress, Address) and account.BillingAddress.city == "Lyon"
    assert isinstance(account.ShippingAddress, Address)
    assert account.ShippingAddress.street == "1 Main St"
    assert account.Phone is None and "Phone" in account.set_fields()


def apply_diff(old: str, diff: str) -> tuple[str, str]:
    """A unified diff (zero context, `\\n`-split lines) applied to `old`; and its SHA-256."""
    head, _, body = diff.partition("\n@@")
    assert head.startswith("--- \n+++ "), head
    digest = head.removeprefix("--- \n+++ ")
    lines, out, at = old.split("\n"), [], 0
    for hunk in ("@@" + body).split("\n@@"):
        header, *changes = hunk.removeprefix("@@").split("\n")
        match = re.fullmatch(r" -(\d+),(\d+) \+(\d+),(\d+) @@", header)
        assert match, header
        start, count = int(match[1]), int(match[2])
        begin = start - 1 if count else start
        out += lines[at:begin]
        assert [c[1:] for c in changes if c.startswith("-")] == lines[begin : begin + count]
        out += [c[1:] for c in changes if c.startswith("+")]
        at = begin + count
    return "\n".join(out + lines[at:]), digest


async def test_long_text_changes_travel_as_a_diff(org: FakeOrg, api: httpx.Client) -> None:
    paragraphs = [
        f"Paragraph {i}: " + "cloud computing moves business apps " * 3 for i in range(12)
    ]
    text = "\n".join(paragraphs)
    assert len(text) >= 1000  # "Sending Data Differences": never under 1,000 characters
    made = api.post(f"{V}/sobjects/Account", json={"Name": "Long", "Description": text})
    account = made.json()["id"]
    url = f"{V}/sobjects/Account/{account}"
    edited = paragraphs.copy()
    edited[2] = "Paragraph 2: business apps are moving to the cloud"
    edited.insert(7, "A new paragraph in the middle.")
    new_text = "\n".join(edited)
    assert api.patch(url, json={"Description": new_text}).status_code == 204
    rewritten = "\n".join(f"Rewritten {i}" + "x" * 90 for i in range(12))  # every line
    assert api.patch(url, json={"Description": rewritten}).status_code == 204
    assert api.patch(url, json={"Description": "short"}).status_code == 204
    events = await replay_all(org, 4)
    _, diffed, whole, short = events
    raw = diffed.data["payload"]
    assert set(raw["Description"]) == {"diff"} and "diffFields" not in raw["ChangeEventHeader"]
    assert raw["ChangeEventHeader"]["changedFields"] == ["Description", "LastModifiedDate"]
    assert diffed.header.diffFields == ["Description"]  # filled by the decoder
    assert "Description" not in diffed.record.set_fields()
    rebuilt, digest = apply_diff(text, diffed.diffs["Description"])
    assert rebuilt == new_text
    assert digest == hashlib.sha256(new_text.encode()).hexdigest()
    # over 25% of the lines changed, and a value under 1,000 characters: the whole value
    assert whole.data["payload"]["Description"] == rewritten and not whole.diffs
    assert short.data["payload"]["Description"] == "short" and not short.diffs


def field(name: str, ftype: str = "string", **over: Any) -> dict[str, Any]:
    """A custom field describe: createable, updateable and nillable unless told."""
    return {
        "name": name,
        "label": name.removesuffix("__c"),
        "type": ftype,
        "length": 80 if ftype == "string" else 0,
        "createable": True,
        "updateable": True,
        "nillable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "picklistValues": [],
        "referenceTo": [],
        "relationshipName": None,
        "compoundFieldName": None,
        "precision": 0,
        "scale": 0,
        "defaultValue": None,
        **over,
    }


def site_describe() -> dict[str, Any]:
    """A custom object with a geolocation field: `Loc__c` and its `__s` components."""
    audit = {"createable": False, "updateable": False, "nillable": False}
    audit["defaultedOnCreate"] = True
    location = {"createable": False, "updateable": False}
    return {
        "name": "Site__c",
        "label": "Site",
        "labelPlural": "Sites",
        "keyPrefix": "a0S",
        "custom": True,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "urls": {},
        "childRelationships": [],
        "fields": [
            field("Id", "id", length=18, idLookup=True, **audit),
            field("IsDeleted", "boolean", **audit),
            field("Name", nillable=False),
            field("Loc__c", "location", **location),
            field("Loc__Latitude__s", "double", precision=9, scale=6, compoundFieldName="Loc__c"),
            field("Loc__Longitude__s", "double", precision=9, scale=6, compoundFieldName="Loc__c"),
            field("CreatedDate", "datetime", **audit),
            field("LastModifiedDate", "datetime", **audit),
            field("SystemModstamp", "datetime", **audit),
            field("OwnerId", "reference", referenceTo=["User"], **audit),
        ],
    }


async def test_geolocation_compounds_nest_like_addresses(org: FakeOrg, api: httpx.Client) -> None:
    org.state.schema.add_describe(site_describe())
    store(org.state).ensure_tables()
    body = {"Name": "HQ", "Loc__Latitude__s": 37.79, "Loc__Longitude__s": -122.39}
    made = api.post(f"{V}/sobjects/Site__c", json=body)
    assert made.status_code == 201, made.text
    patch = {"Loc__Longitude__s": -122.4, "Loc__Latitude__s": None}
    url = f"{V}/sobjects/Site__c/{made.json()['id']}"
    assert api.patch(url, json=patch).status_code == 204
    created, updated = (e.data["payload"] for e in await replay_all(org, 2))
    assert created["Loc__c"] == {"Latitude": 37.79, "Longitude": -122.39}
    assert not {"Loc__Latitude__s", "Loc__Longitude__s"} & set(created)
    assert updated["Loc__c"] == {"Longitude": -122.4, "Latitude": None}
    assert set(updated["ChangeEventHeader"]["changedFields"]) == {
        "Loc__c.Longitude",
        "Loc__c.Latitude",
        "LastModifiedDate",
    }


async def test_push_topics_name_compound_parts_as_fields(org: FakeOrg, api: httpx.Client) -> None:
    topic = {"entity": "Contact", "fields": ["FirstName", "LastName", "MailingCity"]}
    streaming.enable(org.state).bus.define_topic("/topic/ContactNames", **topic)
    body = {"FirstName": "Ada", "LastName": "Lovelace", "MailingCity": "London"}
    contact = api.post(f"{V}/sobjects/Contact", json=body).json()["id"]
    (event,) = await replay(org, 1, "/topic/ContactNames", ("on_message",))
    assert isinstance(event, PushTopicEvent) and event.event_type == "created"
    assert event.sobject == {"Id": contact, **body}


async def test_one_change_to_many_records_is_one_event(org: FakeOrg, api: httpx.Client) -> None:
    names = ("Babbage", "Menabrea")
    ids = [api.post(f"{V}/sobjects/Contact", json={"LastName": n}).json()["id"] for n in names]
    records_ = [{"attributes": {"type": "Contact"}, "id": i, "Title": "Analyst"} for i in ids]
    response = api.patch(f"{V}/composite/sobjects", json={"records": records_})
    assert response.status_code == 200 and all(r["success"] for r in response.json())
    *_, update = await replay_all(org, 3)
    assert update.change_type == "UPDATE" and update.record_ids == ids  # every id, in order
    assert update.data["payload"]["ChangeEventHeader"]["changedFields"] == [
        "Title",
        "LastModifiedDate",
    ]
    assert update.record.Title == "Analyst"
