"""Composite graph (`POST /composite/graph`, v50+): independent graphs of subrequests, each
all-or-none, in one API call.

`CompositeGraph.graph(id)` hands out a `GraphRequest`: the composite builder (same verbs,
same `Ref` references) with the graph's limits instead of composite's 25 subrequests.
Limits checked while building: 75 graphs, 500 nodes in one graph and in the whole request,
unique graph ids. `GraphResult[id]` is that graph's `CompositeResult`; failed nodes map to
the error tree as composite subresponses do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from salesforce_typed.core.endpoints import RequestSpec
from salesforce_typed.core.errors import UsageError
from salesforce_typed.rest.composite import CompositeRequest, CompositeResult, parse_composite

__all__ = [
    "MAX_GRAPHS",
    "MAX_NODES",
    "CompositeGraph",
    "GraphOutcome",
    "GraphRequest",
    "GraphResult",
]

MAX_GRAPHS: Final = 75
MAX_NODES: Final = 500  # in one graph and in the whole request


class GraphRequest(CompositeRequest):
    """One graph: composite verbs and references, all-or-none, up to 500 nodes."""

    max_subrequests = MAX_NODES
    max_limited = None

    def __init__(self, graph_id: str) -> None:
        super().__init__(all_or_none=True)
        self.graph_id = graph_id


class CompositeGraph:
    """The graphs of one `/composite/graph` request, in the order they were opened."""

    def __init__(self) -> None:
        self._graphs: dict[str, GraphRequest] = {}

    def __len__(self) -> int:
        return len(self._graphs)

    def graph(self, graph_id: str | None = None) -> GraphRequest:
        """Open a new graph (id generated when not given)."""
        if graph_id is None:
            n = len(self._graphs) + 1
            while f"graph{n}" in self._graphs:
                n += 1
            graph_id = f"graph{n}"
        if not graph_id:
            raise UsageError("a graphId cannot be empty")
        if graph_id in self._graphs:
            raise UsageError(f"graphId {graph_id!r} is already used in this request")
        if len(self._graphs) >= MAX_GRAPHS:
            raise UsageError(f"at most {MAX_GRAPHS} graphs per request")
        made = GraphRequest(graph_id)
        self._graphs[graph_id] = made
        return made

    def build(self, api_version: str) -> RequestSpec:
        graphs = [g for g in self._graphs.values() if len(g)]
        if not graphs:
            raise UsageError("a composite graph request needs at least one non-empty graph")
        total = sum(len(g) for g in graphs)
        if total > MAX_NODES:
            raise UsageError(f"at most {MAX_NODES} nodes per request, got {total}")
        body = [{"graphId": g.graph_id, "compositeRequest": g.items(api_version)} for g in graphs]
        return RequestSpec(
            method="POST",
            path="/composite/graph",
            json={"graphs": body},
            idempotent=all(g.idempotent for g in graphs),
        )

    def parse(self, data: Any) -> GraphResult:
        result = parse_graph(data)
        outcomes = []
        for outcome in result.graphs:
            sent = self._graphs.get(outcome.graph_id)
            if sent is not None:
                raw = {"compositeResponse": outcome.raw}
                outcome = attrs.evolve(outcome, result=sent.parse(raw))
            outcomes.append(outcome)
        return GraphResult(tuple(outcomes))


@attrs.frozen(kw_only=True, slots=True)
class GraphOutcome:
    """One graph's answer: whether it committed, and each node's subresponse."""

    graph_id: str
    ok: bool
    result: CompositeResult
    raw: list[Any] = attrs.field(factory=list, repr=False, eq=False)


@attrs.frozen(slots=True)
class GraphResult(Mapping[str, CompositeResult]):
    """graphId -> that graph's `CompositeResult`; `.graphs` keeps `isSuccessful` per graph."""

    graphs: tuple[GraphOutcome, ...]

    def __getitem__(self, graph_id: str) -> CompositeResult:
        for outcome in self.graphs:
            if outcome.graph_id == graph_id:
                return outcome.result
        raise KeyError(f"no graph with graphId {graph_id!r}")

    def __iter__(self) -> Iterator[str]:
        return (g.graph_id for g in self.graphs)

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def ok(self) -> bool:
        """Every graph committed."""
        return all(g.ok for g in self.graphs)

    def failed(self) -> list[str]:
        """The ids of the graphs that were rolled back."""
        return [g.graph_id for g in self.graphs if not g.ok]


def parse_graph(data: Any) -> GraphResult:
    """`{"graphs": [{graphId, graphResponse: {compositeResponse}, isSuccessful}]}`."""
    graphs = data.get("graphs") if isinstance(data, Mapping) else None
    if not isinstance(graphs, list) or not all(isinstance(g, Mapping) for g in graphs):
        raise UsageError("not a composite graph response: no graphs array of objects")
    out = []
    for g in graphs:
        response = g.get("graphResponse")
        raw = response.get("compositeResponse") if isinstance(response, Mapping) else None
        items = raw if isinstance(raw, list) else []
        out.append(
            GraphOutcome(
                graph_id=str(g.get("graphId") or ""),
                ok=g.get("isSuccessful") is True,
                result=parse_composite({"compositeResponse": items}),
                raw=items,
            )
        )
    return GraphResult(tuple(out))
