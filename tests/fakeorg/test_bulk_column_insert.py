"""The fake org's column-by-column Bulk insert (`records.ColumnInsert`) against the body-by-
body path it stands in for: the same result sets, stored rows and change events, for clean
columns, empty and `#N/A` cells, unreadable cells, too-long text, missing required fields,
numbers out of range, restricted picklists, references and the owner, and for what it leaves
to the body path (relationship columns, ragged rows, derived fields)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from salesforce_typed.core.unset import UNSET
from salesforce_typed.testing.bulk2 import ingest
from salesforce_typed.testing.bulk2.jobs import BulkJob, jobs, spool
from salesforce_typed.testing.org import records
from salesforce_typed.testing.org.records import ColumnInsert, Writer, require_index
from salesforce_typed.testing.org.state import OrgConfig, OrgState
from salesforce_typed.testing.org.store import store
from salesforce_typed.testing.soql import id18

NOW = 1_767_225_600.0  # a fixed clock and user: both orgs stamp the same audit fields
ORG, USER = id18("00D5g0000012345"), id18("0055g0000054321")

ACCOUNT = ["Name", "Industry", "AnnualRevenue", "NumberOfEmployees", "BillingCity", "Phone"]
CITIES = ["Paris", 'Saint "Quoted" City', "Comma, Pipe | Semi;", "Line\nbreak", ""]
CLEAN = [
    [f"Acme {i}", "Energy", f"{1000 + i}.5", str(i), CITIES[i % 4], "555-0100"] for i in range(50)
]
MIXED = [
    ["Acme", "", "12", "3", "", ""],  # empty cells: left out, defaults apply
    ["#N/A", "Energy", "1", "2", "Paris", "1"],  # Name null: REQUIRED_FIELD_MISSING
    ["", "Energy", "1", "2", "Paris", "1"],  # Name left out: REQUIRED_FIELD_MISSING
    ["Bad number", "Energy", "abc", "2", "Paris", "1"],  # unreadable currency
    ["Bad int", "Energy", "1", "2.5", "x" * 41, "1"],  # unreadable int (wins over the city)
    ["Long city", "Energy", "1", "2", "x" * 41, "1"],  # STRING_TOO_LONG
    ["Many", "Energy", "1", "123456789", "Paris", "#N/A"],  # NUMBER_OUTSIDE_VALID_RANGE
    ["x" * 256, "Energy", "1e30", "1", "Paris", "1"],  # two check errors, in column order
    ["Inf", "Energy", "inf", "1", "Paris", "1"],
    ["Nan", "Energy", "nan", "1", "Paris", "1"],
    ["Fine", "#N/A", "#N/A", "#N/A", "#N/A", "#N/A"],
    ["Int as float", "Energy", "7", "40.0", "Paris", "1"],
]


def _run(
    header: list[str],
    slices: list[list[list[str]]],
    *,
    sobject: str = "Account",
    columns: bool,
    monkeypatch: pytest.MonkeyPatch,
    operation: str = "insert",
    dialect: tuple[str, str] = ("COMMA", "LF"),
) -> dict[str, Any]:
    """Run `slices` as one ingest job in a fresh org; `columns=False` turns ColumnInsert off."""
    used: list[int] = []
    with monkeypatch.context() as patch:
        if not columns:
            patch.setattr(ColumnInsert, "plan", classmethod(lambda cls, *a: None))
        else:
            real = ColumnInsert.run

            def counted(self: ColumnInsert, cols: list[list[Any]]) -> Any:
                used.append(len(cols[0]))
                return real(self, cols)

            patch.setattr(ColumnInsert, "run", counted)
        state = OrgState(OrgConfig(org_id=ORG, user_id=USER), clock=lambda: NOW)
        events: list[dict[str, Any]] = []
        state.change_listeners.append(events.append)
        parent = Writer(state).create("Account", [{"Name": "Parent"}])[0].id
        table = jobs(state)
        job = BulkJob(
            id="750x",
            kind="ingest",
            operation=operation,
            object=sobject,
            api_version="59.0",
            created_by="u",
            created_date="d",
            system_modstamp="d",
            column_delimiter=dialect[0],
            line_ending=dialect[1],
        )
        job.successful, job.failures = spool(), spool()
        work = ingest._Slice(table, job, ingest._Plan(require_index(state, sobject), header))
        for rows in slices:
            work.run([[cell.replace("{parent}", str(parent)) for cell in r] for r in rows])
        st = store(state)
        cursor = st.conn.execute(f'SELECT * FROM "{sobject}" ORDER BY "Id"')
        stored = [dict(zip([d[0] for d in cursor.description], row, strict=True)) for row in cursor]
    for event in events:  # a random key per transaction, a process-wide counter
        event["ChangeEventHeader"].pop("transactionKey", None)
        event["ChangeEventHeader"].pop("commitNumber", None)
    job.successful.seek(0)
    job.failures.seek(0)
    ok, failed = job.successful.read(), job.failures.read()
    job.successful.close()
    job.failures.close()
    st.close()
    return {
        "ok": ok,
        "failed": failed,
        "counts": (job.processed, job.failed),
        "stored": stored,
        "events": events,
        "used": used,
    }


def _same(header: list[str], slices: list[list[list[str]]], **kw: Any) -> dict[str, Any]:
    fast = _run(header, slices, columns=True, **kw)
    slow = _run(header, slices, columns=False, **kw)
    for key in ("ok", "failed", "counts", "events"):
        assert fast[key] == slow[key], key
    assert len(fast["stored"]) == len(slow["stored"])
    for mine, theirs in zip(fast["stored"], slow["stored"], strict=True):
        assert {k: v for k, v in mine.items() if theirs[k] != v} == {}, theirs
    return fast


def _lines(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def test_clean_and_mixed_slices_match_the_body_path(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _same(ACCOUNT, [CLEAN, MIXED, CLEAN[:3]], monkeypatch=monkeypatch)
    assert out["used"] == [50, 10, 3]  # the two unreadable rows never reach the writer
    failed = _lines(out["failed"])
    assert out["counts"] == (65, 8) and len(failed) == 8
    errors = [row[1].split(":")[0] for row in failed]
    assert errors == [
        "REQUIRED_FIELD_MISSING",
        "REQUIRED_FIELD_MISSING",
        "INVALID_FIELD",
        "INVALID_FIELD",
        "STRING_TOO_LONG",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "STRING_TOO_LONG",
        "NUMBER_OUTSIDE_VALID_RANGE",
    ]
    assert len(out["events"]) == len(out["stored"]) == 1 + 50 + 4 + 3


@pytest.mark.parametrize("dialect", [("PIPE", "CRLF"), ("TAB", "LF"), ("SEMICOLON", "LF")])
def test_result_sets_keep_the_jobs_dialect(
    dialect: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _same(ACCOUNT, [CLEAN, MIXED], dialect=dialect, monkeypatch=monkeypatch)
    assert out["used"] == [50, 10]
    assert out["ok"].count(b"\r\n") == (54 if dialect[1] == "CRLF" else 0)


def test_every_error_of_a_row_matches_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run`'s per-row errors are `Writer.create`'s outcomes, all of them, in order."""
    names = ["Name", "AnnualRevenue", "NumberOfEmployees", "BillingCity", "ParentId"]
    bodies: list[dict[str, Any]] = [
        {"Name": "x" * 256, "AnnualRevenue": 1e30, "BillingCity": "y" * 41},
        {"Name": None, "NumberOfEmployees": 10**9, "ParentId": "001000000000000"},
        {"AnnualRevenue": 5.0, "ParentId": "bogus"},
        {"Name": "Fine", "NumberOfEmployees": 3},
    ]
    expected = [
        o.errors or "id"
        for o in Writer(OrgState(OrgConfig(org_id=ORG, user_id=USER))).create("Account", bodies)
    ]
    state = OrgState(OrgConfig(org_id=ORG, user_id=USER))
    plan = ColumnInsert.plan(Writer(state), require_index(state, "Account"), names)
    assert plan is not None
    columns = [[b.get(n, UNSET) for b in bodies] for n in names]
    got = [d if isinstance(d, list) else "id" for d in plan.run(columns) or []]
    assert got == expected
    assert [len(e) for e in got if isinstance(e, list)] == [3, 3, 2]


