"""AsyncBulk1Query: one Bulk API 1.0 query job, run when iterated, rows streamed per file.

The sync `Bulk1Query` is generated from this file (scripts/unasync.py); edit only this one.
It is an `AsyncPager` (core/_async/pagination.py), the base every query result shares:
iterate it, `pages()` for `Page`s, `first()`, `all()`; Bulk reports no size up front, so
`total_size` stays None, and Bulk 1.0 has no locator, so `Page.locator` is None.

What must stay true:
- The job is created, its one batch added and the job closed on the first iteration; rows
  stream one result file at a time, as each batch completes, never a whole job in memory.
- `pages()` groups rows client-side: at most `page_size` rows a page, or one result file a
  page without it. A page is handed out once the next row (or the end) is seen, so `done`
  is True on the last page only; an empty result is one empty page.
- With PK chunking the original batch ends NotProcessed and is skipped (Salesforce adds the
  chunk batches before it marks the original); any other Failed or NotProcessed batch
  raises, since a query that lost rows must not look complete.
- `reconciles` compares the rows read with the completed batches' numberRecordsProcessed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, TypeVar

from salesforce_typed.bulk1.results import decode_record
from salesforce_typed.bulk1.wire import (
    TERMINAL_BATCH_STATES,
    BatchInfo,
    ContentType,
    JobInfo,
    Operation,
)
from salesforce_typed.core._async.pagination import AsyncPager
from salesforce_typed.core.errors import APIStatusError, QueryError, UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.core.pagination import Page
from salesforce_typed.jobs.polling import PollPolicy

if TYPE_CHECKING:
    from salesforce_typed.bulk1._async.client import AsyncBulk1

__all__ = ["AsyncBulk1Query", "batch_error"]

T = TypeVar("T", bound=SObject)


def batch_error(batch: BatchInfo) -> APIStatusError:
    """A Failed query batch as an error: `InvalidBatch : Failed to process query: CODE: text`."""
    message = batch.stateMessage or f"batch {batch.id} is {batch.state}"
    head, _, rest = message.partition(" : ")
    code = head.strip()
    if rest.startswith("Failed to process query: "):
        detail = rest.removeprefix("Failed to process query: ")
        code = detail.partition(":")[0].strip()
        return QueryError(detail, status_code=400, error_code=code)
    return APIStatusError(message, status_code=400, error_code=code)


class AsyncBulk1Query(AsyncPager[T]):
    """One Bulk query job, run when iterated; rows stream one result file at a time.

    After iteration: `job`, `batches` (final states), `result_files` and `rows` read, and
    `reconciles` says whether the rows match the completed batches' record counts.
    """

    def __init__(
        self,
        bulk: AsyncBulk1,
        model: type[T],
        sobject: str,
        soql: str,
        *,
        page_size: int | None,
        content_type: ContentType,
        pk_chunking: int | bool | None,
        include_deleted: bool,
        poll: PollPolicy | None,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise UsageError("page_size must be at least 1")
        self._bulk = bulk
        self.model = model
        self.sobject = sobject
        self.soql = soql
        self.page_size = page_size
        self.content_type = content_type
        self.pk_chunking = pk_chunking
        self.operation: Operation = "queryAll" if include_deleted else "query"
        self._poll = poll
        self._text = content_type != "JSON"  # CSV cells and XML elements carry text
        self.job: JobInfo | None = None
        self.batches: list[BatchInfo] = []
        self.result_files: list[tuple[str, str]] = []
        self.rows = 0

    def __repr__(self) -> str:
        job = self.job.id if self.job else None
        return f"{type(self).__name__}(job_id={job!r}, model={self.model.__name__})"

    @property
    def reconciles(self) -> bool:
        done = [b for b in self.batches if b.state == "Completed"]
        return bool(self.batches) and self.rows == sum(b.numberRecordsProcessed for b in done)

    async def _records(self) -> AsyncIterator[tuple[int, T]]:
        """(result file number, record), in order: run the job, stream each result file."""
        bulk = self._bulk
        job = await bulk.create_job(
            self.operation, self.sobject, self.content_type, pk_chunking=self.pk_chunking
        )
        self.job = job
        original = await bulk.add_batch(job, self.soql.encode("utf-8"))
        await bulk.close_job(job)
        seen: set[str] = set()
        async for batches in bulk.poll_batches(job, poll=self._poll):
            self.batches = batches
            for batch in batches:
                if batch.id in seen or batch.state not in TERMINAL_BATCH_STATES:
                    continue
                seen.add(batch.id)
                if batch.state == "Failed":
                    raise batch_error(batch)
                if batch.state == "NotProcessed":
                    if batch.id == original.id and self.pk_chunking:
                        continue  # the chunk batches carry the rows
                    raise batch_error(batch)
                for result_id in await bulk.get_query_result_ids(job, batch.id):
                    self.result_files.append((batch.id, result_id))
                    file = len(self.result_files)
                    async for row in bulk.stream_query_result(job, batch.id, result_id):
                        self.rows += 1
                        yield file, decode_record(self.model, row, text=self._text)
        self.job = await bulk.get_job(job.id)

    async def pages(self) -> AsyncIterator[Page[T]]:
        records: list[T] = []
        current = 0
        async for file, record in self._records():
            full = file != current if self.page_size is None else len(records) >= self.page_size
            if records and full:
                yield Page(records=records, done=False)
                records = []
            current = file
            records.append(record)
        yield Page(records=records, done=True)

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        # Straight from the stream: no page is gathered to iterate.
        async for _, record in self._records():
            yield record
