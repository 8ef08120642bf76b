# DO NOT EDIT: generated from salesforce_typed/bulk2/_async/query.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/bulk2/_async/query.py`: its docstring there says what must stay true."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Generator, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, TypeVar

from salesforce_typed.bulk2._sync.transport import ResponseMeta
from salesforce_typed.bulk2.rows import RowDecoder
from salesforce_typed.bulk2.window import DEFAULT_PARALLEL, Fetch, PageWindow
from salesforce_typed.bulk2.wire import (
    MIN_RESULT_PAGES_VERSION,
    Bulk2Job,
    BulkProgress,
    ProgressCallback,
    QueryFileResult,
    QueryOperation,
    ResultListing,
    build_create_query,
    build_query_results,
    build_result_listing,
    build_result_page,
    build_result_pages,
    parse_job,
    parse_locator,
    parse_record_count,
    parse_result_pages,
)
from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core.errors import NotFoundError, UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.jobs.csv_chunks import CsvDialect
from salesforce_typed.jobs.polling import PollPolicy

if TYPE_CHECKING:
    from salesforce_typed.bulk2._sync.client import Bulk2

__all__ = ["Bulk2Query"]

log = logging.getLogger("salesforce_typed.bulk")

T = TypeVar("T", bound=SObject)
X = TypeVar("X")

_COPY_BLOCK: Final = 1 << 20  # a listed page is copied from its temporary file in 1 MB blocks
# A query job's size is unknown until it ends, so its wait has no estimate to aim at (see
# jobs/polling.py). The client's default policy is tightened for it: polls at most 0.9 s
# apart for the first minute (`near`), then 1.5% of the time waited (`lateness`), so
# completion is noticed within a second for jobs up to a minute, about 350 polls an hour.
QUERY_POLL: Final = PollPolicy(near=0.9, lateness=0.015)


