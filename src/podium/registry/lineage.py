"""The lineage of a model version: version → run → table versions, and its ancestors.

Node ids follow the data catalog's lineage graph: ``model:churn/3`` for a version,
``run:<run id>`` for a tracking run, ``table:raw.customers@3`` for a table version (any
other recorded input is kept as ``input:<as recorded>``). An edge ``source -> target``
says the source fed the target: ``read_by`` (a table version to a run), ``produced``
(a run to the version it trained), ``derived_from`` (a version to one converted from it).
Everything comes from what the version recorded at registration, so no other area is
queried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from podium.registry.types import ModelVersion

__all__ = ["MAX_ANCESTORS", "version_lineage"]

MAX_ANCESTORS = 50
"""How many ``derived_from`` steps are followed at most."""

_TABLE_REF = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(@\d+)?$")


def version_lineage(
    get_version: Callable[[str], ModelVersion], version: ModelVersion
) -> dict[str, Any]:
    """The graph around ``version``: ``{"root", "nodes", "edges"}`` of plain JSON values.

    ``get_version`` looks up the versions ``version`` was derived from.
    """
    root = _model_node(version)
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []
    current: ModelVersion | None = version
    for _ in range(MAX_ANCESTORS):
        if current is None or f"model:{current.ref}" in nodes:
            break
        node = f"model:{current.ref}"
        nodes[node] = _model_node(current)
        if current.run_id:
            run = f"run:{current.run_id}"
            nodes.setdefault(run, {"id": run, "kind": "run", "label": current.run_id})
            edges.append({"source": run, "target": node, "kind": "produced"})
            for ref in current.inputs:
                table = f"table:{ref}" if _TABLE_REF.match(ref) else f"input:{ref}"
                kind = "table" if table.startswith("table:") else "input"
                nodes.setdefault(table, {"id": table, "kind": kind, "label": ref})
                edges.append({"source": table, "target": run, "kind": "read_by"})
        if current.derived_from is None:
            break
        parent = get_version(current.derived_from)
        edges.append({"source": f"model:{parent.ref}", "target": node, "kind": "derived_from"})
        current = parent
    return {"root": root["id"], "nodes": list(nodes.values()), "edges": edges}


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
