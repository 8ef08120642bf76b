"""Describe, limits, versions, resources, getUpdated/getDeleted, SOSL and Apex REST.

Small read operations that need no state: each is a RequestSpec builder and a parser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from salesforce_typed.core.codecs import format_datetime, parse_datetime
from salesforce_typed.core.describe import DescribeGlobalResult, DescribeSObjectResult
from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.models import SObject
from salesforce_typed.rest.collections import sobject_type_of


def type_name(model_or_name: type[SObject] | str) -> str:
    return sobject_type_of(model_or_name)


def build_describe(model_or_name: type[SObject] | str) -> RequestSpec:
    return RequestSpec(method="GET", path=f"/sobjects/{type_name(model_or_name)}/describe")


def parse_describe(data: Any) -> DescribeSObjectResult:
    return DescribeSObjectResult.from_dict(data)


def build_describe_global() -> RequestSpec:
    return RequestSpec(method="GET", path="/sobjects")


def parse_describe_global(data: Any) -> DescribeGlobalResult:
    return DescribeGlobalResult.from_dict(data)


def build_limits() -> RequestSpec:
    return RequestSpec(method="GET", path="/limits")


def build_versions() -> RequestSpec:
    return RequestSpec(method="GET", path="/services/data")


def build_resources() -> RequestSpec:
    return RequestSpec(method="GET", path="")


def _window(start: dt.datetime, end: dt.datetime) -> tuple[tuple[str, str], ...]:
    # Salesforce wants whole minutes and no later than now; callers pass datetimes.
    return (("start", format_datetime(start)), ("end", format_datetime(end)))


def build_get_updated(
    model_or_name: type[SObject] | str, start: dt.datetime, end: dt.datetime
) -> RequestSpec:
    return RequestSpec(
        method="GET",
        path=f"/sobjects/{type_name(model_or_name)}/updated",
        params=_window(start, end),
    )


def build_get_deleted(
    model_or_name: type[SObject] | str, start: dt.datetime, end: dt.datetime
) -> RequestSpec:
    return RequestSpec(
        method="GET",
        path=f"/sobjects/{type_name(model_or_name)}/deleted",
        params=_window(start, end),
    )


@attrs.frozen(kw_only=True, slots=True)
class UpdatedResult:
    ids: tuple[str, ...]
    latest_date_covered: dt.datetime | None


@attrs.frozen(kw_only=True, slots=True)
class DeletedRecord:
    id: str
    deleted_date: dt.datetime


@attrs.frozen(kw_only=True, slots=True)
class DeletedResult:
    deleted: tuple[DeletedRecord, ...]
    earliest_date_available: dt.datetime | None
    latest_date_covered: dt.datetime | None


def _dt(value: Any) -> dt.datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def parse_get_updated(data: Any) -> UpdatedResult:
    return UpdatedResult(
        ids=tuple(data.get("ids") or ()), latest_date_covered=_dt(data.get("latestDateCovered"))
    )


def parse_get_deleted(data: Any) -> DeletedResult:
    return DeletedResult(
        deleted=tuple(
            DeletedRecord(id=r["id"], deleted_date=parse_datetime(r["deletedDate"]))
            for r in data.get("deletedRecords") or ()
        ),
        earliest_date_available=_dt(data.get("earliestDateAvailable")),
        latest_date_covered=_dt(data.get("latestDateCovered")),
    )


def build_search(sosl: str) -> RequestSpec:
    return RequestSpec(method="GET", path="/search", params=(("q", sosl),))


def search_rows(data: Any) -> list[dict[str, Any]]:
    """`{"searchRecords": [...]}` (v36+) or a bare list (older versions)."""
    if isinstance(data, dict):
        return list(data.get("searchRecords") or ())
    return list(data or ())


def build_apex(
    method: str,
    path: str,
    *,
    json: Any = None,
    params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
) -> RequestSpec:
    """`/services/apexrest/<urlMapping>`; only GET/HEAD/PUT/DELETE count as idempotent."""
    items = tuple(params.items()) if isinstance(params, Mapping) else tuple(params or ())
    return RequestSpec(
        method=method.upper(),
        path="/services/apexrest/" + path.lstrip("/"),
        params=items,
        json=json,
        idempotent=method.upper() in ("GET", "HEAD", "PUT", "DELETE"),
    )
