"""Section 4: Bulk API 2.0, a 20,000-row ingest and two extracts, each with a progress bar.

The ingest streams generated `Account` models (two deliberately broken), and the result
shows counts that reconcile (uploaded = successful + failed + unprocessed) and each failed
row matched back to the input row it came from. The extracts read the loaded rows back as
typed pages that follow `Sforce-Locator`, and as one CSV file written without holding them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from salesforce_typed import Salesforce
from salesforce_typed.bulk import Bulk2, BulkProgress
from salesforce_typed.demo.output import check, say

ROWS = 20_000
# input row -> (why it fails, the Name it carries)
BROKEN: dict[int, tuple[str, str | None]] = {
    4_242: ("no Name", None),
    13_377: ("a 300-character Name", "x" * 300),
}
PREFIX = "Bulk "
SOQL = "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE :p ORDER BY Name"


def bulk_tour(console: Console, sf: Salesforce, m: ModuleType, folder: Path) -> None:
    bulk = sf.bulk2  # Bulk API 2.0 on the client's session, pool and retry policy
    loaded = _ingest(console, bulk, m)
    _extract_typed(console, bulk, m, loaded)
    _extract_csv(console, bulk, folder / "accounts.csv", loaded)


@contextmanager
def _bar(
    console: Console, description: str, total: int | None
) -> Iterator[Callable[[BulkProgress], None]]:
    """A bar following `BulkProgress` reports, left on screen with its final counts."""
    columns = (TextColumn("   {task.description:<22}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(description, total=total)

        def follow(event: BulkProgress) -> None:
            if event.phase == "upload":  # the rows are sent: now we know the total
                bar.update(task, total=event.rows_uploaded, description="processing")
            elif event.phase == "poll":
                bar.update(task, completed=event.processed, description=f"job {event.state}")
            else:
                bar.update(task, completed=event.rows_downloaded)

        yield follow


def _accounts(m: ModuleType) -> Iterator[Any]:
    """Generated, never held: every record sets the same three columns."""
    for i in range(ROWS):
        name = BROKEN[i][1] if i in BROKEN else f"{PREFIX}{i:05d}"
        yield m.Account(Name=name, Industry="Banking", NumberOfEmployees=i)


def _ingest(console: Console, bulk: Bulk2, m: ModuleType) -> int:
    say(console, f"ingest {ROWS:,} generated Accounts (rows {sorted(BROKEN)} are broken)")
    with _bar(console, "uploading", None) as follow:
        result = bulk.ingest(m.Account, _accounts(m), progress=follow)
    with result:
        c = result.counts
        say(
            console,
            f"job {', '.join(result.job_ids)}: uploaded {c.uploaded} = {c.successful} successful"
            f" + {c.failed} failed + {c.unprocessed} unprocessed → reconciles: {c.reconciles}",
        )
        check(c.reconciles and c.uploaded == ROWS, "bulk counts do not reconcile")
        matched: list[int] = []
        for row in result.failed():
            why = BROKEN.get(row.input_index or 0, ("unexpected", None))[0]
            say(console, f"failed row → input #{row.input_index} ({why}): {row.error.code}")
            matched.append(-1 if row.input_index is None else row.input_index)
    check(sorted(matched) == sorted(BROKEN), f"failed rows {matched} != inputs {sorted(BROKEN)}")
    return c.successful


def _extract_typed(console: Console, bulk: Bulk2, m: ModuleType, loaded: int) -> None:
    first: Any = None
    read = pages = 0
    with _bar(console, "extract, typed pages", loaded) as follow:
        query = bulk.query(m.Account, SOQL, {"p": f"{PREFIX}%"}, page_size=5_000, progress=follow)
        for page in query.pages():
            first = first or page.records[0]
            read, pages = read + len(page), pages + 1
    say(
        console,
        f"query job {query.job_id}: {read} {type(first).__name__} models in {pages} "
        f"Sforce-Locator pages, first {first.Name!r} NumberOfEmployees={first.NumberOfEmployees}",
    )
    check(read == loaded, f"typed extract read {read} of {loaded} rows")


def _extract_csv(console: Console, bulk: Bulk2, path: Path, loaded: int) -> None:
    with _bar(console, "extract to CSV", loaded) as follow:
        written = bulk.query_to_csv(
            SOQL, path, params={"p": f"{PREFIX}%"}, page_size=5_000, progress=follow
        )
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().strip()
    say(
        console,
        f"query_to_csv: {written.records} rows, {written.bytes:,} bytes to {path.name} "
        f"(header {header})",
    )
    check(written.records == loaded, f"CSV extract wrote {written.records} of {loaded} rows")
