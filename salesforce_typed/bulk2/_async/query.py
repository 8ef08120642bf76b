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
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from salesforce_typed.bulk2._async.transport import ResponseMeta
from salesforce_typed.bulk2.rows import RowDecoder
from salesforce_typed.bulk2.wire import (
    Bulk2Job,
    BulkProgress,
    ProgressCallback,
    QueryFileResult,
    QueryOperation,
    build_create_query,
    build_query_results,
    parse_job,
    parse_locator,
    parse_record_count,
)
from salesforce_typed.core._async.pagination import AsyncPager
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.jobs.csv_chunks import CsvDialect
from salesforce_typed.jobs.polling import PollPolicy

if TYPE_CHECKING:
    from salesforce_typed.bulk2._async.client import AsyncBulk2

__all__ = ["AsyncBulk2Query"]

T = TypeVar("T", bound=SObject)


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
    ) -> None:
        if (soql is None) == (job_id is None):
            raise UsageError("pass either soql (a new job) or job_id (an existing one)")
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
        (job,) = await self._bulk.wait([self.job_id], "query", poll=self.poll, required=True)
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
        """Each locator's page (at most `page_size` models in memory); `locator` is the next's."""
        job = await self.start()
        while not self.done:
            records = [record async for record in self._page(job)]
            yield Page(records=records, done=self.done, locator=self.locator)

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        # Rows are decoded as the bytes arrive: no page of models is built to iterate.
        job = await self.start()
        while not self.done:
            async for record in self._page(job):
                yield record

    async def to_csv(self, path: str | os.PathLike[str]) -> QueryFileResult:
        """Every remaining page into one CSV file, streamed bytes to disk."""
        job = await self.start()
        target = Path(path)
        part = target.with_name(target.name + ".part")
        written = 0
        first = True  # a new file: its first page keeps the header
        with part.open("wb") as out:
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
