"""The lineage graph: node names, recording edges, and walking the graph around a node.

A node is a string. ``table:raw.customers`` is a table, ``table:raw.customers@3`` one
version of it, ``run:<run id>`` a tracking run, ``job:<name>`` a job,
``feature_view:<name>@<version>`` a feature view, ``model:<name>/<version>`` a model
version and ``deployment:<name>`` a deployment. Users may leave out the ``table:`` prefix
(``raw.customers@3``); :func:`parse_node` puts it back. An edge ``source -> target`` says
the source fed the target; its ``kind`` says how: ``version_of`` (a table to each of its
versions), ``derived_from`` (an input table version to a view version computed from it,
or a model version to one converted from it), ``read_by`` (a table version to a run),
``features`` (a feature view to a training set), ``produced`` (a run to the model version
it trained), ``stable_in`` / ``canary_in`` / ``shadow_in`` / ``staged_in`` (a model
version to the deployment serving it), or any other lower-case word.

Most edges are stored when they happen; a few are *live*: derived at read time from
another area's current state (what each deployment serves now) and passed to
:func:`walk`, which treats both alike. The walk follows edges up (ancestors) and down
(descendants) from its root, each way at most ``depth`` edges and :data:`MAX_NODES` nodes,
visiting each node once, so cycles end it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from podium.data.catalog.models import (
    MAX_DEPTH,
    LineageEdge,
    LineageGraph,
    LineageNode,
    NodeKind,
)
from podium.data.catalog.rows import LineageEdgeRow
from podium.data.names import TableRef, parse_table_name
from podium.errors import InvalidInputError
from podium.store.base import utcnow

__all__ = [
    "EDGE_KIND_PATTERN",
    "MAX_DEPTH",
    "MAX_NODES",
    "check_edge_kind",
    "insert_edge",
    "lineage_node",
    "parse_node",
    "table_of",
    "touches",
    "walk",
]

EDGE_KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
MAX_NODES = 500

_EDGE_KIND = re.compile(EDGE_KIND_PATTERN)
_MODEL_VERSION = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}/[1-9][0-9]{0,8}$")
_OTHER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+\-]{0,255}$")
_PREFIXES = ("table", "run", "job", "feature_view", "model", "deployment")
_KINDS: dict[str, NodeKind] = {
    "run": "run",
    "job": "job",
    "feature_view": "feature_view",
    "model": "model_version",
    "deployment": "deployment",
}

Edge = tuple[str, str, str]
"""``(source, target, kind)``."""
_IN_CHUNK = 500


def parse_node(text: str) -> str:
    """The stored id of node ``text``: ``raw.customers@3`` becomes ``table:raw.customers@3``.

    Table names and versions are validated; other ids (``run:``, ``job:``,
    ``feature_view:``, ``model:``, ``deployment:``) must be one word.
    """
    if not isinstance(text, str) or not text.strip():
        raise _bad_node(text)
    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if not sep:
        prefix, rest = "table", text
    if prefix == "table":
        name, at, version = rest.partition("@")
        table = parse_table_name(name)
        if at and not (version.isascii() and version.isdigit()):
            raise _bad_node(text)
        return f"table:{table}@{int(version)}" if at else f"table:{table}"
    if prefix == "model" and not _MODEL_VERSION.fullmatch(rest):
        raise _bad_node(text)  # one version: the registry resolves stages and aliases
    if prefix in _PREFIXES and _OTHER_ID.fullmatch(rest):
        return f"{prefix}:{rest}"
    raise _bad_node(text)


def _bad_node(text: object) -> InvalidInputError:
    return InvalidInputError(
        f"a lineage node must be 'table:zone.name', 'table:zone.name@N', 'run:<id>', "
        f"'job:<name>', 'feature_view:<name>@N', 'model:<name>/N' or 'deployment:<name>'; "
        f"got {text!r} instead",
        field="node",
        remedy="name a table ('raw.customers'), a table version ('raw.customers@3'), "
        "a run ('run:0f3a...'), a job ('job:nightly-etl'), a model version "
        "('model:customer-churn/1') or a deployment ('deployment:customer-churn')",
    )


def check_edge_kind(kind: str) -> str:
    """``kind`` if it is a valid edge kind (a lower-case word), else an error."""
    if not isinstance(kind, str) or not _EDGE_KIND.fullmatch(kind):
        raise InvalidInputError(
            f"the 'kind' parameter must match {EDGE_KIND_PATTERN}; got {kind!r} instead",
            field="kind",
            remedy="use e.g. 'derived_from', 'read_by' or 'produced_by'",
        )
    return kind


def table_of(node: str) -> tuple[str, int | None] | None:
    """``("raw.customers", 3)`` for ``table:raw.customers@3``; ``None`` for a non-table node."""
    if not node.startswith("table:"):
        return None
    table = TableRef.find(node.removeprefix("table:"))
    return None if table is None else (table.table, table.version)


def lineage_node(node: str) -> LineageNode:
    """The node with its kind and a label for people (the id without its prefix)."""
    prefix, _, rest = node.partition(":")
    kind: NodeKind
    if prefix == "table":
        kind = "table_version" if "@" in rest else "table"
    else:
        kind = _KINDS.get(prefix, "job")
    return LineageNode(id=node, kind=kind, label=rest)


def insert_edge(
    session: Session, project_id: int, source: str, target: str, kind: str, *, is_sqlite: bool
) -> None:
    """Record the edge unless it exists (concurrent recorders of the same edge are fine)."""
    values = {
        "project_id": project_id,
        "source": source,
        "target": target,
        "kind": kind,
        "created_at": utcnow(),
    }
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    session.execute(dialect_insert(LineageEdgeRow).values(values).on_conflict_do_nothing())


def touches(session: Session, project_id: int, node: str, live: Sequence[Edge] = ()) -> bool:
    """Whether any edge of the project (stored or ``live``) starts or ends at ``node``."""
    if any(node in (source, target) for source, target, _ in live):
        return True
    found = session.scalar(
        select(LineageEdgeRow.id)
        .where(
            LineageEdgeRow.project_id == project_id,
            or_(LineageEdgeRow.source == node, LineageEdgeRow.target == node),
        )
        .limit(1)
    )
    return found is not None


def _edges_at(
    session: Session,
    project_id: int,
    nodes: Iterable[str],
    *,
    downstream: bool,
    live: Sequence[Edge] = (),
) -> list[Edge]:
    end = LineageEdgeRow.source if downstream else LineageEdgeRow.target
    ordered = sorted(nodes)
    wanted = set(ordered)
    found: list[Edge] = [e for e in live if (e[0] if downstream else e[1]) in wanted]
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        rows = session.execute(
            select(LineageEdgeRow.source, LineageEdgeRow.target, LineageEdgeRow.kind).where(
                LineageEdgeRow.project_id == project_id, end.in_(chunk)
            )
        ).all()
        found.extend((row.source, row.target, row.kind) for row in rows)
    return found


def walk(
    session: Session, project_id: int, root: str, *, depth: int, live: Sequence[Edge] = ()
) -> LineageGraph:
    """The graph up to ``depth`` edges upstream and downstream of ``root``.

    Upstream reaches the root's ancestors (what fed it, what fed those, ...), downstream
    its descendants; ``live`` edges are walked like stored ones. A table
    (``table:raw.customers``) stands for all its versions: the walk starts from each of
    them. Every table version reached is shown with its table (``version_of``).
    """
    seeds = {root}
    if (parsed := table_of(root)) is not None and parsed[1] is None:
        seeds |= {t for s, t, k in _edges_at(session, project_id, [root], downstream=True)}
    nodes = set(seeds)
    edges: set[Edge] = set()
    truncated = False
    for downstream in (True, False):
        frontier, seen = set(seeds), set(seeds)
        for _ in range(depth):
            if not frontier or truncated:
                break
            reached: set[str] = set()
            found = _edges_at(session, project_id, frontier, downstream=downstream, live=live)
            for edge in found:
                other = edge[1] if downstream else edge[0]
                if other not in nodes and len(nodes) >= MAX_NODES:
                    truncated = True
                    continue
                edges.add(edge)
                nodes.add(other)
                if other not in seen:
                    seen.add(other)
                    reached.add(other)
            frontier = reached
    for node in list(nodes):
        parsed = table_of(node)
        if parsed is not None and parsed[1] is not None:
            table = f"table:{parsed[0]}"
            nodes.add(table)
            edges.add((table, node, "version_of"))
    return LineageGraph(
        root=root,
        nodes=[lineage_node(node) for node in sorted(nodes)],
        edges=[LineageEdge(source=s, target=t, kind=k) for s, t, k in sorted(edges)],
        truncated=truncated,
    )
