"""`salesforce-typed generate` refuses what would give an unusable or ambiguous package.

Each refusal exits 2 with a message and writes nothing; a generated package's header names
the user's own command for regenerating it, not this repo's `make generate`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]
# The real folder's second Account describe (conftest leaves it out of `describe_dir`).
ACCOUNT_VARIANT = "Account_PersonAccountsOrg_describe.json"


def flat(text: str) -> str:
    """Without whitespace: rich wraps long lines."""
    return "".join(text.split())


@pytest.mark.parametrize(
    ("package", "says"),
    [
        ("class", "isaPythonkeyword"),
        ("None", "isaPythonkeyword"),
        ("acme-sf", "isnotaPythonidentifier"),
        ("1acme", "isnotaPythonidentifier"),
    ],
)
def test_an_unimportable_package_name_is_refused(
    package: str, says: str, tmp_path: Path, run_cli: Run, describe_dir: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "generate", "--out", out, "--package", package, "--from-describe", describe_dir
    )
    assert result.returncode == 2, result.stderr
    assert says in flat(result.stderr) and repr(package) in result.stderr
    assert not out.exists()


def test_two_describes_of_one_object_are_refused_naming_both(
    tmp_path: Path, run_cli: Run, real_describe_dir: Path
) -> None:
    out = tmp_path / "out"
    result = run_cli(
        "generate", "--out", out, "--package", "acme_sf", "--from-describe", real_describe_dir
    )
    assert result.returncode == 2, result.stderr
    message = flat(result.stderr)
    assert "twodescribesofAccount" in message
    assert ACCOUNT_VARIANT in message and "Account_describe.json" in message
    assert not out.exists()


def test_the_header_names_the_users_own_command(
    tmp_path: Path, run_cli: Run, describe_dir: Path
) -> None:
    (tmp_path / "describes").symlink_to(describe_dir)
    result = run_cli(
        "generate",
        "--from-describe",
        "describes",
        "--objects",
        "Acc*",
        "--out",
        "build/acme",
        "--package",
        "acme_sf",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    command = (
        "regenerate with: salesforce-typed generate --from-describe describes --objects 'Acc*' "
        "--out build/acme --package acme_sf"
    )
    for path in (tmp_path / "build" / "acme").rglob("*"):
        if path.suffix in (".py", ".toml"):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith("# DO NOT EDIT:") and first.endswith(command), path
            assert "make generate" not in first


def test_version(run_cli: Run) -> None:
    from salesforce_typed import __version__

    for flag in ("--version", "-V"):
        result = run_cli(flag)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"salesforce-typed {__version__}"