# (object, CSV, how many rows reach ColumnInsert): references (one to a missing record), the
# owner, picklists, a double and a url; checkboxes (an unreadable one) and restricted
# picklists; dates and datetimes (unreadable ones) and a lookup
TYPED = [
    (
        "Account",
        """Name,ParentId,OwnerId,Rating,BillingLatitude,Website
A,{parent},,Hot,45.5,example.com
B,001000000000000,#N/A,Cold,1,
C,not an id,,,,
D,,005000000000000AAA,Warm,-1e20,
E,#N/A,,Nope,,""",
        [5],
    ),
    (
        "Product2",
        """Name,IsActive,Family,Type,Description
P1,true,None,,x
P2,FALSE,,#N/A,
P3,#N/A,,,
P4,maybe,,,
P5,,,NotAType,""",
        [4],
    ),
    (
        "Asset",
        """Name,AccountId,InstallDate,LifecycleStartDate,Quantity,IsInternal
A1,{parent},2024-02-29,2024-01-01T10:00:00Z,2,true
A2,{parent},2024-02-30,,,
A3,{parent},,2024-01-01T10:00:00+02:00,1.5,#N/A
A4,{parent},,yesterday,,""",
        [2],
    ),
]


@pytest.mark.parametrize(("sobject", "data", "used"), TYPED, ids=[t[0] for t in TYPED])
def test_typed_columns_match_the_body_path(
    sobject: str, data: str, used: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    header, *rows = list(csv.reader(io.StringIO(data)))
    out = _same(header, [rows], sobject=sobject, monkeypatch=monkeypatch)
    assert out["used"] == used  # the unreadable rows never reach the writer


def test_what_it_leaves_to_the_body_path_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    # a relationship column: never planned
    out = _same(["Name", "Parent.Name"], [[["A", ""]]], monkeypatch=monkeypatch)
    assert out["used"] == []
    # ragged rows: that slice goes body by body, the next one column by column
    out = _same(ACCOUNT, [[["A", "Energy"], CLEAN[0]], CLEAN[:2]], monkeypatch=monkeypatch)
    assert out["used"] == [2]
    # a person's Name is derived from the row: Lead is never planned
    out = _same(
        ["LastName", "Company"], [[["Doe", "Acme"]]], sobject="Lead", monkeypatch=monkeypatch
    )
    assert out["used"] == []
    # an Id column on insert fails the row as INVALID_FIELD_FOR_INSERT_UPDATE, body path
    out = _same(["Id", "Name"], [[["001000000000001", "A"], ["", "B"]]], monkeypatch=monkeypatch)
    assert out["used"] == []


def test_a_changed_describe_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    state = OrgState(clock=lambda: NOW)
    index = require_index(state, "Account")
    plan = ColumnInsert.plan(Writer(state), index, ["Name"])
    assert plan is not None
    assert plan.run([["A"]]) is not None
    doc = dict(state.schema.describe("Account") or {})
    monkeypatch.setattr(state.schema, "describe", lambda name: doc if name == "Account" else None)
    assert records.field_index(state, "Account") is not index
    assert plan.run([["B"]]) is None
