"""mypy --strict on the query builder: every mistake in query_mistakes.py draws exactly the
error its line announces (`# mypy: error [code]`), and query_uses.py draws none."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXPECT = re.compile(r"#\s*mypy: error \[(?P<code>[a-z-]+)\]\s*$")
LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): (?P<sev>error|note): .*?(?:\[(?P<code>[a-z-]+)\])?$"
)


def _mypy(*files: str, cache: Path) -> dict[tuple[str, int], set[str]]:
    env = {k: v for k, v in os.environ.items() if k != "MYPY_CACHE_DIR"}
    env["MYPYPATH"] = str(ROOT / "generated")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", os.devnull,
         "--no-error-summary", "--cache-dir", str(cache), *files],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    raw = done.stdout + done.stderr
    assert done.returncode in (0, 1), raw
    got: dict[tuple[str, int], set[str]] = {}
    for line in done.stdout.splitlines():
        m = LINE.match(line)
        assert m is not None, f"unparsed mypy output {line!r}\n{raw}"
        if m["sev"] == "error":
            got.setdefault((Path(m["file"]).name, int(m["line"])), set()).add(m["code"] or "")
    return got


def test_mistakes_are_each_rejected_and_correct_uses_pass(tmp_path: Path) -> None:
    expected = {}
    for n, text in enumerate((HERE / "query_mistakes.py").read_text().splitlines(), start=1):
        m = EXPECT.search(text)
        if m and not text.lstrip().startswith(('"""', "query-builder")):
            expected[("query_mistakes.py", n)] = {m["code"]}
    assert len(expected) >= 15
    got = _mypy("query_mistakes.py", "query_uses.py", cache=tmp_path / "cache")
    assert got == expected
