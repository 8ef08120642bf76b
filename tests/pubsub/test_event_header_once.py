"""`EventDecoder` parses a change event's header once: the event's `header` is the record's
`ChangeEventHeader`, equal to a header parsed on its own, except where the decoder fills
`diffFields` (CometD does not send it), which leaves the record's header as sent."""

from __future__ import annotations

from typing import Any

import attrs

from salesforce_typed.core.change_events import ChangeEventHeader, ChangeType
from salesforce_typed.streaming import ChangeDataEvent
from salesforce_typed.streaming.events import EventDecoder, GenericChangeEvent
from salesforce_typed_std import AccountChangeEvent


def _message(payload: dict[str, Any]) -> dict[str, Any]:
    data = {"schema": "s", "payload": payload, "event": {"replayId": 7}}
    return {"channel": "/data/AccountChangeEvent", "data": data}


def _header(**extra: Any) -> dict[str, Any]:
    return {
        "entityName": "Account",
        "recordIds": ["001A", "001B"],
        "changeType": "UPDATE",
        "changeOrigin": "com/salesforce/api/rest/62.0",
        "transactionKey": "t1",
        "sequenceNumber": 1,
        "commitTimestamp": 1714564800000,
        "commitNumber": 10,
        "commitUser": "005A",
        "changedFields": ["Name", "Description"],
        "custom": "kept",
        **extra,
    }


def test_the_header_is_parsed_once_and_shared_with_the_record() -> None:
    raw = _header(nulledFields=[], diffFields=[])
    for _ in range(3):  # the model's compiled decoder takes over from the second sighting
        event = EventDecoder().decode(_message({"ChangeEventHeader": raw, "Name": "Acme"}))
        assert isinstance(event, ChangeDataEvent)
        assert isinstance(event.record, AccountChangeEvent)
        assert event.header is event.record.ChangeEventHeader
        assert event.header == ChangeEventHeader.from_dict(raw)
        assert event.header.changeType is ChangeType.UPDATE
        assert event.header.extra_fields == {"custom": "kept"}
        assert event.header.to_dict() == raw
        assert event.record.Name == "Acme"


def test_a_diff_fills_the_events_header_and_leaves_the_records_as_sent() -> None:
    raw = _header()  # CometD: no diffFields
    payload = {"ChangeEventHeader": raw, "Name": "Acme", "Description": {"diff": "--- \n+++ x"}}
    event = EventDecoder().decode(_message(payload))
    assert isinstance(event, ChangeDataEvent)
    assert event.header.diffFields == ["Description"]
    assert event.diffs == {"Description": "--- \n+++ x"}
    record_header = event.record["ChangeEventHeader"]
    assert isinstance(record_header, ChangeEventHeader)
    assert record_header.diffFields == [] and record_header.to_dict() == raw
    assert event.header == ChangeEventHeader.from_dict({**raw, "diffFields": ["Description"]})
    assert "Description" not in event.record.set_fields()


def test_a_payload_the_model_refuses_still_gets_its_header() -> None:
    payload = {"ChangeEventHeader": _header(), "BillingAddress": "not an address"}
    event = EventDecoder(strict=False).decode(_message(payload))
    assert isinstance(event, ChangeDataEvent)
    assert isinstance(event.record, GenericChangeEvent)  # kept untyped
    assert event.header == ChangeEventHeader.from_dict(_header())
    assert event.record.extra_fields["BillingAddress"] == "not an address"


def test_a_header_of_the_twelve_keys_reads_as_the_general_path_makes_it() -> None:
    """The common header (every key, none null) is built directly; it equals, field for
    field, what the general path makes of it, and writes back the same dict."""
    for change_type in ("CREATE", "GAP_OVERFLOW", "SOMETHING_NEW"):
        raw = _header(nulledFields=[], diffFields=["Description"], changeType=change_type)
        del raw["custom"]
        fast = ChangeEventHeader.from_dict(raw)
        general = ChangeEventHeader.from_dict(raw | {"custom": None})  # an extra key: general
        assert fast == attrs.evolve(general, extra_fields={}) and fast.extra_fields == {}
        assert fast.to_dict() == raw and list(fast.to_dict()) == list(raw)
        assert fast.changedFields is raw["changedFields"]  # shared, as the general path does
        assert fast.changeType == change_type
        assert isinstance(fast.changeType, ChangeType) == (change_type != "SOMETHING_NEW")
    with_null = _header(nulledFields=[], diffFields=None)
    del with_null["custom"]
    assert ChangeEventHeader.from_dict(with_null).diffFields == []  # null: the default
