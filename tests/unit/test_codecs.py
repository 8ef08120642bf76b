"""Field codecs: every ISO-8601 form Salesforce may send, written back in Salesforce's form."""

from __future__ import annotations

import datetime as dt

import pytest

from salesforce_typed.core import codecs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00.000+0000", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
        ("2024-01-01T10:00:00Z", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
        ("2024-01-01T10:00:00.123Z", dt.datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)),
        (
            "2024-01-01T10:00:00+05:30",
            dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        ),
        (
            "2024-01-01T10:00:00.5-0800",
            dt.datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=dt.timezone(-dt.timedelta(hours=8))),
        ),
        ("2024-01-01T10:00", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),
    ],
)
def test_parse_datetime_forms(text: str, expected: dt.datetime) -> None:
    assert codecs.parse_datetime(text) == expected
    assert codecs.parse_datetime(text).utcoffset() == expected.utcoffset()


def test_the_c_parsed_forms_equal_the_general_parse() -> None:
    """REST's `+0000` and change events' `Z` forms go through `fromisoformat`; the result is
    what the general (regex) parse makes, UTC as the same tzinfo object; look-alikes that
    are not Salesforce datetimes are still refused."""
    for text in (
        "2024-03-05T07:08:09.123Z",
        "2024-03-05T07:08:09.123+0000",
        "1970-01-01T00:00:00.000Z",
    ):
        fast = codecs.parse_datetime(text)
        general = codecs.parse_datetime(text[:23] + "0" + text[23:])  # 4 digits: the regex
        assert fast == general and fast.tzinfo is dt.UTC is general.tzinfo
        assert fast.microsecond == general.microsecond
    for bad in ("2024-W10-2T07:08:09.123Z", "2024-03-05T07:08:09.12+0100Z"):
        with pytest.raises(codecs.FieldValueError, match="datetime"):
            codecs.parse_datetime(bad)
    with pytest.raises(ValueError):
        codecs.parse_datetime("2024-13-05T07:08:09.123Z")


def test_format_datetime_is_salesforce_rest_form() -> None:
    value = dt.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=dt.UTC)
    assert codecs.format_datetime(value) == "2024-01-01T00:00:00.123+0000"
    assert codecs.format_datetime(dt.datetime(2024, 1, 1)) == "2024-01-01T00:00:00.000+0000"
    minus = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(-dt.timedelta(hours=3, minutes=30)))
    assert codecs.format_datetime(minus) == "2024-01-01T00:00:00.000-0330"
    text = "2013-05-09T19:18:56.000+0000"
    assert codecs.format_datetime(codecs.parse_datetime(text)) == text


@pytest.mark.parametrize("bad", ["", "yesterday", "2024-13", "2024/01/01T00:00:00Z"])
def test_bad_datetime_is_a_typed_error(bad: str) -> None:
    with pytest.raises(codecs.FieldValueError, match="datetime"):
        codecs.parse_datetime(bad)


def test_date_time_multipicklist_base64() -> None:
    assert codecs.parse_date("2024-02-29") == dt.date(2024, 2, 29)
    assert codecs.format_date(dt.datetime(2024, 2, 29, 23, 0)) == "2024-02-29"
    with pytest.raises(codecs.FieldValueError):
        codecs.parse_date("2023-02-29")
    assert codecs.parse_time("10:30:00.000Z") == dt.time(10, 30)
    assert codecs.format_time(dt.time(10, 30, 5, 250000)) == "10:30:05.250Z"
    assert codecs.parse_multipicklist("gold;vip") == ["gold", "vip"]
    assert codecs.parse_multipicklist("") == []
    assert codecs.format_multipicklist(["gold", "vip"]) == "gold;vip"
    assert codecs.format_base64(b"\x00\xff") == "AP8="
    assert codecs.format_base64("/services/data/v62.0/blob") == "/services/data/v62.0/blob"
