"""A bounded, ordered download window for Bulk 2.0 parallel results, in an async and a
thread flavour.

`bulk2/_async/query.py` uses `AsyncPageWindow`; its generated sync twin gets `PageWindow` by
the unasync renaming (`AsyncX` -> `X`), so both clients download result pages concurrently
from one orchestration source.

What must stay true:
- At most `limit` downloads are under way; `next()` hands results back in the order the
  downloads were started, whatever order they finish in, so rows stay in result order.
- Leaving the window (normally, on error or when the caller stops iterating) cancels what has
  not finished; asyncio tasks are cancelled, threads already running finish their one page.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Final, Generic, TypeAlias, TypeVar

from salesforce_typed.bulk2.memory import lean_malloc
from salesforce_typed.core.errors import UsageError

__all__ = ["DEFAULT_PARALLEL", "AsyncFetch", "AsyncPageWindow", "Fetch", "PageWindow"]

T = TypeVar("T")
# Pages under way when a caller does not say. Each page costs a round trip and the server's
# reading time (seconds for a 50,000-row page), which only overlap hides; a listing names up
# to five, and the next listing is read while they download. Salesforce sets no limit on
# concurrent API requests shorter than 20 s, and 25 (5 in Developer Edition and trial orgs)
# on those of 20 s or longer ("API Request Limits and Allocations"), so ten page downloads
# are well inside it. Byte paths spool pages to disk: ten cost no more memory than one.
DEFAULT_PARALLEL: Final = 10

# A page fetcher in each flavour, so that one async source unasyncs to the thread one.
AsyncFetch: TypeAlias = Callable[..., Awaitable[T]]
Fetch: TypeAlias = Callable[..., T]


class AsyncPageWindow(Generic[T]):
    """`start(fn)` runs `fn()` as a task; `await next()` is the oldest one's result."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise UsageError("parallel must be at least 1")
        self.limit = limit
        self._tasks: deque[asyncio.Future[T]] = deque()

    def __len__(self) -> int:
        return len(self._tasks)

    @property
    def full(self) -> bool:
        return len(self._tasks) >= self.limit

    def start(self, fn: Callable[[], Awaitable[T]]) -> None:
        if self.full:
            raise UsageError("the window is full: take a result first")
        self._tasks.append(asyncio.ensure_future(fn()))

    async def next(self) -> T:
        return await self._tasks.popleft()

    async def __aenter__(self) -> AsyncPageWindow[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pending = list(self._tasks)
        self._tasks.clear()
        for task in pending:
            task.cancel()
        if pending:  # reap them, so no "exception was never retrieved" is left behind
            await asyncio.gather(*pending, return_exceptions=True)


class PageWindow(Generic[T]):
    """The thread twin: `start(fn)` runs `fn()` on one of `limit` worker threads."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise UsageError("parallel must be at least 1")
        self.limit = limit
        if limit > 1:
            lean_malloc()  # one malloc arena per thread would keep each page's chunks
        self._executor = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="bulk-v2")
        self._futures: deque[Future[T]] = deque()

    def __len__(self) -> int:
        return len(self._futures)

    @property
    def full(self) -> bool:
        return len(self._futures) >= self.limit

    def start(self, fn: Callable[[], T]) -> None:
        if self.full:
            raise UsageError("the window is full: take a result first")
        self._futures.append(self._executor.submit(fn))

    def next(self) -> T:
        return self._futures.popleft().result()

    def __enter__(self) -> PageWindow[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._executor.shutdown(wait=True)
