"""SOQL query and queryAll: building page requests and reading pages, lazily and typed.

A page is parsed into raw record dicts plus the locator; the clients turn records into
models one at a time, so memory stays flat however many rows the query returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import UnreadableResponseError, UsageError
from salesforce_typed.core.models import (
    Record,
    RelatedList,
    SObject,
    page_records,
    resolve_sobject,
    row_decoder,
)

T = TypeVar("T", bound=SObject)

MIN_BATCH, MAX_BATCH = 200, 2000


def build_query(
    soql: str, *, include_deleted: bool = False, page_size: int | None = None
) -> RequestSpec:
    """`GET /query?q=` (or `/queryAll`); `page_size` becomes `Sforce-Query-Options: batchSize`
    (Salesforce takes 200..2000 and treats it as a hint: pages may be smaller)."""
    headers: tuple[tuple[str, str], ...] = ()
    if page_size is not None:
        if not MIN_BATCH <= page_size <= MAX_BATCH:
            raise UsageError(f"page_size must be {MIN_BATCH}..{MAX_BATCH}, got {page_size}")
        headers = (("Sforce-Query-Options", f"batchSize={page_size}"),)
    return RequestSpec(
        method="GET",
        path="/queryAll" if include_deleted else "/query",
        params=(("q", soql),),
        headers=headers,
    )


def build_next_page(next_records_url: str, page_size: int | None = None) -> RequestSpec:
    """The `nextRecordsUrl` is an absolute path (`/services/data/v62.0/query/01g...-2000`)."""
    headers: tuple[tuple[str, str], ...] = ()
    if page_size is not None:
        headers = (("Sforce-Query-Options", f"batchSize={page_size}"),)
    return RequestSpec(method="GET", path=next_records_url, headers=headers)


@attrs.frozen(kw_only=True, slots=True)
class RawPage:
    """One REST query page as sent: rows still JSON (decoded one at a time as handed out)."""

    total_size: int
    done: bool
    next_records_url: str | None
    records: list[dict[str, Any]]


def parse_page(data: Any) -> RawPage:
    if not isinstance(data, dict) or "records" not in data:
        raise UnreadableResponseError("not a query result page (no records)")
    return RawPage(
        total_size=int(data.get("totalSize", 0)),
        done=bool(data.get("done", True)),
        next_records_url=data.get("nextRecordsUrl"),
        records=list(data.get("records") or ()),
    )


def record_decoder(model: type[T] | None, package: str) -> Callable[[dict[str, Any]], Any]:
    """Decode with `model`; without one, each row by its `attributes.type` in `package`."""
    if model is not None:
        return row_decoder(model)

    def decode(row: dict[str, Any]) -> SObject:
        attributes = row.get("attributes") or {}
        cls = resolve_sobject(package, str(attributes.get("type", ""))) if package else Record
        return cls.from_dict(row)

    return decode


def rows_records(
    model: type[T] | None, package: str
) -> Callable[[list[dict[str, Any]]], Iterator[Any]]:
    """For each page, its rows decoded as they are iterated (with a model, one compiled
    generator that checks each row itself: no call and no shape test per row)."""
    if model is not None:
        return page_records(model)
    decode = record_decoder(None, package)
    return lambda rows: map(decode, rows)


# A child subquery is a parenthesized SELECT; SOQL has no comments to hide one. A semi-join
# (`Id IN (SELECT ...)`) or a string literal matches too: that only costs the per-row check.
_SUBQUERY = re.compile(r"\(\s*select\b", re.IGNORECASE)


def has_subquery(spec: RequestSpec) -> bool:
    """Whether rows of this query may carry child records (so a row may need more pages);
    decided once per query, so rows of a query without one skip the per-row look."""
    return any(name == "q" and _SUBQUERY.search(value) for name, value in spec.params)


def child_pages_left(related: RelatedList[Any]) -> str | None:
    """A child subquery with more rows than fit its first page carries its own locator."""
    url = related.nextRecordsUrl
    return None if not isinstance(url, str) or related.done else url
