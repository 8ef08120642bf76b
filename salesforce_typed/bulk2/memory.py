"""glibc malloc settings that keep a download's memory flat, set once per process.

Pages downloading in parallel run on worker threads (`window.PageWindow`), and glibc gives
each new thread a malloc arena of its own (up to eight per core); each arena keeps what its
thread's network chunks freed, so ten downloads held about 7 MB more than one, more as the
result grows (measured: 59 MB against 52 MB for a 600,000-row CSV extract). Two arenas hold
it to 2 MB. glibc also raises its mmap threshold to the size of each large block freed (up
to 32 MB), after which pages' bytes come from a heap that does not shrink; a fixed 1 MB
threshold keeps them in mmap, unmapped when freed.

Both are process-wide: set when the first window of worker threads opens (parallel
downloads, polls of several jobs) or a typed extract starts, never undone. A
`MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` in the environment wins, and
`SALESFORCE_TYPED_MALLOC=off` leaves malloc alone. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import Final

__all__ = ["lean_malloc"]

ARENAS: Final = 2
MMAP_THRESHOLD: Final = 1 << 20
_M_ARENA_MAX: Final = -8  # glibc's malloc.h
_M_MMAP_THRESHOLD: Final = -3
_done = threading.Event()


def lean_malloc() -> None:
    """Cap glibc's arenas and fix its mmap threshold (once; see the module docstring)."""
    if _done.is_set():
        return
    _done.set()
    env = os.environ
    if not sys.platform.startswith("linux") or env.get("SALESFORCE_TYPED_MALLOC") == "off":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return
    if "MALLOC_ARENA_MAX" not in env:
        mallopt(_M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in env:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
