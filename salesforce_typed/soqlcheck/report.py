"""The checker's output: one line per problem and a summary, or one JSON document."""

from __future__ import annotations

import json

from .run import Report


def as_text(report: Report) -> str:
    lines = [str(p) for p in report.problems]
    noun = "problem" if len(report.problems) == 1 else "problems"
    lines.append(
        f"{len(report.problems)} {noun} in {report.queries} queries ({report.files} files checked)"
    )
    return "\n".join(lines)


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "problems": [p.as_json() for p in report.problems],
            "summary": {
                "problems": len(report.problems),
                "queries": report.queries,
                "files": report.files,
            },
        },
        indent=2,
    )
