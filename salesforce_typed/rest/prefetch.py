"""Fetching the next query page while the current one is consumed.

The server builds page n+1 while the caller decodes page n, so a long read costs
max(server, client) per page instead of their sum. The async client uses a task, the sync
client (generated from it: `AsyncPrefetch` becomes `Prefetch`) a worker thread; httpx
clients and the auth flow are safe to share across both.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from salesforce_typed.core.endpoints import RequestSpec

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sf-prefetch")
        return _POOL


class AsyncPrefetch:
    """One request already under way; `result()` waits for it."""

    def __init__(self, send: Callable[[RequestSpec], Awaitable[Any]], spec: RequestSpec) -> None:
        self._task: asyncio.Task[Any] = asyncio.ensure_future(send(spec))

    async def result(self) -> Any:
        return await self._task

    def cancel(self) -> None:
        self._task.cancel()


class Prefetch:
    """The sync twin: the request runs on a small shared worker pool."""

    def __init__(self, send: Callable[[RequestSpec], Any], spec: RequestSpec) -> None:
        self._future: Future[Any] = _pool().submit(send, spec)

    def result(self) -> Any:
        return self._future.result()

    def cancel(self) -> None:
        self._future.cancel()
