"""Composite (`/composite`) and composite batch (`/composite/batch`).

Subrequests run through the same `Router` as top-level requests: the matched handler gets a
synthesized `Request` carrying the caller's session and headers, so every endpoint works
inside a composite (including ones registered later, such as /query). They are not counted
as API calls (a composite is one call); a batch counts one per subrequest.

`allOrNone:true` runs the subrequests in one store transaction whose data carries
`all_or_none` (collections honour it); the first failing subrequest rolls everything back,
keeps its own error, and every other item becomes 400 PROCESSING_HALTED. Handlers run
inside that transaction must not yield to the event loop or hand store work to another
thread (the store lock is held by this one).
"""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any
from urllib.parse import unquote

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.org.store import store

log = logging.getLogger("salesforce_typed.testing")

MAX_SUBREQUESTS = 25
MAX_HEAVY = 5  # query/queryAll and collections subrequests per composite (v43+)
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"})
_FORBIDDEN_HEADERS = frozenset({"accept", "authorization", "content-type"})
_REFERENCE = re.compile(r"@\{([^}]+)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_]+$")
_PATH_TOKEN = re.compile(r"[^.\[\]]+|\[\d+\]")
_HEAVY = re.compile(r"^/services/data/v[\d.]+/(query|queryAll|composite/sobjects)(/|$)")
_KEPT_HEADERS = {"location": "Location", "etag": "ETag", "last-modified": "Last-Modified"}
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


class _HaltError(Exception):
    """Raised inside the allOrNone transaction to roll it back."""


class _UnresolvedError(Exception):
    """A `@{ref.path}` that names a failed, unknown or empty result."""


def _envelope_error(message: str, code: str = "INVALID_INPUT") -> SfError:
    return SfError(400, code, message)


async def dispatch(
    router: Router, parent: Request, method: str, url: str, body: Any, headers: dict[str, str]
) -> Response:
    """Run one subrequest through the router as if it had arrived on its own."""
    path, _, query = url.partition("?")
    path = unquote(path)
    sub_headers = {k: v for k, v in parent.headers.items() if k != "content-length"}
    sub_headers["content-type"] = "application/json"
    sub_headers.update({k.lower(): str(v) for k, v in headers.items()})
    try:
        matched = router.match(method, path)
        if matched is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        route, params = matched
        if "version" in params:
            parent.org.check_version(params["version"])
        sub = Request(
            method=method,
            path=path,
            query_string=query,
            headers=sub_headers,
            body=b"" if body is None else json.dumps(body).encode(),
            params=params,
            org=parent.org,
            session=parent.session,
        )
        return await route.handler(sub)
    except SfError as exc:
        return exc.response()
    except Exception:  # a handler bug: this item gets Salesforce's 500, the others go on
        log.exception("fake org subrequest failed: %s %s", method, url)
        return SfError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.").response()