class Bulk2Query(Pager[T]):
    """`for record in bulk.query(Account, soql)`: the job is created (or resumed) on first
    use, waited for, then read page by page. `q.start()` creates it early, e.g. to
    save `q.job_id` before reading."""

    def __init__(
        self,
        bulk: Bulk2,
        model: type[T],
        *,
        soql: str | None = None,
        job_id: str | None = None,
        operation: QueryOperation = "query",
        page_size: int | None = None,
        dialect: CsvDialect | None = None,
        poll: PollPolicy | None = None,
        progress: ProgressCallback | None = None,
        locator: str | None = None,
        parallel: int | None = None,
    ) -> None:
        if (soql is None) == (job_id is None):
            raise UsageError("pass either soql (a new job) or job_id (an existing one)")
        if parallel is not None and parallel < 1:
            raise UsageError("parallel must be at least 1 (or None: read by locator)")
        self._bulk = bulk
        self.model = model
        self.soql = soql
        self.job_id = job_id
        self.operation = operation
        self.page_size = page_size
        self.dialect = dialect or CsvDialect()
        self.poll = poll
        self.progress = progress
        self.locator = locator  # the next page to read; None with `done` means finished
        self.parallel = parallel
        self.done = False
        self.job: Bulk2Job | None = None
        self.records_read = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r}, model={self.model.__name__})"

    def start(self) -> Bulk2Job:
        """Create the job if needed and wait until it completes (raises if it failed)."""
        if self.job is not None:
            return self.job
        if self.job_id is None:
            assert self.soql is not None
            spec = build_create_query(self.soql, operation=self.operation, dialect=self.dialect)
            created = parse_job(self._bulk.transport.call(spec), "query")
            self.job_id = created.id
        poll = self.poll or _query_poll(self._bulk.poll)
        (job,) = self._bulk.wait([self.job_id], "query", poll=poll, required=True)
        self.job = job
        return job

    def _report(self, job: Bulk2Job) -> None:
        if self.progress is not None:
            self.progress(
                BulkProgress(
                    phase="download",
                    job_ids=(job.id,),
                    state=job.state,
                    processed=job.number_records_processed,
                    rows_downloaded=self.records_read,
                )
            )

    def _page(self, job: Bulk2Job) -> Iterator[T]:
        """One locator's rows as models; moves `locator` on when the page is complete."""
        meta = ResponseMeta()
        spec = build_query_results(job.id, locator=self.locator, page_size=self.page_size)
        decoder: RowDecoder[T] | None = None
        for cells in self._bulk.transport.rows(spec, job.dialect, meta):
            if decoder is None:
                decoder = RowDecoder(self.model, cells)
                continue
            self.records_read += 1
            yield decoder.decode(cells)
        self.locator = parse_locator(meta.headers or {})
        self.done = self.locator is None
        self._report(job)

    def pages(self) -> Iterator[Page[T]]:
        """Each locator's page (at most `page_size` models in memory); `locator` is the next's.
        With `parallel`, each listed page, the next ones downloading meanwhile (no locator)."""
        job = self.start()
        listing = self._listing_for(job, self.parallel)
        if listing is not None and self.parallel is not None:
            held: list[T] | None = None  # one page behind, to mark the last one done
            for records in self._listed(job, listing, self.parallel, self._download):
                if held is not None:
                    yield Page(records=held, done=False, locator=None)
                held = self._hand_out(job, records)
            self.done = True
            yield Page(records=held or [], done=True, locator=None)
            return
        while not self.done:
            records = [record for record in self._page(job)]
            yield Page(records=records, done=self.done, locator=self.locator)

    def __iter__(self) -> Generator[T, None]:
        # Rows are decoded as the bytes arrive: no page of models is built to iterate.
        job = self.start()
        listing = self._listing_for(job, self.parallel)
        if listing is not None and self.parallel is not None:
            for records in self._listed(job, listing, self.parallel, self._download):
                for record in self._hand_out(job, records):
                    yield record
            self.done = True
            return
        while not self.done:
            for record in self._page(job):
                yield record

    # -- parallel results (v58.0+) -------------------------------------------------------

    def _listing_for(self, job: Bulk2Job, parallel: int | None) -> ResultListing | None:
        """The first listing when pages are to be read in parallel from the start, else None."""
        if parallel is None or self.locator is not None or self.done:
            return None
        return self._first_listing(job)

    def _first_listing(self, job: Bulk2Job) -> ResultListing | None:
        """The first `resultPages` listing, or None where the org cannot list pages."""
        version = self._bulk.transport.client.base.api_version
        if float(version) < MIN_RESULT_PAGES_VERSION:
            return None
        try:
            listing = parse_result_pages(
                self._bulk.transport.call(build_result_pages(job.id))
            )
        except NotFoundError:  # 404 NOT_FOUND: an org or version without the resource
            listing = None
        if listing is None:
            log.info("bulk job %s: no resultPages, reading by locator", job.id)
        return listing

    def _download(self, job: Bulk2Job, url: str) -> list[T]:
        """One listed page, read whole (re-requests inside `rows` skip what was read)."""
        meta = ResponseMeta()
        decoder: RowDecoder[T] | None = None
        records: list[T] = []
        for cells in self._bulk.transport.rows(build_result_page(url), job.dialect, meta):
            if decoder is None:
                decoder = RowDecoder(self.model, cells)
                continue
            records.append(decoder.decode(cells))
        return records

    def _page_file(self, job: Bulk2Job, url: str) -> tuple[IO[bytes], int]:
        """One listed page streamed into an unnamed temporary file as its bytes arrive, rewound,
        and its row count (`Sforce-NumberOfRecords`). Memory holds a network chunk per page
        under way, not the page: pages in flight cost disk, so their number does not decide
        the memory a result of any size takes."""
        meta = ResponseMeta()
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        try:
            for chunk in self._bulk.transport.raw(build_result_page(url), meta):
                spool.write(chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool, parse_record_count(meta.headers or {}) or 0

    def _listed(
        self,
        job: Bulk2Job,
        listing: ResultListing,
        limit: int,
        fetch: Fetch[X],
    ) -> Iterator[X]:
        """Every listed page fetched, `limit` under way, handed out in result order; the
        following pages keep downloading while the caller handles one (prefetch)."""
        with PageWindow[X](limit) as window:
            while True:
                for url in listing.page_urls:
                    ready = window.next() if window.full else None
                    window.start(partial(fetch, job, url))
                    if ready is not None:
                        yield ready
                if listing.next_url is None:
                    break
                data = self._bulk.transport.call(build_result_listing(listing.next_url))
                following = parse_result_pages(data)
                if following is None:
                    raise UsageError(f"bulk job {job.id}: a resultPages listing of unknown shape")
                listing = following
            while len(window):
                yield window.next()

    def _hand_out(self, job: Bulk2Job, records: list[T]) -> list[T]:
        self.records_read += len(records)
        self._report(job)
        return records

    def to_csv(self, path: str | os.PathLike[str]) -> QueryFileResult:
        """Every remaining page into one CSV file, streamed bytes to disk."""
        job = self.start()
        target = Path(path)
        part = target.with_name(target.name + ".part")
        written = 0
        first = True  # a new file: its first page keeps the header
        parallel = self.parallel
        if parallel is None and self.page_size is None:
            parallel = DEFAULT_PARALLEL
        listing = self._listing_for(job, parallel)
        with part.open("wb") as out:
            if listing is not None and parallel is not None:
                written = self._listed_to_file(job, listing, parallel, out)
                self.done = True
            while not self.done:
                meta = ResponseMeta()
                spec = build_query_results(job.id, locator=self.locator, page_size=self.page_size)
                skipping = not first  # later pages repeat the header: drop up to its line end
                for chunk in self._bulk.transport.raw(spec, meta):
                    if skipping:
                        cut = chunk.find(b"\n")
                        if cut < 0:
                            continue
                        chunk, skipping = chunk[cut + 1 :], False
                    out.write(chunk)
                    written += len(chunk)
                first = False
                headers: Mapping[str, str] = meta.headers or {}
                self.records_read += parse_record_count(headers) or 0
                self.locator = parse_locator(headers)
                self.done = self.locator is None
                self._report(job)
        os.replace(part, target)
        return QueryFileResult(job_id=job.id, path=target, records=self.records_read, bytes=written)

    def _listed_to_file(
        self, job: Bulk2Job, listing: ResultListing, limit: int, out: IO[bytes]
    ) -> int:
        """Listed pages into `out` in order (the first keeps its header); bytes written.
        Each page is copied from its temporary file a block at a time."""
        written = 0
        first = True
        for spool, count in self._listed(job, listing, limit, self._page_file):
            with spool:
                if not first:  # later pages repeat the header: drop up to its line end
                    spool.readline()
                first = False
                while block := spool.read(_COPY_BLOCK):
                    out.write(block)
                    written += len(block)
            self.records_read += count
            self._report(job)
        return written


def _query_poll(policy: PollPolicy) -> PollPolicy:
    """`QUERY_POLL` unless the client was given a policy of its own."""
    return QUERY_POLL if policy == PollPolicy() else policy
