"""Bad generator input through the CLI: exit status 2, a message naming file and JSON path.

Each broken input is made from a real one (the v59 spec's shape, the CumulusCI describes) with
one defect. A failed run must leave nothing half-written: a fresh `--out` gets no package, and
a package an earlier good run wrote there stays byte for byte as it was.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]
# Makes the bad input under a folder and returns the CLI input flags that point at it.
Make = Callable[[Path, Path], list[str]]

PACKAGE = "acme_sf"


def flat(text: str) -> str:
    """Without whitespace: rich wraps long lines, sometimes inside a path."""
    return "".join(text.split())


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def invalid_json_spec(where: Path, describes: Path) -> list[str]:
    spec = where / "sobjects-oas3.json"
    spec.write_text('{"openapi": "3.0.1", "info": {"version": "59.0"},\n "paths": {,}}\n')
    return ["--from-spec", str(spec)]


def spec_without_components(where: Path, describes: Path) -> list[str]:
    spec = where / "no-components.json"
    spec.write_text(json.dumps({"openapi": "3.0.1", "info": {"version": "59.0"}, "paths": {}}))
    return ["--from-spec", str(spec)]


def _describes_with(
    where: Path, describes: Path, name: str, edit: Callable[[dict[str, Any]], None]
) -> Path:
    folder = where / "describes"
    folder.mkdir()
    for src in ("describeGlobal.json", "Account_describe.json", "Contact_describe.json"):
        shutil.copy(describes / src, folder / src)
    doc = json.loads((folder / name).read_bytes())
    edit(doc)
    (folder / name).write_text(json.dumps(doc, indent=1))
    return folder


def describe_without_fields(where: Path, describes: Path) -> list[str]:
    folder = _describes_with(where, describes, "Contact_describe.json", lambda d: d.pop("fields"))
    return ["--from-describe", str(folder)]


def describe_with_hologram_field(where: Path, describes: Path) -> list[str]:
    def edit(doc: dict[str, Any]) -> None:
        doc["fields"][3]["type"] = "hologram"

    folder = _describes_with(where, describes, "Account_describe.json", edit)
    return ["--from-describe", str(folder)]


def empty_describe_folder(where: Path, describes: Path) -> list[str]:
    folder = where / "empty"
    folder.mkdir()
    return ["--from-describe", str(folder)]


def spec_named_like_rich_markup(where: Path, describes: Path) -> list[str]:
    # A legal path that reads as a closing console-markup tag ("[/v59]"): it must print as text.
    folder = where / "["
    folder.mkdir()
    spec = folder / "v59].json"
    spec.write_text("not json")
    return ["--from-spec", str(spec)]


# (maker, what stderr must name: the file, then the place inside it)
CASES: dict[str, tuple[Make, list[str]]] = {
    "invalid-json": (invalid_json_spec, ["sobjects-oas3.json", "invalid JSON", "line 2"]),
    "no-components": (spec_without_components, ["no-components.json", "$.components"]),
    "describe-no-fields": (describe_without_fields, ["Contact_describe.json", "$.fields"]),
    "unknown-field-type": (
        describe_with_hologram_field,
        ["Account_describe.json", "$.fields[3].type", "hologram"],
    ),
    "empty-folder": (empty_describe_folder, ["empty", "no sObject describe JSON files"]),
    "markup-in-path": (spec_named_like_rich_markup, ["[/v59].json", "invalid JSON"]),
}


@pytest.fixture(scope="module")
def good_package(
    tmp_path_factory: pytest.TempPathFactory, run_cli: Run, describe_dir: Path
) -> Path:
    out = tmp_path_factory.mktemp("good")
    result = run_cli(
        "generate",
        "--out",
        out,
        "--package",
        PACKAGE,
        "--from-describe",
        describe_dir,
        "--objects",
        "Account",
        "--objects",
        "Contact",
    )
    assert result.returncode == 0, result.stderr
    return out


def check_failure(result: subprocess.CompletedProcess[str], expected: list[str]) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr
    for needle in expected:
        assert flat(needle) in flat(result.stderr), (needle, result.stderr)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_into_a_fresh_folder_writes_nothing(
    case: str, tmp_path: Path, run_cli: Run, describe_dir: Path
) -> None:
    make, expected = CASES[case]
    inputs = make(tmp_path, describe_dir)
    out = tmp_path / "out"
    result = run_cli("generate", "--out", out, "--package", PACKAGE, *inputs)
    check_failure(result, expected)
    leftovers = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert leftovers == []


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_leaves_an_earlier_package_intact(
    case: str, tmp_path: Path, run_cli: Run, describe_dir: Path, good_package: Path
) -> None:
    make, expected = CASES[case]
    inputs = make(tmp_path, describe_dir)
    out = tmp_path / "out"
    shutil.copytree(good_package, out)
    before = tree_bytes(out)
    result = run_cli("generate", "--out", out, "--package", PACKAGE, *inputs)
    check_failure(result, expected)
    assert tree_bytes(out) == before
    assert sorted(p.name for p in out.iterdir()) == [PACKAGE, "pyproject.toml"]


def test_no_input_at_all_exits_2(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("generate", "--out", tmp_path / "out", "--package", PACKAGE)
    check_failure(result, ["no input"])
    assert not (tmp_path / "out").exists()


def test_package_name_that_is_not_an_identifier_exits_2(
    tmp_path: Path, run_cli: Run, describe_dir: Path
) -> None:
    result = run_cli(
        "generate",
        "--out",
        tmp_path / "out",
        "--package",
        "acme-sf",
        "--from-describe",
        describe_dir,
    )
    check_failure(result, ["'acme-sf'", "not a Python identifier"])
    assert not (tmp_path / "out").exists()
