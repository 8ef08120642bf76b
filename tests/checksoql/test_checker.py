"""The checker on the fixture codebase: exactly the expected problems, none on correct SOQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesforce_typed.soqlcheck import CODES, check_paths
from salesforce_typed.testing.check_soql import assert_soql_ok, check_soql

from .codebase import BAD, BAD_PROBLEMS, GOOD


def expected(path: Path) -> list[tuple[str, int, int, str, str]]:
    lines = BAD.splitlines()
    return [
        (str(path), line, lines[line - 1].index(marker) + 1, code, message)
        for line, marker, code, message in BAD_PROBLEMS
    ]


def test_correct_queries_of_every_kind_give_no_problem(codebase: Path) -> None:
    report = check_paths([codebase / "good.py"])
    assert report.problems == ()
    # every call in GOOD but make_soql() (unresolvable) and another library's query()
    assert report.queries == GOOD.count("query") - GOOD.count("query_to_csv") - 2 == 20


def test_every_mistake_is_found_where_it_is(codebase: Path) -> None:
    report = check_paths([codebase / "bad.py"])
    got = [(p.path, p.line, p.column, p.code, p.message) for p in report.problems]
    assert got == expected(codebase / "bad.py")
    assert {p.code for p in report.problems} == set(CODES)  # every code has a case


def test_a_folder_is_walked_and_the_pytest_helper_returns_the_same(codebase: Path) -> None:
    problems = check_soql(codebase)
    assert [str(p) for p in problems] == [
        f"{path}:{line}:{col}: {code} {message}"
        for path, line, col, code, message in expected(codebase / "bad.py")
    ]
    with pytest.raises(AssertionError, match=r"25 SOQL problem\(s\):\n.*bad.py:7:35: SOQL002"):
        assert_soql_ok([codebase])
    assert_soql_ok(codebase / "good.py")


def test_all_literals_adds_bare_select_strings_but_not_prose(tmp_path: Path) -> None:
    source = tmp_path / "consts.py"
    source.write_text(
        '"""Select the accounts from the org."""\n'
        'SOQL = "SELECT Id, Nmae FROM Account"\n'
        "def f(name):\n"
        '    return f"SELECT Id FROM {name}"\n',
        encoding="utf-8",
    )
    assert check_soql(source) == []
    problems = check_soql(source, all_literals=True)
    assert [(p.line, p.column, p.code) for p in problems] == [(2, 20, "SOQL002")]


def test_a_name_bound_more_than_once_is_not_guessed(tmp_path: Path) -> None:
    source = tmp_path / "rebound.py"
    source.write_text(
        'SOQL = "SELECT Nmae FROM Account"\n'
        "for SOQL in ():\n"
        "    pass\n"
        "def f(sf):\n"
        "    sf.query(SOQL)\n",
        encoding="utf-8",
    )
    assert check_paths([source]).queries == 0


def test_a_multiline_literal_maps_columns_onto_its_own_lines(tmp_path: Path) -> None:
    source = tmp_path / "multi.py"
    source.write_text(
        "def f(sf):\n"
        '    sf.query("""SELECT Id,\n'
        "                       Nmae\n"
        '                FROM Account""")\n',
        encoding="utf-8",
    )
    assert [(p.line, p.column) for p in check_soql(source)] == [(3, 24)]


