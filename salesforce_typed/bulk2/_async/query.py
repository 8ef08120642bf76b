"""A Bulk API 2.0 query job read lazily: typed models page by page, or straight into a file.
Async-first; `_sync/query.py` is generated.

`AsyncBulk2Query` is an `AsyncPager` (core/_async/pagination.py), the base every query
result shares: iterate it, `pages()` for `Page`s, `first()`, `all()`. Bulk does not report a
result's size up front, so `total_size` and each page's `total_size` stay None.

What must stay true:
- Pages follow `Sforce-Locator` until it is absent, empty or `null`; each page is a separate
  CSV with its own header row. Rows are decoded as the bytes arrive: memory holds one
  network chunk of rows (or one page, for `pages()`), never the result set.
- `locator` is the next page's locator after each page (and each `Page.locator` the one
  after it, None on the last page), so a caller that saved it (with the job id) resumes
  there after a restart: `AsyncBulk2.resume_query(job_id, locator=...)`.
- `page_size` is Bulk 2.0's `maxRecords`: at most that many rows per page; None lets
  Salesforce choose.
- A file is written to `<path>.part` and renamed when complete: a crash never leaves a file
  that looks finished. Only the first page's header is written.
- `parallel=N`: pages listed by `resultPages` (v58.0+) are downloaded N at a time
  (`bulk2/window.py`) and handed out in result order, by iteration, `pages()` and
  `to_csv()`; the next pages download while the caller handles (or the file takes) the
  current one. `to_csv()` does so by default (`DEFAULT_PARALLEL`) unless a `page_size` asks
  for pages of a given size: against Salesforce a page costs a round trip and the server's
  reading time, which only overlap hides. Each page is read whole before it is handed out,
  so a page re-requested after a 5xx or a dropped connection never repeats a row. Models
  (iteration, `pages()`): memory holds at most N pages being downloaded plus the one being
  handled. Bytes (`to_csv()`, columnar): each page under way streams into a temporary file,
  so memory holds one network chunk per page in flight and does not grow with N, the page
  size or the result. Before 58.0, on a 404
  (an org without the resource) or a listing of unknown shape, and when resuming from a
  saved locator, it reads by locator as without `parallel`; pages read in parallel carry
  no locator to resume from.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, TypeVar

from salesforce_typed.bulk2._async.transport import ResponseMeta
from salesforce_typed.bulk2.rows import RowDecoder
from salesforce_typed.bulk2.window import DEFAULT_PARALLEL, AsyncFetch, AsyncPageWindow
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
from salesforce_typed.core._async.pagination import AsyncPager
from salesforce_typed.core.errors import NotFoundError, UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.jobs.csv_chunks import CsvDialect
from salesforce_typed.jobs.polling import PollPolicy

if TYPE_CHECKING:
    from salesforce_typed.bulk2._async.client import AsyncBulk2

__all__ = ["AsyncBulk2Query"]

log = logging.getLogger("salesforce_typed.bulk")

T = TypeVar("T", bound=SObject)
X = TypeVar("X")

_COPY_BLOCK: Final = 1 << 20  # a listed page is copied from its temporary file in 1 MB blocks
# A query job's size is unknown until it ends, so its wait has no estimate to aim at (see
# jobs/polling.py). The client's default policy is tightened for it: polls at most 0.9 s
# apart for the first minute (`near`), then 1.5% of the time waited (`lateness`), so
# completion is noticed within a second for jobs up to a minute, about 350 polls an hour.
QUERY_POLL: Final = PollPolicy(near=0.9, lateness=0.015)


class AsyncBulk2Query(AsyncPager[T]):
    """`async for record in bulk.query(Account, soql)`: the job is created (or resumed) on first
    use, waited for, then read page by page. `await q.start()` creates it early, e.g. to
    save `q.job_id` before reading."""

    def __init__(
        self,
        bulk: AsyncBulk2,
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

    async def start(self) -> Bulk2Job:
        """Create the job if needed and wait until it completes (raises if it failed)."""
        if self.job is not None:
            return self.job
        if self.job_id is None:
            assert self.soql is not None
            spec = build_create_query(self.soql, operation=self.operation, dialect=self.dialect)
            created = parse_job(await self._bulk.transport.call(spec), "query")
            self.job_id = created.id
        poll = self.poll or _query_poll(self._bulk.poll)
        (job,) = await self._bulk.wait([self.job_id], "query", poll=poll, required=True)
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

    async def _page(self, job: Bulk2Job) -> AsyncIterator[T]:
        """One locator's rows as models; moves `locator` on when the page is complete."""
        meta = ResponseMeta()
        spec = build_query_results(job.id, locator=self.locator, page_size=self.page_size)
        decoder: RowDecoder[T] | None = None
        async for cells in self._bulk.transport.rows(spec, job.dialect, meta):
            if decoder is None:
                decoder = RowDecoder(self.model, cells)
                continue
            self.records_read += 1
            yield decoder.decode(cells)
        self.locator = parse_locator(meta.headers or {})
        self.done = self.locator is None
        self._report(job)

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Each locator's page (at most `page_size` models in memory); `locator` is the next's.
        With `parallel`, each listed page, the next ones downloading meanwhile (no locator)."""
        job = await self.start()
        listing = await self._listing_for(job, self.parallel)
        if listing is not None and self.parallel is not None:
            held: list[T] | None = None  # one page behind, to mark the last one done
            async for records in self._listed(job, listing, self.parallel, self._download):
                if held is not None:
                    yield Page(records=held, done=False, locator=None)
                held = self._hand_out(job, records)
            self.done = True
            yield Page(records=held or [], done=True, locator=None)
            return
        while not self.done:
            records = [record async for record in self._page(job)]
            yield Page(records=records, done=self.done, locator=self.locator)

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        # Rows are decoded as the bytes arrive: no page of models is built to iterate.
        job = await self.start()
        listing = await self._listing_for(job, self.parallel)
        if listing is not None and self.parallel is not None:
            async for records in self._listed(job, listing, self.parallel, self._download):
                for record in self._hand_out(job, records):
                    yield record
            self.done = True
            return
        while not self.done:
            async for record in self._page(job):
                yield record

    # -- parallel results (v58.0+) -------------------------------------------------------

    async def _listing_for(self, job: Bulk2Job, parallel: int | None) -> ResultListing | None:
        """The first listing when pages are to be read in parallel from the start, else None."""
        if parallel is None or self.locator is not None or self.done:
            return None
        return await self._first_listing(job)

    async def _first_listing(self, job: Bulk2Job) -> ResultListing | None:
        """The first `resultPages` listing, or None where the org cannot list pages."""
        version = self._bulk.transport.client.base.api_version
        if float(version) < MIN_RESULT_PAGES_VERSION:
            return None
        try:
            listing = parse_result_pages(
                await self._bulk.transport.call(build_result_pages(job.id))
            )
        except NotFoundError:  # 404 NOT_FOUND: an org or version without the resource
            listing = None
        if listing is None:
            log.info("bulk job %s: no resultPages, reading by locator", job.id)
        return listing

    async def _download(self, job: Bulk2Job, url: str) -> list[T]:
        """One listed page, read whole (re-requests inside `rows` skip what was read)."""
        meta = ResponseMeta()
        decoder: RowDecoder[T] | None = None
        records: list[T] = []
        async for cells in self._bulk.transport.rows(build_result_page(url), job.dialect, meta):
            if decoder is None:
                decoder = RowDecoder(self.model, cells)
                continue
            records.append(decoder.decode(cells))
        return records

    async def _page_file(self, job: Bulk2Job, url: str) -> tuple[IO[bytes], int]:
        """One listed page streamed into an unnamed temporary file as its bytes arrive, rewound,
        and its row count (`Sforce-NumberOfRecords`). Memory holds a network chunk per page
        under way, not the page: pages in flight cost disk, so their number does not decide
        the memory a result of any size takes."""
        meta = ResponseMeta()
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
        try:
            async for chunk in self._bulk.transport.raw(build_result_page(url), meta):
                spool.write(chunk)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool, parse_record_count(meta.headers or {}) or 0

    async def _listed(
        self,
        job: Bulk2Job,
        listing: ResultListing,
        limit: int,
        fetch: AsyncFetch[X],
    ) -> AsyncIterator[X]:
        """Every listed page fetched, `limit` under way, handed out in result order; the
        following pages keep downloading while the caller handles one (prefetch)."""
        async with AsyncPageWindow[X](limit) as window:
            while True:
                for url in listing.page_urls:
                    ready = await window.next() if window.full else None
                    window.start(partial(fetch, job, url))
                    if ready is not None:
                        yield ready
                if listing.next_url is None:
                    break
                data = await self._bulk.transport.call(build_result_listing(listing.next_url))
                following = parse_result_pages(data)
                if following is None:
                    raise UsageError(f"bulk job {job.id}: a resultPages listing of unknown shape")
                listing = following
            while len(window):
                yield await window.next()

    def _hand_out(self, job: Bulk2Job, records: list[T]) -> list[T]:
        self.records_read += len(records)
        self._report(job)
        return records

    async def to_csv(self, path: str | os.PathLike[str]) -> QueryFileResult:
        """Every remaining page into one CSV file, streamed bytes to disk."""
        job = await self.start()
        target = Path(path)
        part = target.with_name(target.name + ".part")
        written = 0
        first = True  # a new file: its first page keeps the header
        parallel = self.parallel
        if parallel is None and self.page_size is None:
            parallel = DEFAULT_PARALLEL
        listing = await self._listing_for(job, parallel)
        with part.open("wb") as out:
            if listing is not None and parallel is not None:
                written = await self._listed_to_file(job, listing, parallel, out)
                self.done = True
            while not self.done:
                meta = ResponseMeta()
                spec = build_query_results(job.id, locator=self.locator, page_size=self.page_size)
                skipping = not first  # later pages repeat the header: drop up to its line end
                async for chunk in self._bulk.transport.raw(spec, meta):
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

    async def _listed_to_file(
        self, job: Bulk2Job, listing: ResultListing, limit: int, out: IO[bytes]
    ) -> int:
        """Listed pages into `out` in order (the first keeps its header); bytes written.
        Each page is copied from its temporary file a block at a time."""
        written = 0
        first = True
        async for spool, count in self._listed(job, listing, limit, self._page_file):
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
