"""A minimal HTTP layer for the fake org: requests, responses, routes and Salesforce errors.

Handlers are `async def handler(req: Request) -> Response`; they raise `SfError` for
Salesforce's `[{"message","errorCode","fields"}]` bodies and `OAuthError` for the token
endpoint's `{"error","error_description"}`. Nothing here knows about sObjects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import attrs

if TYPE_CHECKING:
    from salesforce_typed.testing.org.state import OrgState, Session


@attrs.define(kw_only=True, slots=True)
class Request:
    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = attrs.field(factory=dict)  # lower-cased names
    body: bytes = b""
    params: dict[str, str] = attrs.field(factory=dict)  # from the route pattern
    org: OrgState = attrs.field(default=None, repr=False)
    session: Session | None = None  # the authenticated session, set for auth routes
    # `parse_json_body()`'s outcome for a large body, read off the event loop by the app.
    parsed: tuple[Any, SfError | None] | None = attrs.field(default=None, repr=False)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def api_version(self) -> str:
        return self.params.get("version", "")

    def json(self) -> Any:
        if self.parsed is None:
            self.parsed = parse_json_body(self.body)
        value, error = self.parsed
        if error is not None:
            raise error
        return value

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        merged = parse_qs(self.query_string, keep_blank_values=True)
        merged.update(parsed)
        return {k: v[0] for k, v in merged.items()}


def parse_json_body(body: bytes) -> tuple[Any, SfError | None]:
    """(value, None) or (None, the JSON_PARSER_ERROR to raise); pure, so the app may run it
    in a worker thread for a large body."""
    if not body:
        return None, SfError(400, "JSON_PARSER_ERROR", "The request body is empty.")
    try:
        return json.loads(body), None
    # ValueError: bad JSON or UTF-8, or an integer past Python's digit limit;
    # RecursionError: nesting deeper than the parser goes. Both are the client's input.
    except (ValueError, RecursionError) as exc:
        return None, SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}")


@attrs.define(kw_only=True, slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = attrs.field(factory=list)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = json.dumps(data, separators=(",", ":")).encode()
        hdrs = [("content-type", "application/json;charset=UTF-8"), *(headers or [])]
        return cls(status=status, body=body, headers=hdrs)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status=status)

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        return cls(status=status, body=text.encode(), headers=[("content-type", content_type)])


class SfError(Exception):
    """A Salesforce REST error: one or more `{"message","errorCode","fields"}` entries."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        *,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        entry: dict[str, Any] = {"message": message, "errorCode": error_code}
        if fields is not None:
            entry["fields"] = fields
        self.errors = [entry, *(extra or [])]

    def entry(self) -> dict[str, Any]:
        return self.errors[0]

    def response(self) -> Response:
        return Response.json(self.errors, status=self.status)


class OAuthError(Exception):
    """`/services/oauth2/*` errors: HTTP 400 (or 401) `{"error","error_description"}`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        return Response.json(
            {"error": self.error, "error_description": self.description}, status=self.status
        )


Handler = Callable[[Request], Awaitable[Response]]

# `{version}` matches `59.0`; other `{name}` placeholders match one path segment.
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@attrs.frozen(kw_only=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool = True


class Router:
    """Routes in registration order; the first matching method+path wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name == "version":
                return r"(?P<version>\d+\.\d)"
            if name == "rest":
                return r"(?P<rest>.*)"
            return rf"(?P<{name}>[^/]+)"

        regex = re.compile("^" + _PLACEHOLDER.sub(repl, template) + "/?$")
        self.routes.append(Route(method=method, pattern=regex, handler=handler, auth=auth))

    def add_all(self, table: Iterable[tuple[str, str, Handler]], *, auth: bool = True) -> None:
        """`add` each (method, template, handler) of an API module's route table, in order."""
        for method, template, handler in table:
            self.add(method, template, handler, auth=auth)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and its params; raises SfError 405 when only the method is wrong."""
        allowed: list[str] = []
        for route in self.routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method == method or (route.method == "GET" and method == "HEAD"):
                return route, m.groupdict()
            allowed.append(route.method)
        if allowed:
            verbs = ",".join(dict.fromkeys(allowed))
            raise SfError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are {verbs}",
            )
        return None
