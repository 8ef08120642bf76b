"""Bounded concurrency for Bulk 1.0 uploads, in an async and a thread flavour.

`bulk1/_async/client.py` uses `AsyncTaskPool`; the generated sync twin gets `TaskPool` by the
unasync renaming (`AsyncX` -> `X`), so both clients upload
batches concurrently with one orchestration source. Both pools keep at most `limit` calls in
flight, return results in submission order, and on the first failure stop taking work and
cancel what has not started (asyncio tasks are cancelled; threads already running finish).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Generic, TypeVar

from salesforce_typed.core.errors import UsageError

__all__ = ["AsyncTaskPool", "TaskPool"]

T = TypeVar("T")


class AsyncTaskPool(Generic[T]):
    """`await pool.submit(fn)` waits for a free slot, then runs `fn()` as a task."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise UsageError("a pool needs at least one slot")
        self._limit = limit
        self._tasks: list[asyncio.Future[T]] = []
        self._running: set[asyncio.Future[T]] = set()

    async def submit(self, fn: Callable[[], Awaitable[T]]) -> None:
        self._reap({task for task in self._running if task.done()})  # fail fast
        while len(self._running) >= self._limit:
            done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            self._reap(done)
        task = asyncio.ensure_future(fn())
        self._tasks.append(task)
        self._running.add(task)

    def _reap(self, done: set[asyncio.Future[T]]) -> None:
        self._running -= done
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                task.result()  # raises it: the first failure ends the upload

    async def drain(self) -> list[T]:
        """Wait for everything submitted; results in submission order."""
        while self._running:
            done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_EXCEPTION)
            self._reap(done)
        return [task.result() for task in self._tasks]

    async def __aenter__(self) -> AsyncTaskPool[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._running:
            task.cancel()
        if self._running:
            await asyncio.wait(self._running)
        self._running.clear()


class TaskPool(Generic[T]):
    """`pool.submit(fn)` waits for a free thread, then runs `fn()` on it."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise UsageError("a pool needs at least one slot")
        self._limit = limit
        self._executor = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="bulk-v1")
        self._futures: list[Future[T]] = []
        self._running: set[Future[T]] = set()

    def submit(self, fn: Callable[[], T]) -> None:
        self._reap({future for future in self._running if future.done()})  # fail fast
        while len(self._running) >= self._limit:
            done, _ = wait(self._running, return_when=FIRST_COMPLETED)
            self._reap(done)
        future = self._executor.submit(fn)
        self._futures.append(future)
        self._running.add(future)

    def _reap(self, done: set[Future[T]]) -> None:
        self._running -= done
        for future in done:
            if not future.cancelled() and future.exception() is not None:
                future.result()

    def drain(self) -> list[T]:
        while self._running:
            done, _ = wait(self._running, return_when=FIRST_EXCEPTION)
            self._reap(done)
        return [future.result() for future in self._futures]

    def __enter__(self) -> TaskPool[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for future in self._running:
            future.cancel()
        self._executor.shutdown(wait=True)
        self._running.clear()
