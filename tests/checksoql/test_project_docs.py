"""Our own docs and examples pass the checker: a real check that what we show is right."""

from __future__ import annotations

from pathlib import Path

from salesforce_typed.soqlcheck import check_paths

REPO = Path(__file__).resolve().parents[2]


def test_examples_and_readme_have_no_problem() -> None:
    paths = [
        REPO / "examples",
        REPO / "README.md",
        REPO / "docs" / "readme-parts" / "check-soql.md",
    ]
    report = check_paths([p for p in paths if p.exists()], all_literals=True)
    assert [str(p) for p in report.problems] == []
    assert report.queries >= 20  # the examples do query: the check is not vacuous
