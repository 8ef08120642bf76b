"""Generate the sync twins of async-first modules; `--check` fails when a twin has drifted.

    python scripts/unasync.py [--check]

Orchestration is written once, async-first, in `*/_async/`; `*/_sync/` is produced here by
token rewrites and never edited by hand (STYLE: httpcore's unasync).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [
    (ROOT / "salesforce_typed" / "core" / "_async", ROOT / "salesforce_typed" / "core" / "_sync"),
    (ROOT / "salesforce_typed" / "rest" / "_async", ROOT / "salesforce_typed" / "rest" / "_sync"),
    (ROOT / "salesforce_typed" / "bulk1" / "_async", ROOT / "salesforce_typed" / "bulk1" / "_sync"),
    (ROOT / "salesforce_typed" / "bulk2" / "_async", ROOT / "salesforce_typed" / "bulk2" / "_sync"),
    (ROOT / "salesforce_typed" / "soap" / "_async", ROOT / "salesforce_typed" / "soap" / "_sync"),
    (ROOT / "salesforce_typed" / "query" / "_async", ROOT / "salesforce_typed" / "query" / "_sync"),
    (
        ROOT / "salesforce_typed" / "columnar" / "_async",
        ROOT / "salesforce_typed" / "columnar" / "_sync",
    ),
]
HEADER = "# DO NOT EDIT: generated from {src} by scripts/unasync.py; edit the _async original.\n"

# Ordered: longer, more specific names first.
SUBS = [
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncIterable\b", "Iterable"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\bhttpx\.AsyncByteStream\b", "httpx.SyncByteStream"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\baclose\b", "close"),
    (r"\basleep\b", "sleep"),
    (r"\baget_(\w+)", r"get_\1"),
    (r"\barefresh\b", "refresh"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\baread\b", "read"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"_async\b", "_sync"),
]


_DOCSTRING = re.compile(r'\A(?:#[^\n]*\n)*"""(?:[^"\\]|\\.|"(?!""))*"""\n', re.DOTALL)


def transform(text: str, src: str, used: set[int]) -> str:
    """The sync twin of one module; `used` collects the rules that matched.

    The source's module docstring speaks of the async original ("the sync twin is generated
    from this file"), so the twin gets a generated one pointing back at it instead.
    """
    match = _DOCSTRING.match(text)
    if match is None:
        raise SystemExit(f"unasync: {src} must open with a module docstring")
    text = text[match.end() :]
    for index, (pattern, repl) in enumerate(SUBS):
        text, count = re.subn(pattern, repl, text)
        if count:
            used.add(index)
    twin = f'"""The sync twin of `{src}`: its docstring there says what must stay true."""\n'
    return HEADER.format(src=src) + twin + text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    drift = []
    used: set[int] = set()
    for src_dir, dst_dir in PAIRS:
        if not src_dir.is_dir():
            continue
        wanted = {}
        for src in sorted(src_dir.glob("*.py")):
            rel = src.relative_to(ROOT).as_posix()
            wanted[dst_dir / src.name] = transform(src.read_text(encoding="utf-8"), rel, used)
        existing = set(dst_dir.glob("*.py")) if dst_dir.is_dir() else set()
        for path, text in wanted.items():
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                drift.append(path.relative_to(ROOT).as_posix())
                if not check:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
        for stale in existing - set(wanted):
            drift.append(stale.relative_to(ROOT).as_posix())
            if not check:
                stale.unlink()
    unused = [SUBS[i][0] for i in range(len(SUBS)) if i not in used]
    if unused:
        print("unasync: rules that no longer match anything (remove them):", *unused, sep="\n  ")
        return 1
    if check and drift:
        print("unasync: sync twins out of date:", *drift, sep="\n  ")
        print("run `python scripts/unasync.py` and commit")
        return 1
    print(f"unasync: {'checked' if check else 'wrote'} {len(drift)} drifting file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
