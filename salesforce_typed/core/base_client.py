"""The I/O-free half of every client: building httpx requests and reading responses.

Sync and async clients add only a send loop (`send.py`). Everything that decides - URLs,
headers, error mapping, retry verdicts, API usage - lives here and is tested without a
transport.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import error_from_response
from salesforce_typed.core.limits import ApiUsage, parse_limit_info

DEFAULT_API_VERSION = "62.0"
USER_AGENT = "salesforce-typed/0.1"


class BaseClient:
    """What both clients share: instance URL, API version, headers, and parsed limits."""

    def __init__(
        self,
        *,
        api_version: str = DEFAULT_API_VERSION,
        call_options: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.api_version = api_version.removeprefix("v")
        self.api_usage: ApiUsage | None = None
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if call_options:
            # `client=<name>` lands in CDC changeOrigin: listeners can skip their own writes.
            self._headers["Sforce-Call-Options"] = call_options
        self._headers.update(extra_headers or {})

    @property
    def data_prefix(self) -> str:
        return f"/services/data/v{self.api_version}"

    def url_for(self, spec: RequestSpec) -> str:
        """Spec paths are relative to `/services/data/vXX.X` unless they start at `/services`."""
        path = spec.path
        if path.startswith("/services/"):
            return path
        return f"{self.data_prefix}{path}"

    def build_request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        spec: RequestSpec,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        body: bytes | None = None
        hdrs = dict(self._headers)
        if spec.json is not None:
            body = json.dumps(spec.json, separators=(",", ":"), default=_json_default).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(spec.headers)
        hdrs.update(headers or {})
        return client.build_request(
            spec.method,
            base_url.rstrip("/") + self.url_for(spec),
            params=list(spec.params) or None,
            content=body,
            headers=hdrs,
        )

    def read(self, response: httpx.Response) -> Any:
        """The parsed body of a success, or the mapped exception for an error answer."""
        usage = parse_limit_info(response.headers.get("sforce-limit-info"))
        if usage is not None:
            self.api_usage = usage
        if response.status_code >= 400 or response.status_code == 300:
            raise error_from_response(
                response.status_code,
                _body(response),
                method=response.request.method,
                url=response.request.url.path,
            )
        if response.status_code == 204 or not response.content:
            return None
        return _body(response)


def _body(response: httpx.Response) -> Any:
    ctype = response.headers.get("content-type", "")
    if "json" in ctype or response.content[:1] in (b"{", b"["):
        try:
            return orjson.loads(response.content)  # ~2x json.loads on query pages
        except orjson.JSONDecodeError:
            pass
    return response.text


def _json_default(value: Any) -> Any:
    """Payload values a model did not encode already (dates in raw dicts, enums, bytes)."""
    import base64
    import datetime as dt

    from salesforce_typed.core.codecs import format_date, format_datetime, format_time

    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, dt.time):
        return format_time(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
