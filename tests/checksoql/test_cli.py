"""`salesforce-typed check-soql` as CI runs it: exit status, the lines, the JSON, the codes."""

from __future__ import annotations

import json
from pathlib import Path

from salesforce_typed.soqlcheck import CODES

from .codebase import BAD_PROBLEMS
from .conftest import RunCli


def test_clean_code_exits_0_with_a_summary(run_cli: RunCli, codebase: Path) -> None:
    result = run_cli("check-soql", codebase / "good.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0 problems in 20 queries (1 files checked)\n"


def test_problems_exit_1_one_line_each(run_cli: RunCli, codebase: Path) -> None:
    result = run_cli("check-soql", "src", cwd=codebase.parent)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(BAD_PROBLEMS) + 1
    assert (
        lines[0]
        == "src/bad.py:7:35: SOQL002 unknown field 'Nmae' on Account (did you mean 'Name'?)"
    )
    assert [line.split()[1] for line in lines[:-1]] == [code for _, _, code, _ in BAD_PROBLEMS]
    assert lines[-1] == f"{len(BAD_PROBLEMS)} problems in 39 queries (2 files checked)"


def test_json_output(run_cli: RunCli, codebase: Path) -> None:
    result = run_cli("check-soql", "--format", "json", codebase / "bad.py")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["summary"] == {"problems": len(BAD_PROBLEMS), "queries": 19, "files": 1}
    assert document["problems"][0] == {
        "path": str(codebase / "bad.py"),
        "line": 7,
        "column": 35,
        "code": "SOQL002",
        "message": "unknown field 'Nmae' on Account (did you mean 'Name'?)",
    }


def test_usage_errors_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    missing = run_cli("check-soql", tmp_path / "nowhere")
    assert missing.returncode == 2
    assert "no such file or directory" in missing.stderr
    no_package = run_cli("check-soql", "--package", "no_such_pkg_xyz", tmp_path)
    assert no_package.returncode == 2
    assert "no_such_pkg_xyz" in no_package.stderr
    assert run_cli("check-soql").returncode == 2
    assert run_cli("check-soql", "--format", "xml", tmp_path).returncode == 2


def test_codes_are_listed(run_cli: RunCli) -> None:
    result = run_cli("check-soql", "--codes")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{code} {text}" for code, text in CODES.items()]
