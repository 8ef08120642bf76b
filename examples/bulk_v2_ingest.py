"""Bulk API 2.0 ingest: typed records in, counts that reconcile, failures matched to inputs.

    python examples/bulk_v2_ingest.py

Loads 1,000 Contacts (three of them deliberately broken) as a stream of typed models, shows
where every row ended up, updates the loaded ones from their result rows, then deletes them.
Every LastName carries a run tag, so a real org's own data is not touched.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator

from _connect import step, target

from salesforce_typed.bulk import Bulk2, BulkProgress
from salesforce_typed_std import Contact

ROWS = 1000
BROKEN = {17: "no LastName", 500: "no LastName", 998: "LastName too long"}


def contacts(tag: str) -> Iterator[Contact]:
    """A generator: the records are encoded as they come, never held all at once."""
    for i in range(ROWS):
        if BROKEN.get(i) == "no LastName":
            yield Contact(FirstName=f"row {i}", Email=None)
        elif i in BROKEN:
            yield Contact(FirstName=f"row {i}", LastName=tag + "x" * 80, Email=None)
        else:
            yield Contact(FirstName=f"row {i}", LastName=f"{tag} {i:04d}", Email=None)


def report(event: BulkProgress) -> None:
    if event.phase == "upload":
        print(f"  uploaded {event.rows_uploaded} rows into job(s) {', '.join(event.job_ids)}")
    else:
        print(f"  {event.state}: {event.processed} processed, {event.failed} failed")


def main() -> int:
    tag = f"sft-{secrets.token_hex(3)}"
    with target() as org, org.client() as sf:
        bulk = Bulk2(sf)
        step(f"insert {ROWS} Contacts tagged {tag!r}; the columns come from the first record")
        with bulk.ingest(Contact, contacts(tag), progress=report) as result:
            c = result.counts
            print(
                f"uploaded {c.uploaded}: {c.successful} successful, {c.failed} failed, "
                f"{c.unprocessed} unprocessed -> reconciles: {c.reconciles}"
            )
            step("each failed row, matched back to the record it came from")
            for row in result.failed():
                print(
                    f"  input #{row.input_index} ({BROKEN.get(row.input_index or -1)}): {row.error}"
                )
            loaded = {row.input_index: row.id for row in result.successful()}
        try:
            step("update them all from their result rows: Title by bulk update")
            updates = [
                {"Id": rid, "Title": f"row {i}"}
                for i, rid in sorted(loaded.items())
                if i is not None
            ]
            with bulk.ingest(Contact, updates, operation="update") as updated:
                print(f"updated {updated.counts.successful} of {len(updates)}")
            sample = sf.get(Contact, loaded[0])
            print(f"Contact {sample.Id}: LastName={sample.LastName!r} Title={sample.Title!r}")
        finally:
            step("clean up: bulk delete by Id")
            with bulk.ingest(
                Contact, [{"Id": rid} for rid in loaded.values()], operation="delete"
            ) as gone:
                print(f"deleted {gone.counts.successful} Contacts")
    print("\nbulk_v2_ingest: done")
    return 0 if c.reconciles and c.failed == len(BROKEN) else 1


if __name__ == "__main__":
    sys.exit(main())
