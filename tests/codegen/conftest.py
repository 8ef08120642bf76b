"""Fixtures for the end-to-end codegen tests: real inputs, the CLI and fresh interpreters.

Everything here runs the generator as a user does, through the `salesforce-typed` console
script in a subprocess, and loads generated packages in fresh interpreters, so nothing a test
imports leaks into the next one. Inputs come from ../shared/realdata, never copied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
REALDATA = REPO.parent / "shared" / "realdata"
DESCRIBE_DIR = REALDATA / "fixtures" / "rest" / "cumulusci" / "describe"
SPEC = REALDATA / "openapi" / "sobjects-oas3-v59.0.json"

# Variables that would change how the CLI talks or prints: stripped from every child env.
_SCRUBBED = (
    "SF_INSTANCE_URL",
    "SF_ACCESS_TOKEN",
    "SF_CA_FILE",
    "FORCE_COLOR",
    "PYTHONPATH",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)

RunCli = Callable[..., subprocess.CompletedProcess[str]]
RunPython = Callable[..., subprocess.CompletedProcess[str]]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({"NO_COLOR": "1", "TERM": "dumb", "NO_PROXY": "127.0.0.1,localhost"})
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def cli() -> Path:
    script = Path(sys.executable).parent / "salesforce-typed"
    if not script.exists():
        which = shutil.which("salesforce-typed")
        if which is None:
            pytest.fail("the salesforce-typed console script is not installed in this venv")
        script = Path(which)
    return script


@pytest.fixture(scope="session")
def run_cli(cli: Path) -> RunCli:
    """Run `salesforce-typed ARGS...` in a subprocess; text stdout/stderr, never raises."""

    def run(
        *args: str | Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(cli), *map(str, args)],
            capture_output=True,
            text=True,
            env=child_env(env),
            cwd=cwd,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def run_python() -> RunPython:
    """Run `code` in a fresh interpreter with `path` entries first on sys.path."""

    def run(
        code: str, *, path: Sequence[Path] = (), stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = child_env({"PYTHONPATH": os.pathsep.join(map(str, path))} if path else None)
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            input=stdin,
            env=env,
            timeout=120,
            check=False,
        )

    return run


# The real folder holds two Account describes (a second org's, with person accounts): the
# generator refuses that, so the shared fixture links every file but that variant.
ACCOUNT_VARIANT = "Account_PersonAccountsOrg_describe.json"


@pytest.fixture(scope="session")
def real_describe_dir() -> Path:
    if not DESCRIBE_DIR.is_dir():
        pytest.fail(f"real describes missing: {DESCRIBE_DIR} (shared/ must sit beside the repo)")
    return DESCRIBE_DIR


@pytest.fixture(scope="session")
def describe_dir(tmp_path_factory: pytest.TempPathFactory, real_describe_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("cumulusci") / real_describe_dir.name
    folder.mkdir()
    for path in sorted(real_describe_dir.iterdir()):
        if path.name != ACCOUNT_VARIANT:
            (folder / path.name).symlink_to(path)
    return folder


@pytest.fixture(scope="session")
def describes_by_name(describe_dir: Path) -> dict[str, Any]:
    """sObject name -> describe JSON; `<Name>_describe.json` wins over variants of a name."""
    found: dict[str, Any] = {}
    for path in sorted(describe_dir.glob("*_describe.json")):
        doc = json.loads(path.read_bytes())
        name = doc["name"]
        if name not in found or path.name == f"{name}_describe.json":
            found[name] = doc
    return found


@pytest.fixture(scope="session")
def spec_file() -> Path:
    if not SPEC.is_file():
        pytest.fail(f"real OAS3 spec missing: {SPEC} (shared/ must sit beside the repo)")
    return SPEC
