"""The SOQL checker for a user's own test suite: `assert_soql_ok("src/")` in one test.

`check_soql` returns the problems (`Problem`, printable as `path:line:col: CODE message`);
`assert_soql_ok` fails with all of them listed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from salesforce_typed.soqlcheck import DEFAULT_PACKAGE, Problem, check_paths

__all__ = ["Problem", "assert_soql_ok", "check_soql"]

PathArg = str | os.PathLike[str]


def _paths(paths: PathArg | Iterable[PathArg]) -> list[PathArg]:
    return [paths] if isinstance(paths, str | os.PathLike) else list(paths)


def check_soql(
    paths: PathArg | Iterable[PathArg],
    *,
    package: str = DEFAULT_PACKAGE,
    all_literals: bool = False,
) -> list[Problem]:
    """Every problem in the SOQL under `paths`, checked against `package`."""
    return list(check_paths(_paths(paths), package, all_literals=all_literals).problems)


def assert_soql_ok(
    paths: PathArg | Iterable[PathArg],
    *,
    package: str = DEFAULT_PACKAGE,
    all_literals: bool = False,
) -> None:
    """AssertionError listing every problem, if there is any."""
    problems = check_soql(paths, package=package, all_literals=all_literals)
    if problems:
        listed = "\n".join(str(p) for p in problems)
        raise AssertionError(f"{len(problems)} SOQL problem(s):\n{listed}")
