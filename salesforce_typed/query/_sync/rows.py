# DO NOT EDIT: generated from salesforce_typed/query/_async/rows.py by scripts/unasync.py; edit the _async original.
"""The sync twin of `salesforce_typed/query/_async/rows.py`: its docstring there says what must stay true."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Callable
from typing import Any, TypeVar

from salesforce_typed.core._sync.pagination import Pager
from salesforce_typed.core.pagination import Page
from salesforce_typed.query.builder import Select

__all__ = ["Rows", "run_select"]

R = TypeVar("R")


class Rows(Pager[R]):
    """The rows of `inner` (decoded records) turned into `R` by `convert`."""

    def __init__(self, inner: Pager[Any], convert: Callable[[Any], R]) -> None:
        self._inner = inner
        self._convert = convert

    def pages(self) -> Iterator[Page[R]]:
        convert = self._convert
        for page in self._inner.pages():
            self.total_size = self._inner.total_size
            yield Page(
                records=[convert(r) for r in page.records],
                total_size=page.total_size,
                done=page.done,
                locator=page.locator,
            )

    def __iter__(self) -> Generator[R, None]:
        convert = self._convert
        records = self._inner.__iter__()
        try:
            for record in records:
                self.total_size = self._inner.total_size
                yield convert(record)
        finally:
            records.close()


def run_select(
    query: Callable[..., Pager[Any]], select: Select[Any, R], **options: Any
) -> Pager[R]:
    """`query` is an API's query method; aggregates are read untyped (AggregateResult)."""
    soql = select.to_soql()
    pager = query(soql, **options) if select.aggregate else query(select.model, soql, **options)
    convert = select.converter()
    return pager if convert is None else Rows(pager, convert)
