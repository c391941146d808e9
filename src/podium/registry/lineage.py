"""The lineage of a model version: one graph with the data catalog's.

Node ids are the catalog's (:mod:`podium.data.catalog.lineage`): ``model:churn/3`` for a
version, ``run:<run id>`` for a tracking run, ``table:raw.customers@3`` for a table
version, ``deployment:churn`` for a deployment (any other recorded input is kept as
``input:<as recorded>``). An edge ``source -> target`` says the source fed the target.

The registry records its own edges in the catalog when a version is registered
(``produced``: its run to it; ``derived_from``: its source version to it), so the
catalog's walk goes from a raw table through the training set and the run to the version
and on to the deployments serving it, and back. :func:`version_lineage` asks the catalog
(any :class:`LineageStore`) for the graph around a version, adds what the version itself
recorded (so versions registered before their edges were stored still show their run,
inputs and sources), and describes each model version with its stage and flavor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from podium.data.catalog.models import MAX_DEPTH, LineageEdge, LineageGraph
from podium.data.names import TableRef
from podium.errors import NotFoundError
from podium.registry.types import ModelLineage, ModelVersion

__all__ = ["MAX_ANCESTORS", "LineageStore", "record_version_edges", "version_lineage"]

MAX_ANCESTORS = 50
"""How many ``derived_from`` steps of a version's own record are followed at most."""


Edge = tuple[str, str, str]


class LineageStore(Protocol):
    """Where lineage edges are kept and walked: the project's data catalog."""

    def record_lineage(self, source: str, target: str, kind: str) -> LineageEdge:
        """Record that ``source`` fed ``target`` (idempotent)."""
        ...

    def lineage(self, node: str, *, depth: int = MAX_DEPTH) -> LineageGraph:
        """The ancestors and descendants of ``node``, ``depth`` edges each way."""
        ...


def record_version_edges(store: LineageStore, version: ModelVersion) -> None:
    """Store the edges of a new version: ``run -> version``, ``source -> version``."""
    node = f"model:{version.ref}"
    if version.run_id:
        store.record_lineage(f"run:{version.run_id}", node, "produced")
    if version.derived_from:
        store.record_lineage(f"model:{version.derived_from}", node, "derived_from")


def version_lineage(
    get_version: Callable[[str], ModelVersion],
    version: ModelVersion,
    *,
    store: LineageStore | None = None,
    depth: int = MAX_DEPTH,
) -> ModelLineage:
    """The graph around ``version``, each model version met described.

    ``get_version`` looks up the other versions met (to describe them).
    """
    root = f"model:{version.ref}"
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[Edge] = set()
    truncated = False
    if store is not None:
        try:
            graph = store.lineage(root, depth=depth)
        except NotFoundError:
            graph = None  # no edge stored around it: what the version recorded is all
        if graph is not None:
            nodes.update({n.id: n.model_dump() for n in graph.nodes})
            edges.update((e.source, e.target, e.kind) for e in graph.edges)
            truncated = graph.truncated
    _add_recorded(get_version, version, nodes, edges, depth)
    for node_id, node in nodes.items():
        if node["kind"] == "model_version":
            found = version if node_id == root else _find(get_version, str(node["label"]))
            if found is not None:
                nodes[node_id] = _model_node(found)
    return ModelLineage.model_validate(
        {
            "root": root,
            "nodes": [nodes[key] for key in sorted(nodes)],
            "edges": [{"source": s, "target": t, "kind": k} for s, t, k in sorted(edges)],
            "truncated": truncated,
        }
    )


def _add_recorded(
    get_version: Callable[[str], ModelVersion],
    version: ModelVersion,
    nodes: dict[str, dict[str, Any]],
    edges: set[Edge],
    depth: int,
) -> None:
    """What ``version`` and the versions it derives from recorded at registration, up to
    ``depth`` edges from ``version``."""
    current: ModelVersion | None = version
    seen: set[str] = set()
    for distance in range(min(depth, MAX_ANCESTORS) + 1):
        if current is None or current.ref in seen:
            break
        seen.add(current.ref)
        node = f"model:{current.ref}"
        nodes.setdefault(node, {"id": node, "kind": "model_version", "label": current.ref})
        if current.run_id and distance < depth:
            run = f"run:{current.run_id}"
            nodes.setdefault(run, {"id": run, "kind": "run", "label": current.run_id})
            edges.add((run, node, "produced"))
            for ref in current.inputs if distance + 1 < depth else ():
                found = TableRef.find(ref)
                if found is not None:
                    kind = "table" if found.version is None else "table_version"
                    table = f"table:{ref}"
                else:
                    table, kind = f"input:{ref}", "input"
                nodes.setdefault(table, {"id": table, "kind": kind, "label": ref})
                edges.add((table, run, "read_by"))
        if current.derived_from is None or distance == depth:
            break
        parent = get_version(current.derived_from)
        edges.add((f"model:{parent.ref}", node, "derived_from"))
        current = parent


def _find(get_version: Callable[[str], ModelVersion], ref: str) -> ModelVersion | None:
    try:
        return get_version(ref)
    except NotFoundError:
        return None  # gone since the edge was recorded: shown without its details


def _model_node(version: ModelVersion) -> dict[str, Any]:
    return {
        "id": f"model:{version.ref}",
        "kind": "model_version",
        "label": version.ref,
        "stage": version.stage,
        "flavor": version.flavor,
        "code_version": version.code_version,
        "metrics": dict(version.metrics),
    }
