"""Section: `check-soql` finds, without running anything, the SOQL the org would refuse.

A small module of string queries against this org's own generated package (its custom
object `Invoice__c` included) is checked; then each query runs against the org, showing the
checker's verdicts are the org's: the clean ones run, the flagged ones are refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType

from rich.console import Console

from salesforce_typed import QueryError, Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.soqlcheck import check_paths

# (query, whether the checker should pass it); the module below hands each to sf.query.
QUERIES: tuple[tuple[str, bool], ...] = (
    ("SELECT Id, name, Amount__c, Account__r.Name FROM invoice__c", True),
    ("SELECT Id, (SELECT LastName FROM Contacts) FROM Account", True),
    ("SELECT Id, Amount__cc FROM Invoice__c", False),
    ("SELECT Id, Account__r.Ownr.Name FROM Invoice__c", False),
    ("SELECT Id FROM Account ORDER BY Description", False),
)


def check_soql_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "reads.py"
        lines = [f"sf.query({soql!r})" for soql, _ in QUERIES]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = check_paths([source], m.__name__)
    flagged = {p.line for p in report.problems}
    for problem in report.problems:
        say(console, f"reads.py:{problem.line}:{problem.column}: {problem.code} {problem.message}")
    say(console, f"{len(report.problems)} problems in {report.queries} queries, nothing sent")
    for line, (soql, clean) in enumerate(QUERIES, start=1):
        check((line not in flagged) == clean, f"check-soql misjudged {soql!r}")
        try:
            sf.query(soql).all()
        except QueryError as exc:
            check(not clean, f"the org refused a query check-soql passed: {soql!r}")
            say(console, f"line {line}: the org agrees, {exc.error_code}")
        else:
            check(clean, f"the org ran a query check-soql flagged: {soql!r}")
            say(console, f"line {line}: clean, and the org runs it")
