"""AsyncBulk1Query: one Bulk API 1.0 query job, run when iterated, rows streamed per file.

The sync `Bulk1Query` is generated from this file (scripts/unasync.py); edit only this one.

What must stay true:
- The job is created, its one batch added and the job closed on the first iteration; rows
  stream one result file at a time, as each batch completes, never a whole job in memory.
- With PK chunking the original batch ends NotProcessed and is skipped (Salesforce adds the
  chunk batches before it marks the original); any other Failed or NotProcessed batch
  raises, since a query that lost rows must not look complete.
- `reconciles` compares the rows read with the completed batches' numberRecordsProcessed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from salesforce_typed.bulk1.results import decode_record
from salesforce_typed.bulk1.wire import (
    TERMINAL_BATCH_STATES,
    BatchInfo,
    ContentType,
    JobInfo,
    Operation,
)
from salesforce_typed.core.errors import APIStatusError, QueryError
from salesforce_typed.core.models import SObject
from salesforce_typed.jobs.polling import PollPolicy

if TYPE_CHECKING:
    from salesforce_typed.bulk1._async.client import AsyncBulk1

__all__ = ["AsyncBulk1Query", "batch_error", "decode_row"]

T = TypeVar("T", bound=SObject)
R = TypeVar("R")


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


def decode_row(model: type[T], text: bool, row: Mapping[str, Any]) -> T:
    return decode_record(model, row, text=text)


class AsyncBulk1Query(Generic[R]):
    """One Bulk query job, run when iterated; rows stream one result file at a time.

    After iteration: `job`, `batches` (final states), `result_files` and `rows` read, and
    `reconciles` says whether the rows match the completed batches' record counts.
    """

    def __init__(
        self,
        bulk: AsyncBulk1,
        decode: Callable[[Mapping[str, Any]], R],
        sobject: str,
        soql: str,
        *,
        content_type: ContentType,
        pk_chunking: int | bool | None,
        include_deleted: bool,
        poll: PollPolicy | None,
    ) -> None:
        self._bulk = bulk
        self._decode = decode
        self.sobject = sobject
        self.soql = soql
        self.content_type = content_type
        self.pk_chunking = pk_chunking
        self.operation: Operation = "queryAll" if include_deleted else "query"
        self._poll = poll
        self.job: JobInfo | None = None
        self.batches: list[BatchInfo] = []
        self.result_files: list[tuple[str, str]] = []
        self.rows = 0

    @property
    def reconciles(self) -> bool:
        done = [b for b in self.batches if b.state == "Completed"]
        return bool(self.batches) and self.rows == sum(b.numberRecordsProcessed for b in done)

    async def __aiter__(self) -> AsyncIterator[R]:
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
                    async for row in bulk.stream_query_result(job, batch.id, result_id):
                        self.rows += 1
                        yield self._decode(row)
        self.job = await bulk.get_job(job.id)

    async def all(self) -> list[R]:
        """Everything, in memory: for small results only."""
        return [row async for row in self]
