"""Time as an injected dependency, so retries, refresh margins and lock TTLs test instantly.

Everything that waits or compares times takes a `Clock`. `SystemClock` is the real one;
`FakeClock` only moves when a test advances it or something sleeps on it, and it records
every sleep so tests can assert backoff without waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol, runtime_checkable

from salesforce_typed.core.errors import UsageError

__all__ = ["Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall time for expiries, monotonic time for deadlines, and the two ways to wait."""

    def now(self) -> float:
        """Wall-clock seconds since the epoch (token issue/expiry times)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines, lock TTLs)."""
        ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        # asyncio.sleep is cancellable, so a listener's close() ends the wait at once.
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


class FakeClock:
    """A clock that moves only when told; sleeping advances it instantly.

    Thread-safe, so threads sharing it see one timeline. `asleep` yields to the event loop
    once so concurrent tasks still interleave as they would around a real sleep.
    """

    def __init__(self, start: float = 1_700_000_000.0, *, monotonic_start: float = 1_000.0) -> None:
        self._lock = threading.Lock()
        self._wall = float(start)
        self._mono = float(monotonic_start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward; negative steps are refused (monotonic must not go back)."""
        if seconds < 0:
            raise UsageError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            self._wall += seconds
            self._mono += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            step = max(seconds, 0.0)
            self._wall += step
            self._mono += step

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    @property
    def total_slept(self) -> float:
        with self._lock:
            return sum(self.sleeps)

    def __repr__(self) -> str:
        return f"FakeClock(now={self._wall!r}, monotonic={self._mono!r}, sleeps={len(self.sleeps)})"
