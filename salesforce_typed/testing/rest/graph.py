"""Composite graph (`POST /composite/graph`, v50+): independent graphs of composite
subrequests, each all-or-none, answered `{graphs: [{graphId, graphResponse, isSuccessful}]}`.

Each graph runs like a composite with `allOrNone: true` (the same `run_all_or_none`): the
failing node keeps its error, the others get PROCESSING_HALTED. Documented limits: 75 graphs,
500 nodes in one graph and in the whole payload, depth 15 (a chain of `@{ref}` uses), and
after 14 failed graphs the rest are halted without running.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Final

from salesforce_typed.testing.org.http import Request, Response, Router, SfError
from salesforce_typed.testing.org.state import OrgState
from salesforce_typed.testing.rest.composite import HALTED, check_items, run_all_or_none

MAX_GRAPHS: Final = 75
MAX_NODES: Final = 500
MAX_DEPTH: Final = 15
MAX_FAILURES: Final = 14
MAX_DIFFERENT: Final = 15  # distinct (API version, method, object) nodes in one payload
_RESOURCE: Final = re.compile(
    r"^/services/data/v([\d.]+)/((?:composite/)?sobjects(?:/([^/?]+))?|[^/?]+)", re.IGNORECASE
)
MIN_VERSION: Final = 50.0
_USE: Final = re.compile(r"@\{([A-Za-z0-9_]+)")


def _bad(message: str, code: str = "INVALID_INPUT") -> SfError:
    return SfError(400, code, message)


def _depth(items: list[dict[str, Any]]) -> int:
    """The longest chain of references between the graph's nodes (a node alone is 1)."""
    depth: dict[str, int] = {}
    for item in items:
        text = f"{item.get('url')} {item.get('body')}"
        used = [depth.get(ref, 0) for ref in _USE.findall(text)]
        depth[str(item["referenceId"])] = 1 + max(used, default=0)
    return max(depth.values(), default=0)


def _kind(item: dict[str, Any]) -> tuple[str, ...]:
    """What makes two nodes "different" for the limit: version, method, resource and object."""
    found = _RESOURCE.match(str(item["url"]))
    if found is None:
        return (str(item["method"]).upper(), str(item["url"]))
    version, resource, sobject = found.groups()
    return (version, str(item["method"]).upper(), resource.lower(), (sobject or "").lower())


def validate(body: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """(graphId, nodes) of each graph; an envelope error fails the whole request."""
    graphs = body.get("graphs") if isinstance(body, dict) else None
    if not isinstance(graphs, list) or not graphs:
        raise _bad("graphs must be a non-empty array", "JSON_PARSER_ERROR")
    if len(graphs) > MAX_GRAPHS:
        raise _bad(f"A request can hold at most {MAX_GRAPHS} graphs", "LIMIT_EXCEEDED")
    out: list[tuple[str, list[dict[str, Any]]]] = []
    seen: set[str] = set()
    kinds: set[tuple[str, ...]] = set()
    total = 0
    for graph in graphs:
        if not isinstance(graph, dict):
            raise _bad("Each graph must be a JSON object", "JSON_PARSER_ERROR")
        graph_id = graph.get("graphId")
        items = graph.get("compositeRequest")
        if not isinstance(graph_id, str) or not graph_id:
            raise _bad("Each graph needs a graphId")
        if graph_id in seen:
            raise _bad(f"Duplicate graphId provided in the request: {graph_id}")
        seen.add(graph_id)
        if not isinstance(items, list) or not items:
            raise _bad(f"compositeRequest of graph {graph_id} must be a non-empty array")
        total += len(items)
        if len(items) > MAX_NODES or total > MAX_NODES:
            raise _bad(f"A graph request can hold at most {MAX_NODES} nodes", "LIMIT_EXCEEDED")
        check_items(items)
        kinds.update(_kind(item) for item in items)
        if len(kinds) > MAX_DIFFERENT:
            raise _bad(
                f"A graph request can use at most {MAX_DIFFERENT} different nodes (API "
                "version, HTTP method and object)",
                "LIMIT_EXCEEDED",
            )
        if _depth(items) > MAX_DEPTH:
            raise _bad(f"Graph {graph_id} is deeper than {MAX_DEPTH} levels", "LIMIT_EXCEEDED")
        out.append((graph_id, items))
    return out


def _halted_graph(graph_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    halted = [
        {
            "body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}],
            "httpHeaders": {},
            "httpStatusCode": 400,
            "referenceId": str(item["referenceId"]),
        }
        for item in items
    ]
    return {
        "graphId": graph_id,
        "graphResponse": {"compositeResponse": halted},
        "isSuccessful": False,
    }


async def graph(router: Router, req: Request) -> Response:
    if float(req.api_version) < MIN_VERSION:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    graphs = validate(req.json())
    out: list[dict[str, Any]] = []
    failures = 0
    for graph_id, items in graphs:
        if failures > MAX_FAILURES:
            out.append(_halted_graph(graph_id, items))
            continue
        results, ok = await run_all_or_none(router, req, items)
        failures += not ok
        out.append(
            {
                "graphId": graph_id,
                "graphResponse": {"compositeResponse": results},
                "isSuccessful": ok,
            }
        )
    return Response.json({"graphs": out})


def register(router: Router, state: OrgState) -> None:
    router.add("POST", "/services/data/v{version}/composite/graph", partial(graph, router))
