"""The console script in a subprocess (as CI runs it), and the fixture codebase on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .codebase import BAD, GOOD

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """`salesforce-typed ARGS...` in a subprocess; never raises."""
    script = Path(sys.executable).parent / "salesforce-typed"
    found = str(script) if script.exists() else shutil.which("salesforce-typed")
    if found is None:
        pytest.fail("the salesforce-typed console script is not installed in this venv")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SF_")}
    base.update({"NO_COLOR": "1", "TERM": "dumb", "NO_PROXY": "127.0.0.1,localhost"})

    def run(
        *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [found, *map(str, args)],
            capture_output=True,
            text=True,
            env={**base, **(env or {})},
            cwd=cwd,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def codebase(tmp_path: Path) -> Path:
    """tmp/src/good.py and tmp/src/bad.py."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.py").write_text(GOOD, encoding="utf-8")
    (src / "bad.py").write_text(BAD, encoding="utf-8")
    return src
