"""Lazy parts of a compiled decode (datetimes parsed on first read, `extra_fields` made on
first read): every record reads, compares, prints, encodes, pickles and copies exactly as
the eager per-key loop decodes it, over the real REST fixtures and the fake org's rows,
from many threads at once; strict decoding stays eager."""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

import salesforce_typed_std as std
from salesforce_typed import UNSET, Record, RefreshTokenGrant, Salesforce, SObject
from salesforce_typed.core import models
from salesforce_typed.core.errors import FieldValueError
from salesforce_typed.core.models import page_decoder
from salesforce_typed.testing.server import FakeOrg


def _fixture_records(realdata: Path) -> list[dict[str, Any]]:
    """Every record (a dict with `attributes.type`) anywhere in the REST fixtures."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = []
    for path in sorted((realdata / "fixtures" / "rest").rglob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        stack.extend([json.loads(text)] if text else [])
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance((value.get("attributes") or {}).get("type"), str):
                found.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _model(record: dict[str, Any]) -> type[SObject]:
    found = getattr(std, record["attributes"]["type"], None)
    return found if isinstance(found, type) and issubclass(found, SObject) else Record


def _eager(cls: type[SObject], data: dict[str, Any]) -> SObject:
    """The per-key loop: an OrderedDict never takes a compiled decoder."""
    return cls.from_dict(OrderedDict(data))


def _lazy(cls: type[SObject], data: dict[str, Any]) -> SObject:
    """What a query page hands out: the page's compiled decoder (compiled at once)."""
    return page_decoder(cls)([data, data])(data)


def _values(record: SObject) -> dict[str, Any]:
    names = [f.attr_name for f in record.__sf_fields__] + ["attributes", "extra_fields"]
    return {name: getattr(record, name) for name in names}


def _pending(record: SObject) -> tuple[str, ...]:
    try:
        names: tuple[str, ...] = models._pending_attrs(record)
    except AttributeError:
        return ()
    return names


def _datetime_row(i: int, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{i}"},
        "Id": f"001{i:015d}",
        "Name": f"Account {i}",
        "CreatedDate": "2024-03-05T07:08:09.123+0000",
        "LastModifiedDate": "2024-03-06T01:02:03.000+0100",
    }
    row.update(more)
    return row


def test_every_fixture_record_lazy_equals_eager(realdata: Path) -> None:
    records = _fixture_records(realdata)
    assert len(records) >= 10
    deferred = 0
    for data in records:
        cls = _model(data)
        eager, lazy = _eager(cls, data), _lazy(cls, data)
        deferred += bool(_pending(lazy))
        assert lazy == eager  # equality reads every field, pending ones parsed first
        assert _pending(lazy) == ()
        assert _values(lazy) == _values(eager)
        assert repr(_lazy(cls, data)) == repr(eager)
        assert _lazy(cls, data).to_dict() == eager.to_dict() == data
        assert list(_lazy(cls, data).set_fields()) == list(eager.set_fields())
    assert deferred > 0  # the fixtures do carry datetimes in Salesforce's form


