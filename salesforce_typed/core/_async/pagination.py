"""AsyncPager: the one base of every query result (REST, SOAP, Bulk 1.0, Bulk 2.0).

`sf.query(Account, soql)`, `sf.soap.query(...)`, `sf.bulk2.query(...)` and
`sf.bulk1.query(...)` all return a pager with the same members: iterate it (records are
fetched page by page, lazily: only one page is held at a time), `pages()` for whole `Page`s,
`first()`, `all()`, and `total_size` once the first page has arrived (None where the API does
not report it). Subclasses implement `pages()`; they may override iteration to decode rows
one at a time.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, TypeVar

from salesforce_typed.core.pagination import Page

__all__ = ["AsyncPager"]

T = TypeVar("T")


class AsyncPager(Generic[T]):
    """A lazy query result; see the module docstring."""

    total_size: int | None = None

    def pages(self) -> AsyncIterator[Page[T]]:
        raise NotImplementedError

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        async for page in self.pages():
            for record in page.records:
                yield record

    async def all(self) -> list[T]:
        """Every record, in memory: for small results only."""
        return [record async for record in self]

    async def first(self) -> T | None:
        """The first record (None for an empty result); stops after the first page."""
        records = self.__aiter__()
        try:
            async for record in records:
                return record
            return None
        finally:
            await records.aclose()  # ends a prefetch of the next page at once
