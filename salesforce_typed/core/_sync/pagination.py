# DO NOT EDIT: generated from salesforce_typed/core/_async/pagination.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/core/_async/pagination.py`: its docstring there says what must stay true."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Generic, TypeVar

from salesforce_typed.core.pagination import Page

__all__ = ["Pager"]

T = TypeVar("T")


class Pager(Generic[T]):
    """A lazy query result; see the module docstring."""

    total_size: int | None = None

    def pages(self) -> Iterator[Page[T]]:
        raise NotImplementedError

    def __iter__(self) -> Generator[T, None]:
        for page in self.pages():
            for record in page.records:
                yield record

    def all(self) -> list[T]:
        """Every record, in memory: for small results only."""
        return [record for record in self]

    def first(self) -> T | None:
        """The first record (None for an empty result); stops after the first page."""
        records = self.__iter__()
        try:
            for record in records:
                return record
            return None
        finally:
            records.close()  # ends a prefetch of the next page at once