def test_a_pending_datetime_parses_once_on_read() -> None:
    record = _lazy(std.Account, _datetime_row(1))
    assert set(_pending(record)) == {"CreatedDate", "LastModifiedDate"}
    created = record.CreatedDate
    assert created == dt.datetime(2024, 3, 5, 7, 8, 9, 123000, tzinfo=dt.UTC)
    assert record.CreatedDate is created  # stored in its slot: the next read is plain
    assert _pending(record) == ("LastModifiedDate",)
    assert record.LastModifiedDate == dt.datetime(
        2024, 3, 6, 1, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert record.LastModifiedDate.utcoffset() == dt.timedelta(hours=1)
    assert record.Description is UNSET  # not sent, not pending
    assert record.extra_fields == {}
    assert record.extra_fields is record.extra_fields


def test_other_forms_and_nulls_read_as_the_eager_decode() -> None:
    for value in (None, "2024-03-05T07:08:09Z", "2024-03-05T07:08:09.123456+00:00"):
        record = _lazy(std.Account, _datetime_row(2, CreatedDate=value))
        assert set(_pending(record)) == {"CreatedDate", "LastModifiedDate"}  # no test at decode
        eager = _eager(std.Account, _datetime_row(2, CreatedDate=value))
        assert record.CreatedDate == eager.CreatedDate
        assert record.CreatedDate is record.CreatedDate  # stored once read, None included
        assert _pending(record) == ("LastModifiedDate",)
        assert record == eager


def test_one_pending_datetime_is_kept_bare_and_dropped_on_read() -> None:
    row = {k: v for k, v in _datetime_row(7).items() if k != "LastModifiedDate"}
    record = _lazy(std.Account, row)
    assert _pending(record) == ("CreatedDate",)
    assert models._pending_values(record) == row["CreatedDate"]  # no tuple made per row
    assert record.CreatedDate == dt.datetime(2024, 3, 5, 7, 8, 9, 123000, tzinfo=dt.UTC)
    assert _pending(record) == ()
    two = _lazy(std.Account, _datetime_row(8))
    assert two.LastModifiedDate.hour == 1  # two names -> one left, its value unwrapped
    assert models._pending_values(two) == "2024-03-05T07:08:09.123+0000"
    assert two.CreatedDate.microsecond == 123000


def test_a_bad_datetime_raises_on_each_read_loose_and_at_decode_strict() -> None:
    for bad in ("2024-13-05T07:08:09.123+0000", "05/03/2024 07:08"):
        row = _datetime_row(3, CreatedDate=bad)
        record = _lazy(std.Account, row)
        for _ in range(2):
            with pytest.raises((FieldValueError, ValueError)):
                _ = record.CreatedDate
        assert record.Name == "Account 3"
        assert isinstance(record.LastModifiedDate, dt.datetime)  # the others still read
        with pytest.raises((FieldValueError, ValueError)):
            std.Account.from_dict(row, strict=True)
        with pytest.raises((FieldValueError, ValueError)):
            _eager(std.Account, row)


def test_resolve_pending_parses_all_at_once_or_leaves_all_pending() -> None:
    for row in (_datetime_row(9), {k: v for k, v in _datetime_row(9).items() if k != "Name"}):
        record = _lazy(std.Account, row)
        models.resolve_pending(record)
        assert _pending(record) == () and models._pending_values(record) == ()
        assert record == _eager(std.Account, row)
        models.resolve_pending(record)  # nothing left: a no-op
    single = _lazy(std.Account, {k: v for k, v in _datetime_row(9).items() if k != "CreatedDate"})
    models.resolve_pending(single)
    assert single.LastModifiedDate.hour == 1 and _pending(single) == ()
    bad = _lazy(std.Account, _datetime_row(10, LastModifiedDate="2024-13-05T07:08:09Z"))
    with pytest.raises((FieldValueError, ValueError)):
        models.resolve_pending(bad)
    assert set(_pending(bad)) == {"CreatedDate", "LastModifiedDate"}  # nothing half done
    assert bad.CreatedDate.microsecond == 123000  # the good one still reads
    with pytest.raises((FieldValueError, ValueError)):
        _ = bad.LastModifiedDate


def test_pickle_copy_and_evolve_carry_the_parsed_values() -> None:
    row = _datetime_row(4, Brand_New__c=7)
    eager = _eager(std.Account, row)
    for clone in (
        pickle.loads(pickle.dumps(_lazy(std.Account, row))),
        copy.copy(_lazy(std.Account, row)),
        copy.deepcopy(_lazy(std.Account, row)),
    ):
        assert clone == eager
        assert _values(clone) == _values(eager)
        assert clone.extra_fields == {"Brand_New__c": 7}


def test_writes_and_deletes_after_a_read_keep_eager_meaning() -> None:
    record = _lazy(std.Account, _datetime_row(5))
    assert isinstance(record.CreatedDate, dt.datetime)
    del record.CreatedDate
    assert record.CreatedDate is UNSET  # parsed values are not pending any more
    later = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    record.LastModifiedDate = later  # a write before any read wins over the sent value
    assert record.LastModifiedDate is later
    assert record.to_dict()["LastModifiedDate"] == "2025-01-01T00:00:00.000+0000"
    record.extra_fields["x"] = 1
    assert record.extra_fields == {"x": 1}


def test_threads_reading_one_record_get_one_value() -> None:
    records = [_lazy(std.Account, _datetime_row(i)) for i in range(200)]
    seen: list[list[Any]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def read(out: list[Any]) -> None:
        start.wait()
        out.extend((r.CreatedDate, r.LastModifiedDate, r.extra_fields) for r in records)

    threads = [threading.Thread(target=read, args=(out,)) for out in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, record in enumerate(records):
        firsts = {tuple(map(id, out[i])) for out in seen}
        assert len(firsts) == 1  # every thread got the very objects stored in the slots
        assert seen[0][i][0] is record.CreatedDate and seen[0][i][2] is record.extra_fields


def test_record_rows_and_one_row_pages_stay_eager() -> None:
    row = {"attributes": {"type": "Thing__c"}, "Id": "a00000000000001AAA", "X__c": 1}
    assert page_decoder(Record)([row])(row) == Record.from_dict(row)
    one = page_decoder(std.Account)([_datetime_row(6)])  # one row: not worth compiling
    assert one == std.Account.from_dict


def test_fake_org_rows_decode_lazily_the_same(fake_org: FakeOrg) -> None:
    c = fake_org.credentials()
    grant = RefreshTokenGrant(
        client_id=c["client_id"],
        client_secret=c["client_secret"],
        refresh_token=c["refresh_token"],
        token_url=c["token_url"],
    )
    with Salesforce(auth=grant) as sf:
        for i in range(5):
            sf.create(std.Account(Name=f"Lazy {i}", Industry="Banking"))
        soql = "SELECT Id, Name, Industry, CreatedDate, LastModifiedDate FROM Account"
        got = list(sf.query(std.Account, soql))
        raw = sf.request("GET", "/query", params={"q": soql})["records"]
    assert len(got) == len(raw) >= 5
    assert all(_pending(record) for record in got)  # the query's records did defer
    for record, row in zip(got, raw, strict=True):
        assert record == _eager(std.Account, row)
        assert json.loads(json.dumps(record.to_dict())) == row
