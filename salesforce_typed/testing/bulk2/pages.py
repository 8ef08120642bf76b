"""Bulk API 2.0 parallel results in the fake org: `GET /jobs/query/{id}/resultPages` (API 58.0+).

The resource lists up to five result-page URLs at a time, each one an ordinary
`/results?locator=` page a client may download concurrently, plus the URL of the next listing
(docs/fidelity/bulk2.md has the sources). Two shapes are served, switched per org through
`/_admin/bulk-v2/result-pages` (`shape`):

- `documented` (default), as the Bulk API 2.0 Developer Guide's example: `resultPages` of
  `{"resultUrl": "/services/data/vXX.X/jobs/query/ID/results?locator=L"}`, `nextRecordsUrl`
  (`.../resultpages?locator=L`, lower case as in the example; null on the last listing) and
  `done`.
- `observed`, as Salesforce's own Postman collection shows an org answering: entries keyed
  `resultLink`, every URL relative to `/services/data/vXX.X`.

What must stay true:
- A listed page is byte for byte the page `/results` serves at that locator: same rows, same
  `Sforce-Locator` and `Sforce-NumberOfRecords`; pages follow each other with no gap or overlap.
- Before 58.0, or with `served` switched off (an org without the feature), the resource is
  Salesforce's 404 `NOT_FOUND`, so clients fall back to locator paging.
- The test switches (`fail_rows`, `hold`) act on `/results` downloads only and never make a
  download answer anything Salesforce would not (503 `SERVER_UNAVAILABLE` is what an overloaded
  pod answers); `max_in_flight` reports the overlap the server saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final, Literal

import attrs

from salesforce_typed.testing.bulk2.jobs import BulkJob
from salesforce_typed.testing.bulk2.query import decode_locator, encode_locator
from salesforce_typed.testing.org.http import Request, Response, SfError
from salesforce_typed.testing.org.state import OrgState

__all__ = [
    "MIN_PAGES_VERSION",
    "DownloadGate",
    "PageSettings",
    "page_settings",
    "result_pages",
    "set_page_settings",
]

MIN_PAGES_VERSION: Final = 58.0
LINKS_PER_LISTING: Final = 5  # "Returns up to five URIs in one response"
Shape = Literal["documented", "observed"]
_SHAPES: Final = ("documented", "observed")


@attrs.define(kw_only=True)
class PageSettings:
    """The resultPages switches and what the server observed of page downloads."""

    shape: Shape = "documented"
    served: bool = True  # False: the org answers 404, as one without the feature
    fail_rows: list[int] = attrs.field(factory=list)  # a page starting at row N: 503 once
    hold: int = 0  # hold downloads until this many overlap once (proves concurrency)
    hold_timeout: float = 5.0  # seconds a held download waits at most
    max_in_flight: int = 0  # read-only: most `/results` downloads served at once
    downloads: int = 0  # read-only: `/results` requests seen
    listings: int = 0  # read-only: resultPages listings served
    in_flight: int = attrs.field(default=0, repr=False)
    opened: asyncio.Event | None = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        keys = ("shape", "served", "fail_rows", "hold", "hold_timeout")
        return {k: getattr(self, k) for k in keys} | {
            "max_in_flight": self.max_in_flight,
            "downloads": self.downloads,
            "listings": self.listings,
        }


def page_settings(state: OrgState) -> PageSettings:
    """The org's resultPages settings, created on first use."""
    found = state.extensions.get("bulk_v2_pages")
    if isinstance(found, PageSettings):
        return found
    with state.lock:
        found = state.extensions.get("bulk_v2_pages")
        if not isinstance(found, PageSettings):
            found = PageSettings()
            state.extensions["bulk_v2_pages"] = found
        return found


def _bad(key: str, message: str) -> SfError:
    return SfError(400, "INVALID_FIELD", f"{key} {message}", [key])


