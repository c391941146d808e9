"""The lineage graph: node names, recording edges, and walking the graph around a node.

A node is a string. ``table:raw.customers`` is a table, ``table:raw.customers@3`` one
version of it, ``run:<run id>`` a tracking run and ``job:<name>`` a job. Users may leave
out the ``table:`` prefix (``raw.customers@3``); :func:`parse_node` puts it back. An edge
``source -> target`` says the source fed the target; its ``kind`` says how:
``version_of`` (a table to each of its versions), ``derived_from`` (an input table version
to a view version computed from it), ``read_by`` (a table version to a run),
``produced_by``, ``restored_from``, or any other lower-case word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from podium.data.catalog.models import LineageEdge, LineageGraph, LineageNode, NodeKind
from podium.data.catalog.rows import LineageEdgeRow
from podium.data.names import parse_table_name
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
MAX_DEPTH = 10
MAX_NODES = 500

_EDGE_KIND = re.compile(EDGE_KIND_PATTERN)
_OTHER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+\-]{0,255}$")
_PREFIXES = ("table", "run", "job", "feature_view")
_IN_CHUNK = 500


def parse_node(text: str) -> str:
    """The stored id of node ``text``: ``raw.customers@3`` becomes ``table:raw.customers@3``.

    Table names and versions are validated; ``run:`` and ``job:`` ids must be one word.
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
    if prefix in _PREFIXES and _OTHER_ID.fullmatch(rest):
        return f"{prefix}:{rest}"
    raise _bad_node(text)


def _bad_node(text: object) -> InvalidInputError:
    return InvalidInputError(
        f"a lineage node must be 'table:zone.name', 'table:zone.name@N', 'run:<id>' or "
        f"'job:<name>'; got {text!r} instead",
        field="node",
        remedy="name a table ('raw.customers'), a table version ('raw.customers@3'), "
        "a run ('run:0f3a...') or a job ('job:nightly-etl')",
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
    name, at, version = node.removeprefix("table:").partition("@")
    return name, int(version) if at else None


def lineage_node(node: str) -> LineageNode:
    """The node with its kind and a label for people (the id without its prefix)."""
    prefix, _, rest = node.partition(":")
    kind: NodeKind
    if prefix == "table":
        kind = "table_version" if "@" in rest else "table"
    elif prefix == "run":
        kind = "run"
    else:
        kind = "job"
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


def touches(session: Session, project_id: int, node: str) -> bool:
    """Whether any edge of the project starts or ends at ``node``."""
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
    session: Session, project_id: int, nodes: Iterable[str], *, downstream: bool
) -> list[tuple[str, str, str]]:
    end = LineageEdgeRow.source if downstream else LineageEdgeRow.target
    ordered = sorted(nodes)
    found: list[tuple[str, str, str]] = []
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        rows = session.execute(
            select(LineageEdgeRow.source, LineageEdgeRow.target, LineageEdgeRow.kind).where(
                LineageEdgeRow.project_id == project_id, end.in_(chunk)
            )
        ).all()
        found.extend((row.source, row.target, row.kind) for row in rows)
    return found


def walk(session: Session, project_id: int, root: str, *, depth: int) -> LineageGraph:
    """The graph up to ``depth`` edges upstream and downstream of ``root``.

    A table (``table:raw.customers``) stands for all its versions: the walk starts from
    each of them. Every table version reached is shown with its table (``version_of``).
    """
    seeds = {root}
    if (parsed := table_of(root)) is not None and parsed[1] is None:
        seeds |= {t for s, t, k in _edges_at(session, project_id, [root], downstream=True)}
    nodes = set(seeds)
    edges: set[tuple[str, str, str]] = set()
    truncated = False
    for downstream in (True, False):
        frontier, seen = set(seeds), set(seeds)
        for _ in range(depth):
            if not frontier or truncated:
                break
            reached: set[str] = set()
            for edge in _edges_at(session, project_id, frontier, downstream=downstream):
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
