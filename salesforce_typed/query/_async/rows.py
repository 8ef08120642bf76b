"""Running a `select(...)` through any API's `query()`: model rows come back as they are;
projections and aggregates as typed tuples, converted one record at a time."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from salesforce_typed.core._async.pagination import AsyncPager
from salesforce_typed.core.pagination import Page
from salesforce_typed.query.builder import Select

__all__ = ["AsyncRows", "run_select"]

R = TypeVar("R")


class AsyncRows(AsyncPager[R]):
    """The rows of `inner` (decoded records) turned into `R` by `convert`."""

    def __init__(self, inner: AsyncPager[Any], convert: Callable[[Any], R]) -> None:
        self._inner = inner
        self._convert = convert

    async def pages(self) -> AsyncIterator[Page[R]]:
        convert = self._convert
        async for page in self._inner.pages():
            self.total_size = self._inner.total_size
            yield Page(
                records=[convert(r) for r in page.records],
                total_size=page.total_size,
                done=page.done,
                locator=page.locator,
            )

    async def __aiter__(self) -> AsyncGenerator[R, None]:
        convert = self._convert
        records = self._inner.__aiter__()
        try:
            async for record in records:
                self.total_size = self._inner.total_size
                yield convert(record)
        finally:
            await records.aclose()


def run_select(
    query: Callable[..., AsyncPager[Any]], select: Select[Any, R], **options: Any
) -> AsyncPager[R]:
    """`query` is an API's query method; aggregates are read untyped (AggregateResult)."""
    soql = select.to_soql()
    pager = query(soql, **options) if select.aggregate else query(select.model, soql, **options)
    convert = select.converter()
    return pager if convert is None else AsyncRows(pager, convert)