def test_markdown_python_blocks_are_checked_at_their_lines(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text(
        '# Guide\n\n```python\nsf.query("SELECT Id FROM Acount")\n```\n\n'
        '```bash\nsf.query("SELECT Id FROM Nope")\n```\n',
        encoding="utf-8",
    )
    assert [(p.line, p.column, p.code) for p in check_soql(doc)] == [(4, 26, "SOQL001")]


def test_the_object_name_may_qualify_a_path_unless_it_is_a_relationship(tmp_path: Path) -> None:
    source = tmp_path / "qualified.py"
    source.write_text(
        "def f(sf):\n"
        '    sf.query("SELECT Contact.FirstName, Contact.Account.Name FROM Contact")\n'
        '    sf.query("SELECT Account.Name FROM Contact")\n'
        '    sf.query("SELECT Contact.Nmae FROM Contact")\n',
        encoding="utf-8",
    )
    problems = check_soql(source)
    assert [(p.line, p.column, p.code, p.message) for p in problems] == [
        (4, 30, "SOQL002", "unknown field 'Nmae' on Contact (did you mean 'Name'?)")
    ]


def test_a_polymorphic_path_reads_the_name_entity(tmp_path: Path) -> None:
    """Name's fields and relationships are those of the real tooling WSDL's `Name` sObject."""
    source = tmp_path / "polymorphic.py"
    source.write_text(
        "def f(sf):\n"
        '    sf.query("SELECT What.CompanyName, Who.UserRole.Name, What.Owner.Name FROM Task")\n'
        '    sf.query("SELECT Who.SmallPhotoUrl FROM Event")\n',
        encoding="utf-8",
    )
    assert [(p.line, p.column, p.code, p.message) for p in check_soql(source)] == [
        (2, 64, "SOQL003", "unknown relationship 'Owner' on polymorphic 'What' (use TYPEOF)"),
        (
            3,
            26,
            "SOQL002",
            "unknown field 'SmallPhotoUrl' on polymorphic 'Who' (Name entity; use TYPEOF)",
        ),
    ]


def test_typeof_in_a_child_subquery_reads_the_child_object(tmp_path: Path) -> None:
    source = tmp_path / "nested.py"
    source.write_text(
        "def f(sf):\n"
        '    sf.query("SELECT Id, (SELECT TYPEOF What WHEN Account THEN Phone ELSE Name END'
        ' FROM Tasks) FROM Account")\n'
        '    sf.query("SELECT Id, (SELECT TYPEOF What WHEN Account THEN Phne END'
        ' FROM Tasks) FROM Account")\n',
        encoding="utf-8",
    )
    assert [(p.line, p.column, p.code, p.message) for p in check_soql(source)] == [
        (3, 64, "SOQL002", "unknown field 'Phne' on Account (did you mean 'Phone'?)")
    ]


def test_run_time_values_inside_quotes_keep_the_query_checkable(tmp_path: Path) -> None:
    """An f-string or `+` part inside a quoted literal is a value; elsewhere, the query's
    shape is unknown and the site is left alone."""
    source = tmp_path / "dynamic.py"
    source.write_text(
        "def f(sf, acc_id, name, fields, obj):\n"
        "    sf.query(f\"SELECT Id, Nmae FROM Account WHERE Id = '{acc_id}'\")\n"
        "    sf.query(\"SELECT Id FROM Contact WHERE LastName = '\" + name + \"' AND Emial = ''\")\n"
        '    sf.query(f"SELECT {fields} FROM Account")\n'
        '    sf.query(f"SELECT Id FROM {obj}")\n'
        "    sf.query(f\"SELECT Id FROM Account WHERE AnnualRevenue = '{name}'\")\n"
        "    sf.query(f\"SELECT Id FROM Account WHERE Id = '{acc_id}' AND Name = '{name}'\")\n",
        encoding="utf-8",
    )
    report = check_paths([source])
    assert report.queries == 4  # lines 4 and 5 are left alone
    assert [(p.line, p.column, p.code) for p in report.problems] == [
        (2, 14, "SOQL002"),
        (3, 14, "SOQL002"),
        (6, 14, "SOQL014"),
    ]


def test_a_constant_passed_at_a_call_is_reported_once_with_all_literals(tmp_path: Path) -> None:
    source = tmp_path / "once.py"
    source.write_text(
        'SOQL = "SELECT Nmae FROM Account"\ndef f(sf):\n    sf.query(SOQL)\n', encoding="utf-8"
    )
    problems = check_soql(source, all_literals=True)
    assert [(p.line, p.column, p.code) for p in problems] == [(3, 14, "SOQL002")]


def test_files_it_cannot_read_are_said_or_skipped_never_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    (tmp_path / "latin1.py").write_bytes(b'x = "caf\xe9"\n')
    (tmp_path / "notes.md").write_text(
        '```python\nsf.query(\n```\n\n```python\nsf.query("SELECT Id FROM Acount")\n```\n',
        encoding="utf-8",
    )
    report = check_paths([tmp_path])
    assert [(Path(p.path).name, p.line, p.code) for p in report.problems] == [
        ("broken.py", 1, "SOQL000"),
        ("notes.md", 6, "SOQL001"),
    ]
    assert report.problems[0].message.startswith("Python syntax error, not checked: ")
    assert report.files == 2  # latin1.py is no UTF-8 source
