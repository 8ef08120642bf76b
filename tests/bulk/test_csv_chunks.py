"""Bulk API 2.0 CSV, pure: quoting, every dialect round-tripping through Python's csv module,
values in Salesforce's form, byte-limited splitting, header and format errors."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import itertools
from collections.abc import Iterator

import pytest

import salesforce_typed_std as std
from salesforce_typed import UNSET
from salesforce_typed.jobs.csv_chunks import (
    DELIMITERS,
    LINE_ENDINGS,
    CsvDialect,
    CsvFormatError,
    CsvHeaderError,
    CsvRowTooLargeError,
    CsvStreamParser,
    FieldCatalog,
    RowEncoder,
    base64_size,
    check_columns,
    format_value,
    infer_columns,
    raw_budget,
    read_csv,
    record_rows,
    split_uploads,
)

DIALECTS = [
    CsvDialect(column_delimiter=d, line_ending=e)  # type: ignore[arg-type]
    for d in DELIMITERS
    for e in LINE_ENDINGS
]
NASTY = [
    "plain",
    "",
    'say "hi"',
    '"',
    '""',
    "a,b",
    "a;b|c^d`e\tf",
    "two\nlines",
    "crlf\r\ninside",
    "bare\rreturn",
    " padded ",
    "#N/A",
    "ünïcødé ✓ 日本",
    "trailing\n",
]


def _encode(rows: list[list[str]], dialect: CsvDialect, header: list[str]) -> bytes:
    return b"".join(p.data for p in split_uploads(header, rows, dialect=dialect))


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: f"{d.column_delimiter}-{d.line_ending}")
def test_every_dialect_round_trips_through_python_csv(dialect: CsvDialect) -> None:
    header = ["Name", "Description", "Other"]
    rows = [list(t) for t in itertools.permutations(NASTY, 3)][:300]
    data = _encode(rows, dialect, header)
    parsed = list(csv.reader(io.StringIO(data.decode(), newline=""), delimiter=dialect.delimiter))
    assert parsed == [header, *rows]
    # every record ends with the dialect's terminator, and only LF/CRLF ever end a record
    assert data.endswith(dialect.terminator.encode())
    # our own streaming parser agrees, fed one byte at a time (cuts inside quotes and UTF-8)
    parser = CsvStreamParser(dialect)
    streamed = [row for i in range(len(data)) for row in parser.feed(data[i : i + 1])]
    assert streamed + parser.close() == [header, *rows]


def test_quoting_is_minimal_and_doubles_quotes() -> None:
    data = _encode([["Acme", 'a "b", c'], ["x", "line\nbreak"]], CsvDialect(), ["Name", "D"])
    assert data == b'Name,D\nAcme,"a ""b"", c"\nx,"line\nbreak"\n'
    tab = RowEncoder(CsvDialect(column_delimiter="TAB", line_ending="CRLF"))
    assert tab.line(["a,b", "c\td"]) == b'a,b\t"c\td"\r\n'


def test_a_bare_carriage_return_is_quoted_even_for_lf_jobs() -> None:
    # Python's csv writer with an LF terminator leaves "\r" unquoted; Salesforce would split
    assert RowEncoder(CsvDialect()).line(["a\rb", "c"]) == b'"a\rb",c\n'


def test_values_in_salesforce_form() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert format_value(None) == "#N/A"
    assert format_value(UNSET) == ""
    assert format_value(True) == "true" and format_value(False) == "false"
    assert format_value(42) == "42"
    assert format_value(1e20) == "100000000000000000000"
    assert format_value(0.1) == "0.1"
    assert format_value(decimal.Decimal("1E+3")) == "1000"
    when = dt.datetime(2024, 5, 1, 14, 30, 5, 123456, tzinfo=paris)
    assert format_value(when) == "2024-05-01T12:30:05.123Z"
    assert format_value(dt.datetime(2024, 5, 1, 12, 0)) == "2024-05-01T12:00:00.000Z"  # naive: UTC
    assert format_value(dt.date(2024, 2, 29)) == "2024-02-29"
    assert format_value(dt.time(9, 5, 1, 7000)) == "09:05:01.007Z"
    assert format_value(std.AccountIndustryPicklist.BANKING) == "Banking"
    assert format_value(["a", "b"]) == "a;b"
    assert format_value(b"\x00\x01") == base64.b64encode(b"\x00\x01").decode()
    with pytest.raises(TypeError):
        format_value(object())


def _rows(n: int) -> Iterator[list[str]]:
    for i in range(n):
        yield [f"Account {i:03d}", "x" * (i % 7)]


def test_split_by_bytes_with_a_tiny_limit() -> None:
    limit = 160  # after base64: 120 raw bytes per upload
    pieces = list(split_uploads(["Name", "Pad"], _rows(50), max_upload_bytes=limit, piece_rows=7))
    uploads: dict[int, bytes] = {}
    for piece in pieces:
        uploads[piece.job] = uploads.get(piece.job, b"") + piece.data
    assert len(uploads) > 5 and sorted(uploads) == list(range(len(uploads)))
    rows: list[list[str]] = []
    for data in uploads.values():
        assert len(data) <= raw_budget(limit) and base64_size(len(data)) <= limit
        parsed = list(csv.reader(io.StringIO(data.decode(), newline="")))
        assert parsed[0] == ["Name", "Pad"]  # every upload starts with the header
        rows.extend(parsed[1:])
    assert rows == list(_rows(50))  # no row lost, split or reordered
    assert sum(p.rows for p in pieces) == 50


def test_split_is_lazy() -> None:
    endless = ([str(i)] for i in itertools.count())
    first = next(split_uploads(["Name"], endless, piece_rows=100))
    assert first.job == 0 and first.rows == 100


def test_split_refuses_rows_larger_than_an_upload() -> None:
    with pytest.raises(CsvRowTooLargeError, match="row 3"):
        list(split_uploads(["Name"], [["a"], ["b"], ["x" * 500]], max_upload_bytes=200))
    with pytest.raises(CsvRowTooLargeError, match="header"):
        list(split_uploads(["N" * 300], [["a"]], max_upload_bytes=200))
    assert list(split_uploads(["Name"], [])) == []


# -- header validation ---------------------------------------------------------------------

ACCOUNT = FieldCatalog.from_model(std.Account)
CONTACT = FieldCatalog.from_model(std.Contact)


def test_columns_are_canonicalised_and_relationships_accepted() -> None:
    assert check_columns(["name", "INDUSTRY"], ACCOUNT, "insert") == ["Name", "Industry"]
    assert check_columns(["LastName", "account.AccountNumber"], CONTACT, "insert") == [
        "LastName",
        "Account.AccountNumber",
    ]


def test_unknown_columns_are_all_named() -> None:
    with pytest.raises(CsvHeaderError) as err:
        check_columns(["Name", "Nmae", "Foo.Bar", "Industry"], ACCOUNT, "insert")
    assert err.value.columns == ("Nmae", "Foo.Bar")
    assert "Account has no field Nmae, Foo.Bar" in str(err.value)


@pytest.mark.parametrize(
    ("columns", "operation", "external", "message"),
    [
        (["Name", "name"], "insert", None, "duplicate column Name"),
        (["Name", ""], "insert", None, "empty column name"),
        (["Name"], "update", None, "update needs an Id column"),
        (["Id", "Name"], "delete", None, "delete takes only the Id column"),
        (["Name"], "hardDelete", None, "hardDelete needs an Id column"),
        (["Name"], "upsert", "Name", "Name is not an external id field"),
        (["Name"], "upsert", "Id", "upsert needs a Id column"),
    ],
)
def test_header_rules_per_operation(
    columns: list[str], operation: str, external: str | None, message: str
) -> None:
    with pytest.raises(CsvHeaderError, match=message):
        check_columns(columns, ACCOUNT, operation, external)


def test_upsert_without_external_id_field_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="external_id_field"):
        check_columns(["Id"], ACCOUNT, "upsert")


# -- reading CSV files ---------------------------------------------------------------------


def test_an_unbalanced_quote_names_the_line_it_opened_on() -> None:
    text = 'Name,Description\nA,ok\nB,"never\nclosed\nC,x\n'
    with pytest.raises(CsvFormatError) as err:
        list(read_csv(io.StringIO(text, newline="")))
    assert err.value.line == 3 and "unbalanced quote" in str(err.value)


def test_a_ragged_row_names_its_line() -> None:
    text = 'Name,Description\nA,"multi\nline"\nB,x,extra\n'
    with pytest.raises(CsvFormatError) as err:
        list(read_csv(io.StringIO(text, newline="")))
    assert err.value.line == 4 and "3 cells where the header has 2" in str(err.value)


def test_read_csv_takes_every_dialect() -> None:
    text = 'Name|Description\r\nA|"x|y"\r\n'
    rows = list(read_csv(io.StringIO(text, newline=""), CsvDialect(column_delimiter="PIPE")))
    assert rows == [["Name", "Description"], ["A", "x|y"]]


def test_stream_parser_refuses_an_unbalanced_end() -> None:
    parser = CsvStreamParser()
    assert parser.feed(b'a,b\n"open,') == [["a", "b"]]
    with pytest.raises(CsvFormatError):
        parser.close()


# -- records as rows -----------------------------------------------------------------------


def test_models_become_rows_of_their_writable_set_fields() -> None:
    first = std.Account(Name="Acme", Industry=None, Id="001000000000001AAA")
    assert infer_columns(first, ACCOUNT, "insert") == ["Name", "Industry"]  # Id: not createable
    assert infer_columns(first, ACCOUNT, "update") == ["Id", "Name", "Industry"]
    records = [first, std.Account(Name="Beta"), std.Account(Name="Gamma", Industry="Banking")]
    rows = list(record_rows(records, ["Name", "Industry"], ACCOUNT, "insert"))
    assert rows == [["Acme", "#N/A"], ["Beta", ""], ["Gamma", "Banking"]]


def test_a_parent_by_external_id_becomes_a_dotted_column() -> None:
    contact = std.Contact(LastName="Ng", Account=std.Account(AccountNumber="A-1"))
    assert infer_columns(contact, CONTACT, "insert") == ["LastName", "Account.AccountNumber"]
    rows = record_rows([contact], ["LastName", "Account.AccountNumber"], CONTACT, "insert")
    assert list(rows) == [["Ng", "A-1"]]
    mapping = {"LastName": "Ng", "Account": {"AccountNumber": "A-2"}}
    assert infer_columns(mapping, CONTACT, "insert") == ["LastName", "Account.AccountNumber"]
    rows = record_rows([mapping], ["LastName", "Account.AccountNumber"], CONTACT, "insert")
    assert list(rows) == [["Ng", "A-2"]]


def test_a_later_record_setting_another_field_is_refused_not_dropped() -> None:
    records = [{"Name": "a"}, {"Name": "b", "Website": "https://b.example"}]
    with pytest.raises(CsvHeaderError, match="record 1 sets Website"):
        list(record_rows(records, ["Name"], ACCOUNT, "insert"))
    models = [std.Account(Name="a"), std.Account(Name="b", Phone="1")]
    with pytest.raises(CsvHeaderError, match="record 1 sets Phone"):
        list(record_rows(models, ["Name"], ACCOUNT, "insert"))
    # read-only fields of a model are left out as REST payloads leave them out
    read_back = std.Account(Name="c", CreatedDate=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert list(record_rows([read_back], ["Name"], ACCOUNT, "insert")) == [["c"]]
