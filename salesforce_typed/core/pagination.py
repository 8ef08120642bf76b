"""`Page`: one page of any query result, REST, SOAP, Bulk 1.0 or Bulk 2.0.

Every API pages its results its own way (`nextRecordsUrl`, a SOAP `queryLocator`, Bulk 2.0's
`Sforce-Locator`, Bulk 1.0 result files); a page says the same things in the same names
whatever the API: the records, the whole result's size when the API tells it, whether more
pages follow and the opaque locator of the next one. The iterators over pages share one base,
`AsyncPager` (`core/_async/pagination.py`) and its generated twin `Pager`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import attrs

__all__ = ["Page"]

T = TypeVar("T")


@attrs.define(kw_only=True, slots=True)
class Page(Generic[T]):
    """`records` in API order; `total_size` when the API reports it (REST and SOAP do, Bulk
    does not); `locator` fetches the next page and is None on the last one."""

    records: list[T]
    total_size: int | None = None
    done: bool = True
    locator: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)
