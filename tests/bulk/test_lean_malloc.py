"""`bulk2/memory.py`: glibc's settings applied once, and left alone when the environment or
the opt-out says so. `mallopt` is replaced by a recorder: nothing here changes the test
process's allocator."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from salesforce_typed.bulk2 import memory, window


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return 1


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> _Libc:
    fake = _Libc()
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda _: fake)
    monkeypatch.setattr(memory, "_done", memory.threading.Event())
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "SALESFORCE_TYPED_MALLOC"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_arenas_capped_and_mmap_threshold_fixed_once(libc: _Libc) -> None:
    memory.lean_malloc()
    memory.lean_malloc()
    assert libc.calls == [(-8, memory.ARENAS), (-3, memory.MMAP_THRESHOLD)]


def test_the_environment_wins(libc: _Libc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    memory.lean_malloc()
    assert libc.calls == [(-3, memory.MMAP_THRESHOLD)]


def test_opt_out(libc: _Libc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFORCE_TYPED_MALLOC", "off")
    memory.lean_malloc()
    assert libc.calls == []


def test_a_thread_window_sets_them_a_single_slot_does_not(libc: _Libc) -> None:
    with window.PageWindow[Any](1):
        assert libc.calls == []
    with window.PageWindow[Any](3):
        assert len(libc.calls) == 2
