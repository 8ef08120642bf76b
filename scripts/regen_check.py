"""`make regen-check`: regenerate into a temporary folder, fail on any difference from
generated/, then run mypy --strict on the fresh output. CI gates on it."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codegen.standard import DEFAULT_PROTO, DEFAULT_WSDL, LOCK, generate_all  # noqa: E402


def _diff(a: Path, b: Path, rel: str = "") -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    out = [f"only in generated/: {rel}{n}" for n in cmp.left_only]
    out += [f"only in fresh output: {rel}{n}" for n in cmp.right_only]
    out += [f"differs: {rel}{n}" for n in cmp.diff_files]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    out += [f"differs: {rel}{n}" for n in mismatch + errors if f"differs: {rel}{n}" not in out]
    for sub in cmp.common_dirs:
        out += _diff(a / sub, b / sub, f"{rel}{sub}/")
    return out


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="regen-") as tmp:
        fresh = Path(tmp)
        lock = generate_all(fresh, DEFAULT_WSDL, lock=None, proto=DEFAULT_PROTO)
        problems = []
        if not LOCK.is_file() or LOCK.read_text(encoding="utf-8") != lock:
            problems.append(
                "codegen/inputs.lock does not match the inputs "
                "(a spec, template or pinned version changed)"
            )
        for pkg in sorted(p.name for p in fresh.iterdir() if p.is_dir()):
            if not (ROOT / "generated" / pkg).is_dir():
                problems.append(f"missing package generated/{pkg}")
                continue
            problems += [f"{pkg}/{line}" for line in _diff(ROOT / "generated" / pkg, fresh / pkg)]
        if problems:
            print("regen-check: generated/ is stale or hand-edited:", *problems, sep="\n  ")
            print("run `make generate` and commit the result")
            return 1
        print("regen-check: generated/ matches a fresh generation")
        packages = [a for p in sorted(fresh.iterdir()) if p.is_dir() for a in ("-p", p.name)]
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", *packages],
            cwd=ROOT,
            env={"MYPYPATH": str(fresh), "PATH": "/usr/bin:/bin"},
        )
        if result.returncode != 0:
            print("regen-check: mypy --strict failed on the fresh output")
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