def _json_body(response: Response) -> Any:
    if not response.body:
        return None
    try:
        return json.loads(response.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.body.decode("utf-8", "replace")


def _walk(results: dict[str, Any], failed: set[str], expr: str) -> Any:
    tokens = _PATH_TOKEN.findall(expr)
    ref = tokens[0] if tokens else ""
    if ref in failed:
        raise _UnresolvedError(
            f"Invalid reference specified. No value for {expr} found in {ref}. "
            f"Provided referenceId ('{ref}') refers to a failed request."
        )
    if ref not in results:
        raise _UnresolvedError(f"Invalid reference specified. No value for {expr} found in {ref}.")
    value = results[ref]
    for token in tokens[1:]:
        if token.startswith("[") and isinstance(value, list) and int(token[1:-1]) < len(value):
            value = value[int(token[1:-1])]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            raise _UnresolvedError(
                f"Invalid reference specified. No value for {expr} found in {ref}."
            )
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _substitute(value: Any, results: dict[str, Any], failed: set[str]) -> Any:
    """`@{ref.path}` in strings; a string that is one whole reference keeps the value's type."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _walk(results, failed, whole.group(1))
        return _REFERENCE.sub(lambda m: _text(_walk(results, failed, m.group(1))), value)
    if isinstance(value, list):
        return [_substitute(v, results, failed) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, results, failed) for k, v in value.items()}
    return value


def _halted(reference_id: str, message: str = HALTED) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference_id,
    }


def _validate(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """The subrequests of a composite body; envelope errors fail it before anything runs."""
    items = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise _envelope_error("compositeRequest must be a non-empty array")
    if len(items) > MAX_SUBREQUESTS:
        raise _envelope_error(
            f"Composite request has {len(items)} subrequests; the limit is {MAX_SUBREQUESTS}",
            "LIMIT_EXCEEDED",
        )
    heavy = check_items(items)
    if heavy > MAX_HEAVY:
        raise _envelope_error(
            f"A composite request may hold at most {MAX_HEAVY} query or collections subrequests",
            "LIMIT_EXCEEDED",
        )
    return items, body.get("allOrNone") is True


def check_items(items: list[Any]) -> int:
    """Envelope checks every composite subrequest passes (composite and graph alike); the
    number of query/collections subrequests."""
    seen: set[str] = set()
    heavy = 0
    for item in items:
        if not isinstance(item, dict):
            raise _envelope_error("Each subrequest must be an object")
        ref, method, url = item.get("referenceId"), item.get("method"), item.get("url")
        if not isinstance(ref, str) or not _REFERENCE_ID.match(ref):
            raise _envelope_error(f"Invalid referenceId: {ref}")
        if ref in seen:
            raise _envelope_error(f"Duplicate referenceId provided in the request: {ref}")
        seen.add(ref)
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _envelope_error(f"Invalid HTTP method for {ref}: {method}")
        if not isinstance(url, str) or not url.startswith("/services/data/"):
            raise _envelope_error(f"The url of {ref} must start with /services/data/")
        headers = item.get("httpHeaders") or {}
        if not isinstance(headers, dict) or _FORBIDDEN_HEADERS & {h.lower() for h in headers}:
            raise _envelope_error(
                f"Subrequest {ref} may not set the Accept, Authorization or Content-Type header"
            )
        heavy += bool(_HEAVY.match(url.partition("?")[0]))
    return heavy


async def run(
    router: Router, req: Request, item: dict[str, Any], results: dict[str, Any], failed: set[str]
) -> dict[str, Any]:
    """One composite subrequest, its `@{ref.field}` references resolved, dispatched through
    the org's own router."""
    ref = str(item["referenceId"])
    try:
        url = _substitute(item["url"], results, failed)
        body = _substitute(item.get("body"), results, failed)
    except _UnresolvedError as exc:
        failed.add(ref)
        return _halted(ref, str(exc))
    response = await dispatch(
        router, req, str(item["method"]).upper(), url, body, item.get("httpHeaders") or {}
    )
    result = _json_body(response)
    if response.status >= 400:
        failed.add(ref)
    else:
        results[ref] = result
    kept = {_KEPT_HEADERS[k]: v for k, v in response.headers if k in _KEPT_HEADERS}
    return {
        "body": result,
        "httpHeaders": kept,
        "httpStatusCode": response.status,
        "referenceId": ref,
    }


async def composite(router: Router, req: Request) -> Response:
    items, all_or_none = _validate(req.json())
    results: dict[str, Any] = {}
    failed: set[str] = set()
    out: list[dict[str, Any]] = []
    if not all_or_none:
        for item in items:
            out.append(await run(router, req, item, results, failed))
        return Response.json({"compositeResponse": out})
    out, _ = await run_all_or_none(router, req, items)
    return Response.json({"compositeResponse": out})


async def run_all_or_none(
    router: Router, req: Request, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], bool]:
    """Subrequests in one transaction: the first failure rolls back, keeps its own error
    and halts every other item. Returns the results and whether all succeeded."""
    results: dict[str, Any] = {}
    failed: set[str] = set()
    out: list[dict[str, Any]] = []
    try:
        with store(req.org).transaction() as data:
            data["all_or_none"] = True
            for item in items:
                entry = await run(router, req, item, results, failed)
                out.append(entry)
                if entry["httpStatusCode"] >= 400 or data.pop("failed", False):
                    raise _HaltError
    except _HaltError:
        failing = len(out) - 1
        refs = [str(item["referenceId"]) for item in items]
        return [out[i] if i == failing else _halted(refs[i]) for i in range(len(items))], False
    return out, True


async def batch(router: Router, req: Request) -> Response:
    body = req.json()
    items = body.get("batchRequests") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise _envelope_error("batchRequests must be a non-empty array")
    if len(items) > MAX_SUBREQUESTS:
        raise _envelope_error(
            f"A batch may hold at most {MAX_SUBREQUESTS} subrequests", "LIMIT_EXCEEDED"
        )
    halt = body.get("haltOnError") is True
    results: list[dict[str, Any]] = []
    halted = False
    for n, item in enumerate(items):
        if halted:
            error = {
                "errorCode": "BATCH_PROCESSING_HALTED",
                "message": "Batch processing halted",
            }
            results.append({"statusCode": 412, "result": [error]})
            continue
        method = str(item.get("method", "")).upper() if isinstance(item, dict) else ""
        url = str(item.get("url", "")) if isinstance(item, dict) else ""
        if method not in _METHODS or not url:
            raise _envelope_error(f"Invalid batch subrequest at index {n}")
        if not url.startswith("/services/data/"):
            url = "/services/data/" + url.lstrip("/")
        try:
            if n:  # the batch itself was counted once: one API call per subrequest
                req.org.count_api_call()
            response = await dispatch(router, req, method, url, item.get("richInput"), {})
        except SfError as exc:
            response = exc.response()
        results.append({"statusCode": response.status, "result": _json_body(response)})
        halted = halt and response.status >= 400
    has_errors = any(r["statusCode"] >= 400 for r in results)
    return Response.json({"hasErrors": has_errors, "results": results})


def register(router: Router, state: OrgState) -> None:
    # Subrequests are dispatched through the same router, so the handlers take it first.
    router.add_all(
        (
            ("POST", "/services/data/v{version}/composite", partial(composite, router)),
            ("POST", "/services/data/v{version}/composite/batch", partial(batch, router)),
        )
    )
