"""What the catalog hands back: table descriptions, search hits and lineage graphs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "MAX_DEPTH",
    "CatalogHit",
    "ColumnDescription",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "MatchedField",
    "NodeKind",
    "TableDescription",
]

MAX_DEPTH = 10
"""The most edges a lineage walk follows each way (and its default)."""

MatchedField = Literal["name", "description", "tag", "column"]
NodeKind = Literal[
    "table",
    "table_version",
    "run",
    "job",
    "feature_view",
    "model_version",
    "deployment",
    "input",  # a run's recorded input that names no table (the registry's graph only)
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class _ReadAsDict(_Frozen):
    # Lineage graphs were plain dicts before (``graph["nodes"]``, ``node["kind"]``,
    # ``{"source": ..., ...} in graph["edges"]``): they still read, and compare, as one.

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when it is None or not a field."""
        value = getattr(self, key) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in type(self).model_fields

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.model_dump() == dict(other)
        return super().__eq__(other)

    __hash__ = _Frozen.__hash__


class ColumnDescription(_Frozen):
    """One column of a table: its schema and what people wrote about it."""

    name: str
    type: str
    nullable: bool
    description: str = ""


class TableDescription(_Frozen):
    """Everything the catalog knows about a table.

    ``version`` is the current version, ``versions`` how many commits the table has,
    ``last_modified`` its freshness (the newest commit's time). ``upstream`` lists the
    lineage nodes that fed any version of the table (``table:raw.orders@4``, ``job:etl``),
    ``downstream`` the nodes any version fed (``run:...``, ``table:curated.x@0``).
    """

    name: str
    owner: str
    description: str
    tags: list[str]
    columns: list[ColumnDescription]
    row_count: int
    size_bytes: int
    version: int
    versions: int
    created_at: datetime
    last_modified: datetime
    partition_columns: list[str]
    upstream: list[str]
    downstream: list[str]


class CatalogHit(_Frozen):
    """A table matching a search, its relevance ``score`` and the fields that matched."""

    name: str
    score: float
    matched: list[MatchedField]


class LineageNode(_ReadAsDict):
    """A node of the lineage graph: ``id`` as stored (``table:raw.customers@3``)."""

    id: str
    kind: NodeKind
    label: str


class LineageEdge(_ReadAsDict):
    """``source`` fed ``target``; ``kind`` says how (``derived_from``, ``read_by``, ...)."""

    source: str
    target: str
    kind: str


class LineageGraph(_ReadAsDict):
    """The nodes around a node and the edges between them: its ancestors (upstream) and
    descendants (downstream), from raw tables through runs and model versions to the
    deployments serving them.

    ``truncated`` is true when the walk stopped at the node limit before ``depth``.
    """

    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = False

    def _repr_html_(self) -> str:
        from podium.notebook.data import lineage_html

        return lineage_html(self)
