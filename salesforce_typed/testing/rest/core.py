"""Versions, resources, limits and describes: the read-only REST surface of the fake org."""

from __future__ import annotations

from typing import Any, Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import MIN_API_VERSION, OrgState
from salesforce_typed.testing.rest.recent import recent_items

_RELEASES = {  # label Salesforce gives each API version (Winter/Spring/Summer)
    59: "Winter '24",
    60: "Spring '24",
    61: "Summer '24",
    62: "Winter '25",
    63: "Spring '25",
    64: "Summer '25",
    65: "Winter '26",
    66: "Spring '26",
}
RESOURCES = (
    "tooling",
    "metadata",
    "eclair",
    "folders",
    "prechatForms",
    "contact-tracing",
    "domino",
    "event",
    "jsonxform",
    "chatter",
    "payments",
    "tabs",
    "appMenu",
    "quickActions",
    "queryAll",
    "commerce",
    "wave",
    "iot",
    "analytics",
    "search",
    "smartdatadiscovery",
    "identity",
    "composite",
    "parameterizedSearch",
    "fingerprint",
    "theme",
    "nouns",
    "recent",
    "licensing",
    "limits",
    "process",
    "async-queries",
    "query",
    "jobs",
    "match",
    "emailConnect",
    "localizedvalue",
    "mobile",
    "emailTemplates",
    "knowledgeManagement",
    "sobjects",
    "actions",
    "support",
)


def _label(v: int) -> str:
    if v in _RELEASES:
        return _RELEASES[v]
    season = ("Winter", "Spring", "Summer")[(v - 59) % 3]
    year = 24 + (v - 59) // 3
    return f"{season} '{year:02d}"


def versions(state: OrgState) -> list[dict[str, str]]:
    top = int(float(state.config.api_version))
    return [
        {"label": _label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(int(MIN_API_VERSION), top + 1)
    ]


def limits(state: OrgState) -> dict[str, Any]:
    maximum = state.config.daily_api_limit
    return {
        "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - state.api_usage)},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
        "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
        "DailyDeliveredPlatformEvents": {"Max": 10000, "Remaining": 10000},
    }


def _not_modified_since(header: str, modified_at: float) -> bool:
    """`If-Modified-Since` (an HTTP date): 304 when the schema has not changed since."""
    from email.utils import parsedate_to_datetime

    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False  # an unreadable date is ignored, as HTTP says
    return modified_at <= since


async def list_versions(req: Request) -> Response:
    return Response.json(versions(req.org))


async def resources(req: Request) -> Response:
    v = req.api_version
    return Response.json({name: f"/services/data/v{v}/{name}" for name in RESOURCES})


async def get_limits(req: Request) -> Response:
    return Response.json(limits(req.org))


async def describe_global(req: Request) -> Response:
    schema = req.org.schema
    return Response.json(
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [schema.global_entry(d, req.api_version) for d in schema],
        }
    )


def _doc(req: Request) -> dict[str, Any]:
    doc = req.org.schema.describe(req.params["sobject"])
    if doc is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    return doc


def _urls(doc: dict[str, Any], version: str) -> dict[str, Any]:
    return {k: v.replace("{version}", version) for k, v in doc["urls"].items()}


async def describe(req: Request) -> Response:
    since = req.headers.get("if-modified-since")
    if since and _not_modified_since(since, req.org.schema.modified_at):
        _doc(req)  # an unknown object is still a 404
        return Response.empty(304)
    doc = dict(_doc(req))
    doc["urls"] = _urls(doc, req.api_version)
    doc["recordTypeInfos"] = [  # each record type's layout url names the version too
        {**rt, "urls": _urls(rt, req.api_version)} if isinstance(rt.get("urls"), dict) else rt
        for rt in doc.get("recordTypeInfos") or ()
    ]
    return Response.json(doc)


async def sobject_info(req: Request) -> Response:
    doc = _doc(req)
    entry = req.org.schema.global_entry(doc, req.api_version)
    items = recent_items(req, str(doc["name"]), 200)
    return Response.json({"objectDescribe": entry, "recentItems": items})


PUBLIC_ROUTES: Final = (("GET", "/services/data", list_versions),)
ROUTES: Final = (
    ("GET", "/services/data/v{version}", resources),
    ("GET", "/services/data/v{version}/limits", get_limits),
    ("GET", "/services/data/v{version}/sobjects", describe_global),
    ("GET", "/services/data/v{version}/sobjects/{sobject}/describe", describe),
    ("GET", "/services/data/v{version}/sobjects/{sobject}", sobject_info),
)


def register(router: Router, state: OrgState) -> None:
    router.add_all(PUBLIC_ROUTES, auth=False)
    router.add_all(ROUTES)
