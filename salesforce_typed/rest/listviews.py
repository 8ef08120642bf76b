"""Record counts, recently viewed records and list views: small read operations, each a
RequestSpec builder and a parser.

List view cells arrive as display strings (`"Fri Aug 01 21:15:46 GMT 2014"`, picklist
labels), not field values, so results keep them as strings keyed by `fieldNameOrPath`
rather than decoding them into models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import UsageError
from salesforce_typed.core.models import SObject
from salesforce_typed.rest.collections import sobject_type_of

__all__ = [
    "ListView",
    "ListViewColumn",
    "ListViewResults",
    "build_list_view_results",
    "build_list_views",
    "build_recent",
    "build_record_counts",
    "parse_list_view_results",
    "parse_list_views",
    "parse_record_counts",
]


def build_record_counts(models_or_names: Sequence[type[SObject] | str]) -> RequestSpec:
    """`/limits/recordCount`, for the named objects (all objects when none are named)."""
    params: tuple[tuple[str, str], ...] = ()
    if models_or_names:
        params = (("sObjects", ",".join(sobject_type_of(m) for m in models_or_names)),)
    return RequestSpec(method="GET", path="/limits/recordCount", params=params)


def parse_record_counts(data: Any) -> dict[str, int]:
    items = data.get("sObjects") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise UsageError("not a record count response: no sObjects array")
    return {str(i["name"]): int(i["count"]) for i in items if isinstance(i, Mapping)}


def build_recent(limit: int | None = None) -> RequestSpec:
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be >= 1, got {limit}")
    params = (("limit", str(limit)),) if limit is not None else ()
    return RequestSpec(method="GET", path="/recent", params=params)


def _views_path(model_or_name: type[SObject] | str) -> str:
    return f"/sobjects/{quote(sobject_type_of(model_or_name), safe='')}/listviews"


def build_list_views(model_or_name: type[SObject] | str) -> RequestSpec:
    return RequestSpec(method="GET", path=_views_path(model_or_name))


def build_list_view_results(
    model_or_name: type[SObject] | str,
    view_id: str,
    *,
    limit: int | None = None,
    offset: int | None = None,
) -> RequestSpec:
    params = tuple((k, str(v)) for k, v in (("limit", limit), ("offset", offset)) if v is not None)
    path = f"{_views_path(model_or_name)}/{quote(view_id, safe='')}/results"
    return RequestSpec(method="GET", path=path, params=params)


@attrs.frozen(kw_only=True, slots=True)
class ListView:
    id: str
    developer_name: str
    label: str
    url: str
    results_url: str
    describe_url: str
    soql_compatible: bool


def parse_list_views(data: Any) -> list[ListView]:
    items = data.get("listviews") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise UsageError("not a list views response: no listviews array")
    return [
        ListView(
            id=str(v["id"]),
            developer_name=str(v.get("developerName") or ""),
            label=str(v.get("label") or ""),
            url=str(v.get("url") or ""),
            results_url=str(v.get("resultsUrl") or ""),
            describe_url=str(v.get("describeUrl") or ""),
            soql_compatible=bool(v.get("soqlCompatible")),
        )
        for v in items
        if isinstance(v, Mapping)
    ]


@attrs.frozen(kw_only=True, slots=True)
class ListViewColumn:
    field: str  # fieldNameOrPath, e.g. "Owner.Alias"
    label: str
    type: str
    hidden: bool
    sortable: bool


@attrs.frozen(kw_only=True, slots=True)
class ListViewResults:
    """One page of a list view: its columns and rows of display strings."""

    id: str
    developer_name: str
    label: str
    columns: tuple[ListViewColumn, ...]
    rows: tuple[dict[str, str | None], ...]
    done: bool

    def ids(self) -> list[str]:
        """The record ids of the rows (every standard view carries a hidden Id column)."""
        return [str(r["Id"]) for r in self.rows if r.get("Id")]


def parse_list_view_results(data: Any) -> ListViewResults:
    if not isinstance(data, Mapping) or not isinstance(data.get("records"), list):
        raise UsageError("not a list view results response: no records array")
    columns = tuple(
        ListViewColumn(
            field=str(c["fieldNameOrPath"]),
            label=str(c.get("label") or ""),
            type=str(c.get("type") or ""),
            hidden=bool(c.get("hidden")),
            sortable=bool(c.get("sortable")),
        )
        for c in data.get("columns") or ()
        if isinstance(c, Mapping)
    )
    rows = tuple(
        {
            str(cell["fieldNameOrPath"]): None if cell.get("value") is None else str(cell["value"])
            for cell in row.get("columns") or ()
            if isinstance(cell, Mapping)
        }
        for row in data["records"]
        if isinstance(row, Mapping)
    )
    return ListViewResults(
        id=str(data.get("id") or ""),
        developer_name=str(data.get("developerName") or ""),
        label=str(data.get("label") or ""),
        columns=columns,
        rows=rows,
        done=data.get("done") is not False,
    )
