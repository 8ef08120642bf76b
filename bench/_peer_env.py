"""The peer generator, openapi-python-client, in a venv of its own: its pins conflict with ours.

The venv (`.bench-venv/`, gitignored) is created on first use and reused after, so `make bench`
works on a fresh machine. A peer run never raises: failure and timeout come back as text.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venv"
BIN = VENV / "bin"
PACKAGE = "openapi-python-client"
VERSION = "0.29.1"  # the newest on PyPI when this bench was written; it runs on the v59 spec
TIMEOUT_S = 20 * 60


@dataclass(frozen=True)
class PeerRun:
    """One generation: wall seconds, or what went wrong; `warnings` counts its WARNING blocks."""

    command: str
    seconds: float
    outcome: str  # "ok", "failed" or "timed out"
    detail: str = ""
    warnings: int = 0
    py_files: int = 0


def ensure_venv() -> str:
    """Create the peer venv if missing and install the pinned peer; return its version line."""
    exe = BIN / PACKAGE
    if not exe.exists():
        print(f"creating {VENV} with {PACKAGE}=={VERSION} (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", f"{PACKAGE}=={VERSION}"], check=True)
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().rsplit(" ", 1)[-1]


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if ln.lower().startswith(("error", "traceback", "exception")) or "Error" in ln:
            return ln[:200]
    return lines[-1][:200] if lines else "(no output)"


def generate(spec: Path, *, post_hooks: bool) -> PeerRun:
    """Run `openapi-python-client generate` once, timed as a subprocess.

    `post_hooks=False` passes a config with `post_hooks: []`: generation only, as ours does.
    `True` keeps its default hooks (`ruff check --fix-only`, `ruff format`), with the peer
    venv's own ruff on PATH, as a user of the tool gets it.
    """
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        out = Path(tmp) / "client"
        cmd = [str(BIN / PACKAGE), "generate", "--path", str(spec), "--output-path", str(out)]
        cmd += ["--overwrite", "--meta", "none"]
        if not post_hooks:
            config = Path(tmp) / "config.yaml"
            config.write_text("post_hooks: []\n", encoding="utf-8")
            cmd += ["--config", str(config)]
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        shown = " ".join(cmd).replace(tmp, "$TMP").replace(str(ROOT) + "/", "")
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return PeerRun(shown, time.perf_counter() - start, "timed out", f"after {TIMEOUT_S} s")
        seconds = time.perf_counter() - start
        text = proc.stdout + proc.stderr
        warnings = sum(1 for ln in text.splitlines() if ln.startswith("WARNING"))
        py_files = sum(1 for _ in out.rglob("*.py")) if out.exists() else 0
        if proc.returncode != 0 or py_files == 0:
            detail = f"exit {proc.returncode}: {_first_error(text)}"
            return PeerRun(shown, seconds, "failed", detail, warnings, py_files)
        hooks = "ruff not in PATH" if "ruff is not in PATH" in text else ""
        return PeerRun(shown, seconds, "ok", hooks, warnings, py_files)
