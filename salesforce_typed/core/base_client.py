"""The I/O-free half of the REST client: building httpx requests and reading responses.

The clients add only the send loop (`core/_async/send.py` and its sync twin), which takes
the `Exchange` made here. URLs, headers, bodies and reading answers live here and are tested
without a transport; error mapping is `core/exchange.py`'s, retry verdicts `core/retry.py`'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.exchange import Exchange, bearer, parse_body

DEFAULT_API_VERSION = "62.0"
USER_AGENT = "salesforce-typed/0.1"


class BaseClient:
    """What both REST faces share: API version, default headers, URLs, bodies."""

    def __init__(
        self,
        *,
        api_version: str = DEFAULT_API_VERSION,
        call_options: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.api_version = api_version.removeprefix("v")
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if call_options:
            # `client=<name>` lands in CDC changeOrigin: listeners can skip their own writes.
            self._headers["Sforce-Call-Options"] = call_options
        self._headers.update(extra_headers or {})

    @property
    def data_prefix(self) -> str:
        return f"/services/data/v{self.api_version}"

    def url_for(self, spec: RequestSpec) -> str:
        """Spec paths are relative to `/services/data/vXX.X` unless they start at `/services`.

        `limits` and `/limits` are the same resource: a missing leading slash is added.
        """
        path = spec.path if spec.path.startswith("/") else f"/{spec.path}"
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

    def exchange(self, client: httpx.Client | httpx.AsyncClient, spec: RequestSpec) -> Exchange:
        """The send loop's view of one REST call: bearer session, REST error mapping."""
        return Exchange(
            method=spec.method,
            path=spec.path,
            idempotent=spec.idempotent,
            build=lambda base_url, session: bearer(
                self.build_request(client, spec, base_url=base_url), session
            ),
        )

    @staticmethod
    def read(response: httpx.Response) -> Any:
        """The parsed body of an accepted answer (None for 204, 304 and empty bodies)."""
        if response.status_code in (204, 304) or not response.content:
            return None
        return parse_body(response)


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
