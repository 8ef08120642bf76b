"""Bulk loads that survive the process: a load "dies" right after its upload, the same load
run again is found in the job journal and waited for, and the org holds every row once; the
failed rows keep their input row numbers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType

from rich.console import Console

from salesforce_typed import Salesforce
from salesforce_typed.demo.output import check, say
from salesforce_typed.jobs.journal import Journal

ROWS = 2000


class _Died(BaseException):
    """Stands for a SIGKILL: nothing after it runs in this "process"."""


def bulk_jobs_tour(console: Console, sf: Salesforce, m: ModuleType) -> None:
    with tempfile.TemporaryDirectory(prefix="bulk-jobs-") as folder:
        source = Path(folder) / "accounts.csv"
        tag = source.parent.name
        lines = [f"{'' if i == 7 else f'{tag}-{i}'},{i}" for i in range(ROWS)]
        source.write_text("Name,AccountNumber\n" + "\n".join(lines) + "\n", encoding="utf-8")
        journal = Journal(Path(folder) / "journal")

        def die_after_upload(message: str) -> None:
            say(console, message)
            if "upload complete" in message:
                raise _Died

        try:
            sf.bulk2.ingest("Account", csv_path=source, journal=journal, notify=die_after_upload)
        except _Died:
            say(console, "the process dies after its upload; the job runs on without it")
        with sf.bulk2.ingest(
            "Account", csv_path=source, journal=journal, notify=lambda text: say(console, text)
        ) as result:
            failed = [row.input_index for row in result.failed()]
            counts = result.counts
        check(failed == [7], f"failed rows {failed}, not [7]")
        held = sf.query(
            m.Account, "SELECT Id FROM Account WHERE Name LIKE :tag", {"tag": f"{tag}-%"}
        ).all()
        check(len(held) == ROWS - 1, f"{len(held)} rows in the org, not {ROWS - 1}")
        say(
            console,
            f"run again: {counts.successful} loaded once, {counts.failed} failed (input row "
            f"{(failed[0] or 0) + 1}, matched from the journal); the org holds {len(held)}, "
            "no duplicate",
        )
