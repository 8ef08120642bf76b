"""Realistic-latency mode: what separates clients against a real org, on a loopback one.

Against loopback every client is bound by the emulator; against Salesforce, by round trips
(tens to hundreds of ms each) and by seconds of server work per Bulk job, which a client can
only hide by overlapping. Three knobs, all off (0) by default:

- `rtt_ms`: every API request waits this long before it is handled. An asyncio sleep: other
  requests are served meanwhile, so concurrent requests overlap as they would on a network.
- `bulk_rows_per_s`: Bulk 1.0 batches and Bulk 2.0 jobs spend `rows / rate` seconds of
  "server work" per slice, so a 1M-row job takes seconds. The emulator's own time over a
  slice (reading, checking and storing its rows; for a query, reading them out) counts
  toward it: a job runs at the configured rate whatever the emulator's CPU or the
  machine's load, while the emulator is faster than the rate (slower, it sets the pace).
- `bulk_concurrent_jobs`: at most this many Bulk jobs (Bulk 1.0: batches) process at once;
  the rest wait in a first-come queue, still UploadComplete / Queued, as Salesforce's do.
- `bulk_results_rows_per_s`: a Bulk 2.0 query results page of N rows takes N / rate seconds
  to serve (the server reading the stored result), per request: pages requested together
  are served together, one after another take the sum.

`fake-org serve --latency-ms --bulk-rows-per-s --bulk-concurrent-jobs` and
`GET|POST /_admin/latency` set them. `sleep` and `clock` (what ingest slices are timed
with) are injectable, so tests hold and release the delays instead of measuring them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import attrs

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState

__all__ = ["Latency", "latency"]

_KEY: Final = "latency"
_SETTINGS: Final = (
    "rtt_ms",
    "bulk_rows_per_s",
    "bulk_concurrent_jobs",
    "bulk_results_rows_per_s",
)
_HISTORY: Final = 1000  # slot grants remembered for `started` (tests read the order)


@attrs.define(kw_only=True, eq=False)
class Latency:
    """The org's latency settings and its Bulk job queue (`latency(state)`)."""

    rtt_ms: float = 0.0
    bulk_rows_per_s: float = 0.0  # 0: no simulated server work
    bulk_concurrent_jobs: int = 0  # 0: no queue
    bulk_results_rows_per_s: float = 0.0  # 0: results pages served at once
    sleep: Callable[[float], Awaitable[Any]] = attrs.field(default=asyncio.sleep, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)
    running: int = 0
    waiting: deque[tuple[str, asyncio.Future[None]]] = attrs.field(factory=deque, repr=False)
    started: deque[str] = attrs.field(factory=lambda: deque(maxlen=_HISTORY), repr=False)

    @property
    def active(self) -> bool:
        return any(getattr(self, key) for key in _SETTINGS)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in _SETTINGS}
        return out | {"running": self.running, "queued": [name for name, _ in self.waiting]}

    async def round_trip(self) -> None:
        if self.rtt_ms > 0:
            await self.sleep(self.rtt_ms / 1000)

    async def work(self, rows: int, spent: float = 0.0) -> None:
        """The server time `rows` rows take at the configured rate; `spent`: seconds the
        emulator already took over them (ingest: by `clock`), counted toward it, so a job
        runs at the configured rate, not that rate slowed by the emulator's own CPU."""
        if self.bulk_rows_per_s > 0 and rows > 0:
            left = rows / self.bulk_rows_per_s - max(spent, 0.0)
            if left > 0:
                await self.sleep(left)

    async def serve(self, rows: int) -> None:
        """The server time one results page of `rows` rows takes to serve."""
        if self.bulk_results_rows_per_s > 0 and rows > 0:
            await self.sleep(rows / self.bulk_results_rows_per_s)

    @asynccontextmanager
    async def slot(self, name: str) -> AsyncIterator[None]:
        """Hold one of the `bulk_concurrent_jobs` processing slots; first come, first served."""
        if self._free() and not self.waiting:
            self._grant(name)
        else:
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiting.append((name, ready))
            try:
                await ready
            except BaseException:
                if ready.done() and not ready.cancelled():  # granted as it was cancelled
                    self._release()
                else:
                    self.waiting = deque(w for w in self.waiting if w[1] is not ready)
                raise
        try:
            yield
        finally:
            self._release()

    def _free(self) -> bool:
        return self.bulk_concurrent_jobs <= 0 or self.running < self.bulk_concurrent_jobs

    def _grant(self, name: str) -> None:
        self.running += 1
        self.started.append(name)

    def _release(self) -> None:
        self.running -= 1
        self.admit()

    def admit(self) -> None:
        """Start queued jobs while slots are free (after a release or a raised limit)."""
        while self.waiting and self._free():
            name, ready = self.waiting.popleft()
            if not ready.done():
                self._grant(name)
                ready.set_result(None)


def latency(state: OrgState) -> Latency:
    """The org's latency settings, created on first use."""
    found = state.extensions.get(_KEY)
    if isinstance(found, Latency):
        return found
    with state.lock:
        found = state.extensions.get(_KEY)
        if not isinstance(found, Latency):
            found = state.extensions[_KEY] = Latency()
        return found


def _setting(key: str, value: object) -> float:
    """A finite number >= 0 (the job count an integer), or 400 naming the key."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SfError(400, "INVALID_FIELD", f"{key} must be a number", [key])
    if not math.isfinite(value) or value < 0:
        raise SfError(400, "INVALID_FIELD", f"{key} must be a finite number >= 0", [key])
    if key == "bulk_concurrent_jobs" and value != int(value):
        raise SfError(400, "INVALID_FIELD", f"{key} must be an integer", [key])
    return float(value)


def configure(state: OrgState, values: dict[str, object]) -> Latency:
    """Set some of the knobs (all checked before any is set); the queue moves at once."""
    unknown = sorted(set(values) - set(_SETTINGS))
    if unknown:
        raise SfError(400, "INVALID_FIELD", f"latency takes {list(_SETTINGS)}", unknown)
    checked = {key: _setting(key, value) for key, value in values.items()}
    found = latency(state)
    found.rtt_ms = checked.get("rtt_ms", found.rtt_ms)
    found.bulk_rows_per_s = checked.get("bulk_rows_per_s", found.bulk_rows_per_s)
    found.bulk_results_rows_per_s = checked.get(
        "bulk_results_rows_per_s", found.bulk_results_rows_per_s
    )
    jobs = checked.get("bulk_concurrent_jobs", found.bulk_concurrent_jobs)
    found.bulk_concurrent_jobs = int(jobs)
    found.admit()
    return found


async def get_latency(req: Request) -> Response:
    return Response.json(latency(req.org).to_dict())


async def set_latency(req: Request) -> Response:
    body = req.json()
    if not isinstance(body, dict):
        raise SfError(400, "INVALID_FIELD", f"latency takes {list(_SETTINGS)}")
    return Response.json(configure(req.org, body).to_dict())


def register(router: Router, state: OrgState) -> None:
    router.add("GET", "/_admin/latency", get_latency, auth=False)
    router.add("POST", "/_admin/latency", set_latency, auth=False)
