"""What the checker reports: one `Problem` per finding, under a stable, documented code.

Codes never change meaning once released; new checks get new numbers.
"""

from __future__ import annotations

from typing import Final

import attrs

CODES: Final[dict[str, str]] = {
    "SOQL000": "the query does not parse (Salesforce would answer MALFORMED_QUERY)",
    "SOQL001": "unknown object in FROM",
    "SOQL002": "unknown field",
    "SOQL003": "unknown parent relationship in a field path",
    "SOQL004": "unknown child relationship in a subquery's FROM",
    "SOQL005": "field is not filterable (WHERE, HAVING)",
    "SOQL006": "field is not sortable (ORDER BY)",
    "SOQL007": "field is not groupable (GROUP BY)",
    "SOQL008": "field cannot take this aggregate function",
    "SOQL009": "the model passed does not match the FROM object",
    "SOQL010": "bind placeholder without a value in params",
    "SOQL011": "params entry without a placeholder in the query",
    "SOQL012": "TYPEOF on a relationship that is not polymorphic, or a WHEN type it cannot be",
    "SOQL013": "with GROUP BY or an aggregate, a field neither grouped nor aggregated",
    "SOQL014": "a filter value of the wrong type for its field (or an Id that is no id)",
}


@attrs.frozen(order=True)
class Problem:
    """`path:line:col: CODE message`; line and column are 1-based in the Python file."""

    path: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"

    def as_json(self) -> dict[str, str | int]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


@attrs.frozen
class Finding:
    """A problem inside one SOQL string: 1-based line and column within that string."""

    code: str
    message: str
    line: int = 1
    column: int = 1
