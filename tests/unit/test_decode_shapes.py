"""Compiled per-shape decoders (core/codecs_shapes.py): the same records as the per-key loop,
for every real REST fixture record, with strict mode, unknown keys and the cache bound kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import salesforce_typed_std as std
from salesforce_typed import UNSET, Address, Record, SObject, UnknownFieldError
from salesforce_typed.core import codecs_shapes, models
from salesforce_typed.core.codecs_shapes import MAX_SHAPES, Shapes
from salesforce_typed.core.compound import PersonName
from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import FieldValueError
from salesforce_typed.core.models import page_records, row_decoder
from salesforce_typed.rest.query import build_query, has_subquery


def _walk(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value
    if isinstance(value, dict | list):
        for child in children:
            yield from _walk(child)


def _fixture_records(realdata: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted((realdata / "fixtures" / "rest").rglob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        for value in _walk(json.loads(text)) if text else ():
            attributes = value.get("attributes") if isinstance(value, dict) else None
            if isinstance(attributes, dict) and isinstance(attributes.get("type"), str):
                found.append(value)
    return found


def _model(record: dict[str, Any]) -> type[SObject]:
    found = getattr(std, record["attributes"]["type"], None)
    return found if isinstance(found, type) and issubclass(found, SObject) else Record


def _loop(cls: type[SObject], data: dict[str, Any]) -> SObject:
    """The per-key loop alone: a shape never seen before is not compiled."""
    models._SHAPES.pop(cls, None)
    return cls.from_dict(data)


def _state(record: SObject) -> tuple[Any, ...]:
    return type(record), record.to_dict(), repr(record), record.extra_fields


def test_every_fixture_record_decodes_the_same_compiled(realdata: Path) -> None:
    records = _fixture_records(realdata)
    assert len(records) >= 10
    compiled = 0
    for data in records:
        cls = _model(data)
        expected = _state(_loop(cls, data))
        cls.from_dict(data)  # the second sighting compiles the shape
        assert tuple(data) in models._SHAPES[cls].compiled
        assert _state(cls.from_dict(data)) == expected
        assert _state(row_decoder(cls)(data)) == expected
        compiled += 1
    assert compiled == len(records)


def _account_row(i: int, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{i}"},
        "Id": f"001Dn00000{i:05d}AAA",
        "Name": f"Account {i}",
        "Industry": "Banking",
        "CreatedDate": "2024-01-01T10:00:00.000+0000",
        "BillingAddress": {"city": "Paris", "country": "France"},
        "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
    }
    row.update(more)
    return row


def test_compiled_values_are_typed_nulls_kept_and_unknown_values_tolerated() -> None:
    decode = row_decoder(std.Account)
    rows = [
        _account_row(1),
        _account_row(2, Industry="Space Mining", CreatedDate="2024-01-01T10:00:00Z"),
        _account_row(3, Industry=None, CreatedDate=None, BillingAddress=None, Owner=None),
    ]
    first, second, third = (decode(dict(r)) for r in rows)
    assert tuple(rows[0]) in models._SHAPES[std.Account].compiled
    assert first.Industry is std.AccountIndustryPicklist.BANKING
    assert first.CreatedDate == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert first.BillingAddress is not None and first.BillingAddress.city == "Paris"
    assert isinstance(first.Owner, std.User) and first.Owner.Name == "Ada"
    assert second.Industry == "Space Mining" and type(second.Industry) is str
    assert second.CreatedDate == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert (third.Industry, third.CreatedDate, third.BillingAddress, third.Owner) == (None,) * 4
    assert third.Phone is UNSET and third.extra_fields == {}
    assert third.to_dict() == rows[2]


def test_a_page_generator_yields_what_from_dict_decodes_row_by_row() -> None:
    models._SHAPES.pop(std.Account, None)
    first = _account_row(1)
    swapped = {("Phone" if k == "Industry" else k): v for k, v in _account_row(3).items()}
    page = [
        first,
        _account_row(2, Industry="Space Mining", CreatedDate=None),
        swapped,  # as many keys, one other: the row goes to from_dict, the next is compiled
        _account_row(4, Brand_New__c=7),  # one key more
        {"attributes": {"type": "Account"}, "Id": "001Dn0000000005AAA"},
        _account_row(6, Industry=None),
    ]
    got = list(page_records(std.Account)(page))
    assert tuple(first) in models._SHAPES[std.Account].pages
    assert [_state(r) for r in got] == [_state(_loop(std.Account, dict(r))) for r in page]
    assert got[0].Industry is std.AccountIndustryPicklist.BANKING
    assert got[2].Phone == "Banking" and got[2].Industry is UNSET
    assert got[3].extra_fields == {"Brand_New__c": 7}
    one = page_records(std.Account)([first])  # one row: from_dict, nothing compiled for it
    assert [_state(r) for r in one] == [_state(_loop(std.Account, first))]


def test_a_bad_datetime_still_raises_on_the_compiled_path() -> None:
    rows = [_account_row(i, CreatedDate="2024-13-01T10:00:00.000+0000") for i in range(2)]
    rows[0]["CreatedDate"] = "2024-01-01T10:00:00.000+0000"
    std.Account.from_dict(rows[0])
    std.Account.from_dict(rows[0])
    assert tuple(rows[1]) in models._SHAPES[std.Account].compiled
    # Loose: the compiled path parses a datetime in Salesforce's form on first read, so a bad
    # one raises there (each time it is read); strict decoding still raises at decode.
    record = std.Account.from_dict(rows[1])
    for _ in range(2):
        with pytest.raises((FieldValueError, ValueError)):
            _ = record.CreatedDate
    with pytest.raises((FieldValueError, ValueError)):
        std.Account.from_dict(rows[1], strict=True)


def test_unknown_keys_kept_loose_and_rejected_strict_after_compiling() -> None:
    models._SHAPES.pop(std.Account, None)  # earlier tests may have filled its 32 shapes
    row = _account_row(1, Brand_New__c=7)
    for _ in range(3):
        record = std.Account.from_dict(row)
        assert record.extra_fields == {"Brand_New__c": 7}
        assert record.to_dict() == row
    assert tuple(row) in models._SHAPES[std.Account].compiled
    with pytest.raises(UnknownFieldError):
        std.Account.from_dict(row, strict=True)
    with pytest.raises(FieldValueError):
        std.Account.from_dict(_account_row(2, Name=5), strict=True)


def test_compiled_records_are_independent() -> None:
    row = _account_row(1, Brand_New__c=[1])
    a, b, c = (std.Account.from_dict(row) for _ in range(3))
    assert a.extra_fields is not b.extra_fields is not c.extra_fields
    c.extra_fields["x"] = 1
    c.Name = "changed"
    assert b.extra_fields == {"Brand_New__c": [1]} and b.Name == "Account 1"


def test_row_decoder_follows_a_change_of_shape() -> None:
    decode = row_decoder(std.Contact)
    one = {"attributes": {"type": "Contact"}, "Id": "003000000000001AAA", "LastName": "A"}
    two = {"attributes": {"type": "Contact"}, "LastName": "B", "Id": "003000000000002AAA"}
    three = {"LastName": "C"}
    for row in (one, one, two, two, one, three, three, two):
        record = decode(row)
        assert record.to_dict() == row and isinstance(record, std.Contact)


def test_a_shape_compiles_on_its_second_sighting_up_to_the_bound() -> None:
    shapes = Shapes()
    for n in range(MAX_SHAPES + 10):
        keys = (f"F{n}",)
        assert not shapes.second_sighting(keys)
        room = shapes.second_sighting(keys)
        assert room is (n < MAX_SHAPES)
        if room:
            shapes.compiled[keys] = dict
    assert len(shapes.compiled) == MAX_SHAPES
    fresh = Shapes()
    for n in range(codecs_shapes.MAX_SEEN * 2 + 5):
        fresh.second_sighting((str(n),))
        assert len(fresh.seen) <= codecs_shapes.MAX_SEEN


def test_many_shapes_of_one_class_never_grow_the_cache_past_the_bound() -> None:
    class Wide(Record):
        pass

    for n in range(MAX_SHAPES * 3):
        row = {"attributes": {"type": "Wide"}, f"F{n}": n}
        for _ in range(2):
            assert Wide.from_dict(row).extra_fields == {f"F{n}": n}
    assert len(models._SHAPES[Wide].compiled) == MAX_SHAPES


def test_only_a_query_with_a_subquery_looks_for_child_pages() -> None:
    assert not has_subquery(build_query("SELECT Id, Name FROM Account"))
    assert not has_subquery(build_query("SELECT Id FROM Account WHERE Name = 'select'"))
    assert has_subquery(build_query("SELECT Id, (SELECT Id FROM Contacts) FROM Account"))
    assert has_subquery(build_query("select Id,(\n  select Id from Contacts) from Account"))
    # A semi-join looks the same: the check it keeps is only wasted work, never a miss.
    assert has_subquery(
        build_query("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)")
    )
    assert not has_subquery(RequestSpec(method="GET", path="/query"))


@pytest.mark.parametrize(
    "value",
    [
        {"city": "Paris", "country": "France", "latitude": 48.85, "longitude": 2.35},
        {"street": None, "city": None, "state": None, "postalCode": None, "country": None},
        {},
        {"City": "Paris", "Country": "France"},  # CDC casing: from_dict's own path
        {"city": "Paris", "planet": "Earth"},  # an unknown component: kept in extra_fields
    ],
)
def test_compound_values_decode_the_same_compiled(value: dict[str, Any]) -> None:
    decode = codecs_shapes.compound_decoder(Address)
    expected = Address.from_dict(value)
    for _ in range(3):
        got = decode(dict(value))
        assert got == expected and got.to_dict() == value
        assert (got._present, got._capitalized) == (expected._present, expected._capitalized)
        assert got.extra_fields == expected.extra_fields
        assert got.extra_fields is not decode(dict(value)).extra_fields


def test_person_names_decode_the_same_compiled_in_either_casing() -> None:
    decode = codecs_shapes.compound_decoder(PersonName)
    for value in ({"FirstName": "Ada", "LastName": "Lovelace"}, {"firstName": "Ada"}):
        expected = PersonName.from_dict(value)
        for _ in range(3):
            name = decode(value)
            assert name == expected and name.to_dict() == value
            assert name._present == expected._present


def test_threads_decoding_one_class_agree() -> None:
    import threading

    class Shared(Record):
        pass

    rows = [{"attributes": {"type": "Shared"}, f"F{i % 40}": i, "G": str(i)} for i in range(400)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        start.wait()
        try:
            for row in rows:
                assert Shared.from_dict(row).to_dict() == row
        except BaseException as exc:  # reported below, with the thread's own failure
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert 0 < len(models._SHAPES[Shared].compiled) <= MAX_SHAPES
