"""Apex REST (`/services/apexrest/<urlMapping>`): handlers that tests and users register.

A real org answers there with `@RestResource` classes; here `register_apex` plays their
part. Patterns are urlMappings (`/orders/*`, `*` matching anything, a trailing `/*` also
matching the bare path). As in Apex, the URL picks the class first (an exact or otherwise
most specific mapping wins) and the verb then picks its method: a mapped path without a
handler for the verb is 405. Calls are authenticated and counted like any API call (the
app does that); a handler's exception becomes 500 APEX_ERROR.

A handler is either `async (Request) -> Response` (full control) or a plain function
`(method, path, params, json_body) -> (status, json)`; a `None` json answers with no body.
"""

from __future__ import annotations

import inspect
import json
import re
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, cast

import attrs

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState

AsyncApexHandler = Callable[[Request], Awaitable[Response]]
SyncApexHandler = Callable[[str, str, dict[str, str], Any], tuple[int, Any]]
ApexHandler = AsyncApexHandler | SyncApexHandler

_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@attrs.frozen
class ApexRoute:
    method: str  # upper case, or "*" for every verb
    pattern: str
    regex: re.Pattern[str]
    handler: ApexHandler

    @property
    def specificity(self) -> tuple[int, int]:
        """Exact mappings first, then fewer wildcards, then more literal characters."""
        return (-self.pattern.count("*"), len(self.pattern.replace("*", "")))


def _normalize(pattern: str) -> str:
    return "/" + pattern.strip().strip("/")


def _compile(pattern: str) -> re.Pattern[str]:
    base = pattern[:-2] if pattern.endswith("/*") else pattern
    regex = ".*".join(re.escape(part) for part in base.split("*"))
    if pattern.endswith("/*"):
        regex += "(?:/.*)?"
    return re.compile(regex)


def register_apex(state: OrgState, method: str, path_pattern: str, handler: ApexHandler) -> None:
    """Answer `method` (or "*") on `/services/apexrest<path_pattern>` with `handler`."""
    verb = method.upper()
    if verb != "*" and verb not in _VERBS:
        raise ValueError(f"Apex REST has no {method} methods; use one of {_VERBS} or '*'")
    pattern = _normalize(path_pattern)
    routes: list[ApexRoute] = state.extensions.setdefault("apex_routes", [])
    routes[:] = [r for r in routes if (r.method, r.pattern) != (verb, pattern)]
    routes.append(ApexRoute(method=verb, pattern=pattern, regex=_compile(pattern), handler=handler))


def _apex_error(handler: ApexHandler, exc: BaseException) -> SfError:
    """500 APEX_ERROR in Apex's shape: `Type: message\\n\\nClass.X.y: line N, column 1`."""
    frames = traceback.extract_tb(exc.__traceback__)
    line = frames[-1].lineno if frames else 1
    where = getattr(handler, "__qualname__", type(handler).__name__)
    message = f"{type(exc).__name__}: {exc}\n\nClass.{where}: line {line}, column 1"
    return SfError(500, "APEX_ERROR", message)


def _json_body(req: Request) -> Any:
    if not req.body:
        return None
    try:
        return json.loads(req.body)
    except (ValueError, RecursionError):  # not JSON (or past its digit or depth limits)
        return req.body.decode("utf-8", "replace")


async def _call(route: ApexRoute, req: Request, path: str) -> Response:
    handler = route.handler
    try:
        if inspect.iscoroutinefunction(handler):
            return await cast(AsyncApexHandler, handler)(req)
        params = {k: v[0] for k, v in req.query.items()}
        sync = cast(SyncApexHandler, handler)
        status, payload = sync(req.method, path, params, _json_body(req))
    except SfError:
        raise
    except Exception as exc:
        raise _apex_error(handler, exc) from exc
    return Response.empty(status) if payload is None else Response.json(payload, status=status)


async def apexrest(req: Request) -> Response:
    path = "/" + req.params.get("rest", "").strip("/")
    routes: list[ApexRoute] = req.org.extensions.get("apex_routes", [])
    matching = [r for r in routes if r.regex.fullmatch(path)]
    if not matching:
        raise SfError(404, "NOT_FOUND", f"Could not find a match for URL {path}")
    best = max(r.specificity for r in matching)
    mapped = [r for r in matching if r.specificity == best]
    verb = "GET" if req.method == "HEAD" else req.method
    route = next((r for r in mapped if r.method == verb), None)
    route = route or next((r for r in mapped if r.method == "*"), None)
    if route is None:
        allowed = ",".join(sorted({r.method for r in mapped}))
        raise SfError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{req.method}' not allowed. Allowed are {allowed}",
        )
    return await _call(route, req, path)


def register(router: Router, state: OrgState) -> None:
    for verb in _VERBS:
        router.add(verb, "/services/apexrest/{rest}", apexrest)