def set_page_settings(state: OrgState, body: Any) -> PageSettings:
    """Apply an admin body; counters restart, so each test reads its own overlap."""
    known = {"shape", "served", "fail_rows", "hold", "hold_timeout"}
    if not isinstance(body, dict) or set(body) - known:
        raise SfError(400, "INVALID_FIELD", f"result-pages settings take {sorted(known)}")
    current = page_settings(state)
    shape = body.get("shape", current.shape)
    if shape not in _SHAPES:
        raise _bad("shape", f"must be one of {list(_SHAPES)}")
    served = body.get("served", current.served)
    if not isinstance(served, bool):
        raise _bad("served", "must be a boolean")
    rows = body.get("fail_rows", current.fail_rows)
    if not isinstance(rows, list) or not all(
        isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in rows
    ):
        raise _bad("fail_rows", "must be a list of row offsets >= 0")
    hold = body.get("hold", current.hold)
    if isinstance(hold, bool) or not isinstance(hold, int) or not 0 <= hold <= 64:
        raise _bad("hold", "must be an integer from 0 to 64")
    timeout = body.get("hold_timeout", current.hold_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise _bad("hold_timeout", "must be a number of seconds in (0, 60]")
    current.shape = shape
    current.served = served
    current.fail_rows = list(rows)
    current.hold = hold
    current.hold_timeout = float(timeout)
    current.max_in_flight = current.downloads = current.listings = 0
    current.opened = None
    return current


class DownloadGate:
    """Counts one `/results` download in flight, holds it per `hold`, fails it per `fail_rows`."""

    def __init__(self, state: OrgState, start_row: int) -> None:
        self.settings = page_settings(state)
        self.start_row = start_row

    async def __aenter__(self) -> None:
        s = self.settings
        s.downloads += 1
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        try:
            if s.hold > 1:
                if s.opened is None:
                    s.opened = asyncio.Event()
                if s.in_flight >= s.hold:
                    s.opened.set()  # the overlap happened once: the barrier stays open
                # A sequential client is served late when it times out; max_in_flight tells.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(s.opened.wait(), s.hold_timeout)
            if self.start_row in s.fail_rows:
                s.fail_rows.remove(self.start_row)
                raise SfError(
                    503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, try again"
                )
        except BaseException:
            s.in_flight -= 1
            raise

    async def __aexit__(self, *exc: object) -> None:
        self.settings.in_flight -= 1


def _size(req: Request, default: int) -> int:
    raw = req.arg("maxRecords")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SfError(400, "INVALID_PARAMETER_VALUE", f"Invalid maxRecords: {raw}")
    return int(raw)


def result_pages(req: Request, job: BulkJob, default_size: int) -> Response:
    """One listing: up to five page URLs from `locator` on, and the next listing's URL.

    The job is already checked complete and read with its own API version (`routes.py`).
    """
    settings = page_settings(req.org)
    if float(req.api_version) < MIN_PAGES_VERSION or not settings.served:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    size = _size(req, default_size)
    total = len(job.offsets) - 1
    locator = req.arg("locator")
    start = decode_locator(locator) if locator else 0
    if not 0 <= start <= total:
        raise SfError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}")
    observed = settings.shape == "observed"
    base = "" if observed else f"/services/data/v{req.api_version}"
    sized = "" if req.arg("maxRecords") is None else f"&maxRecords={size}"
    starts = list(range(start, total, size))[:LINKS_PER_LISTING] or ([start] if start == 0 else [])
    key = "resultLink" if observed else "resultUrl"
    pages = [
        {key: f"{base}/jobs/query/{job.id}/results?locator={encode_locator(s)}{sized}"}
        for s in starts
    ]
    after = starts[-1] + size if starts else total
    done = after >= total
    next_url = (
        None
        if done
        else f"{base}/jobs/query/{job.id}/resultpages?locator={encode_locator(after)}{sized}"
    )
    settings.listings += 1
    return Response.json({"resultPages": pages, "nextRecordsUrl": next_url, "done": done})
