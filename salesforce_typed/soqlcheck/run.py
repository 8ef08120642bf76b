"""Check files and folders: Python sources, and the ```python blocks of Markdown files."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from .finder import DYNAMIC, Site, find_sites
from .problems import Finding, Problem
from .schema import PackageSchema
from .validate import QueryCheck

DEFAULT_PACKAGE = "salesforce_typed_std"
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".tox"})
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@attrs.frozen
class Report:
    """Every problem found, and how much was looked at (for the summary)."""

    problems: tuple[Problem, ...]
    files: int
    queries: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _site_findings(site: Site, schema: PackageSchema) -> list[Finding]:
    check = QueryCheck(schema, site.soql)
    findings = list(check.findings)
    names, firsts = check.bound.names, check.bound.firsts
    if not site.params_given:
        for name, (line, column) in zip(names, firsts, strict=True):
            message = f"placeholder :{name} has no value (no params given)"
            findings.append(Finding("SOQL010", message, line, column))
    elif site.params is not None:
        for name, (line, column) in zip(names, firsts, strict=True):
            if name not in site.params:
                findings.append(
                    Finding("SOQL010", f"placeholder :{name} not in params", line, column)
                )
        for key in site.params:
            if key not in names:
                findings.append(Finding("SOQL011", f"params key '{key}' has no placeholder :{key}"))
    if site.model and check.from_object:
        model_object = schema.model_object(site.model)
        if model_object and model_object.lower() != check.from_object.lower():
            message = f"model {site.model} ({model_object}) does not match FROM {check.from_object}"
            findings.append(Finding("SOQL009", message))
    return findings


def check_source(
    source: str,
    path: str,
    schema: PackageSchema,
    *,
    all_literals: bool = False,
    first_line: int = 1,
) -> tuple[list[Problem], int]:
    """(problems, number of queries) for one Python source; `first_line` offsets a block."""
    problems: list[Problem] = []
    count = 0
    for site in find_sites(source, all_literals=all_literals):
        count += 1
        for finding in _site_findings(site, schema):
            line, column = site.position(finding.line, finding.column)
            message = finding.message.replace(DYNAMIC, "{...}")  # a run-time part
            problems.append(Problem(path, line + first_line - 1, column, finding.code, message))
    return problems, count


def _markdown(
    text: str, path: str, schema: PackageSchema, all_literals: bool
) -> tuple[list[Problem], int]:
    """The python blocks of a Markdown file; a block that is no valid Python (a fragment)
    is skipped."""
    problems: list[Problem] = []
    count = 0
    for block in _FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        try:
            found, n = check_source(
                block.group(1), path, schema, all_literals=all_literals, first_line=first_line
            )
        except SyntaxError:
            continue
        problems += found
        count += n
    return problems, count


def _check_file(file: Path, schema: PackageSchema, all_literals: bool) -> tuple[list[Problem], int]:
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".md":
        return _markdown(text, str(file), schema, all_literals)
    try:
        return check_source(text, str(file), schema, all_literals=all_literals)
    except SyntaxError as exc:  # nothing in it can be checked: say so
        message = f"Python syntax error, not checked: {exc.msg}"
        return [Problem(str(file), exc.lineno or 1, exc.offset or 1, "SOQL000", message)], 0


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The .py and .md files under `paths`, sorted, skipping virtualenvs and caches."""
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            yield path
            continue
        if not path.exists():
            raise FileNotFoundError(f"no such file or directory: {path}")
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".py", ".md")):
                    yield Path(root) / name


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    package: str = DEFAULT_PACKAGE,
    *,
    all_literals: bool = False,
) -> Report:
    """Check every SOQL site under `paths` against `package` (a module name or folder)."""
    schema = PackageSchema(package)
    problems: list[Problem] = []
    files = queries = 0
    for file in iter_files(paths):
        try:
            found, n = _check_file(file, schema, all_literals)
        except UnicodeDecodeError:
            continue  # not UTF-8 text: not source code this checker reads
        files += 1
        problems += found
        queries += n
    return Report(tuple(sorted(problems)), files, queries)
