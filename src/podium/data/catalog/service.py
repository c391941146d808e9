"""Catalog: owner, description, tags, column docs, search and lineage for the lake's tables.

One instance serves one project. The schema, size, row count, versions and freshness of a
table come from the lake; what people say about it (owner, description, tags, column
descriptions) and the lineage graph live in the metadata DB, every row under the project.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import or_, select

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.data.catalog.entries import column_docs, ensure_entry, entry, set_column_docs
from podium.data.catalog.lineage import (
    MAX_DEPTH,
    check_edge_kind,
    insert_edge,
    parse_node,
    table_of,
    touches,
    walk,
)
from podium.data.catalog.models import (
    CatalogHit,
    ColumnDescription,
    LineageEdge,
    LineageGraph,
    TableDescription,
)
from podium.data.catalog.rows import CatalogColumnRow, CatalogTableRow, LineageEdgeRow
from podium.data.catalog.search import SearchableTable, score_table, search_terms
from podium.data.catalog.validation import MAX_OWNER, check_column_docs, check_tags, check_text
from podium.data.lake import DataLake
from podium.data.names import parse_table_name
from podium.errors import InvalidInputError, NotFoundError
from podium.events.outbox import record_event
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Catalog"]

_MAX_LIMIT = 1_000


class Catalog:
    """The data catalog of one project: describe, document, search and trace its tables.

    >>> catalog.update("raw.customers", owner="ana", tags=["churn", "pii"])  # doctest: +SKIP
    >>> catalog.search("churn")                                              # doctest: +SKIP
    [CatalogHit(name='raw.customers', score=4.0, matched=['tag'])]
    """

    def __init__(
        self,
        db: Database,
        lake: DataLake,
        project: Project,
        *,
        live_edges: Callable[[], Iterable[LineageEdge]] | None = None,
        audit: Auditor | None = None,
    ) -> None:
        """``live_edges`` gives the edges other areas derive from their current state at
        read time (what each deployment serves now); the walk treats them as stored.
        ``audit`` records the changes people make (``catalog.update``)."""
        self._db = db
        self._lake = lake
        self._project = project
        self._live_edges = live_edges
        self._registered: set[str] = set()
        self._audit = audit or Auditor.disabled()

    def with_audit(self, audit: Auditor) -> Catalog:
        """This catalog, for one caller: its changes are recorded through ``audit``.

        The project's catalog is shared by every caller (as its lake is); each caller's
        platform gets a view of it that shares everything but the auditor.
        """
        view = copy.copy(self)
        view._audit = audit
        return view

    # -- describing ----------------------------------------------------------------
    def describe(self, name: str) -> TableDescription:
        """Everything known about table ``name``: schema with column docs, size, lineage."""
        table = str(parse_table_name(name))
        info = self._lake.table_info(table)
        versions = len(self._lake.history(table))
        own = f"table:{table}"
        with self._db.read() as session:
            row = entry(session, self._project.id, table)
            docs = column_docs(session, self._project.id, table)
            edges = session.execute(
                select(LineageEdgeRow.source, LineageEdgeRow.target).where(
                    LineageEdgeRow.project_id == self._project.id,
                    or_(
                        LineageEdgeRow.source == own,
                        LineageEdgeRow.target == own,
                        LineageEdgeRow.source.startswith(f"{own}@", autoescape=True),
                        LineageEdgeRow.target.startswith(f"{own}@", autoescape=True),
                    ),
                )
            ).all()
        mine = {node for edge in edges for node in edge if _is_own(node, table)}
        return TableDescription(
            name=table,
            owner=row.owner if row else "",
            description=row.description if row else "",
            tags=list(row.tags) if row else [],
            columns=[
                ColumnDescription(
                    name=c.name, type=c.type, nullable=c.nullable, description=docs.get(c.name, "")
                )
                for c in info.schema
            ],
            row_count=info.row_count,
            size_bytes=info.size_bytes,
            version=info.version,
            versions=versions,
            created_at=info.created_at,
            last_modified=info.last_modified,
            partition_columns=list(info.partition_columns),
            upstream=sorted({s for s, t in edges if t in mine and s not in mine}),
            downstream=sorted({t for s, t in edges if s in mine and t not in mine}),
        )

    def update(
        self,
        name: str,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        column_descriptions: Mapping[str, str] | None = None,
    ) -> TableDescription:
        """Set the owner, description, tags or column descriptions (see the protocol)."""
        given = {
            "owner": owner,
            "description": description,
            "tags": tags,
            "column_descriptions": column_descriptions,
        }
        with self._audit.attempt("catalog.update", f"table:{name}") as attempt:
            attempt.detail["fields"] = [key for key, value in given.items() if value is not None]
            described = self._update(
                name,
                owner=owner,
                description=description,
                tags=tags,
                column_descriptions=column_descriptions,
            )
            attempt.target = f"table:{described.name}"
        return described

    def _update(
        self,
        name: str,
        *,
        owner: str | None,
        description: str | None,
        tags: list[str] | None,
        column_descriptions: Mapping[str, str] | None,
    ) -> TableDescription:
        table = str(parse_table_name(name))
        check_text("owner", owner, max_length=MAX_OWNER)
        check_text("description", description)
        clean_tags = check_tags(tags) if tags is not None else None
        docs: dict[str, str] = {}
        if column_descriptions is not None:
            columns = [c.name for c in self._lake.table_info(table).schema]
            docs = check_column_docs(table, column_descriptions, columns)
        else:
            self._lake.version(table)  # NotFoundError for an unknown table
        with self._db.write() as session:
            ensure_entry(session, self._project.id, table, owner="", is_sqlite=self._db.is_sqlite)
            row = entry(session, self._project.id, table)
            assert row is not None
            if owner is not None:
                row.owner = owner
            if description is not None:
                row.description = description
            if clean_tags is not None:
                row.tags = clean_tags
            row.updated_at = utcnow()
            set_column_docs(session, self._project.id, table, docs)
        return self.describe(table)

    def register(self, name: str, *, owner: str) -> None:
        """Create the catalog entry of table ``name`` with ``owner`` unless it exists."""
        table = str(parse_table_name(name))
        with self._db.write() as session:
            ensure_entry(
                session, self._project.id, table, owner=owner, is_sqlite=self._db.is_sqlite
            )

    def record_write(
        self, name: str, version: int, *, actor: str, operation: str | None = None
    ) -> None:
        """Note that ``actor`` committed ``version`` of table ``name``.

        Creates the table's entry on its first write (``actor`` becomes the owner) and the
        lineage edge ``table:<name> -> table:<name>@<version>`` (``version_of``). With an
        ``operation`` (``create``, ``append``, ``overwrite``, ``merge``, ``delete``,
        ``restore``) the same transaction records the event ``table.updated`` with payload
        ``{"table": name, "version": version, "operation": operation}``.
        """
        table = str(parse_table_name(name))
        with self._db.write() as session:
            if operation is not None:
                record_event(
                    session,
                    project_id=self._project.id,
                    type="table.updated",
                    subject=f"{table}@{version}",
                    payload={"table": table, "version": version, "operation": operation},
                    actor=actor,
                )
            if table not in self._registered:  # entries are never removed: once is enough
                ensure_entry(
                    session, self._project.id, table, owner=actor, is_sqlite=self._db.is_sqlite
                )
            insert_edge(
                session,
                self._project.id,
                f"table:{table}",
                f"table:{table}@{version}",
                "version_of",
                is_sqlite=self._db.is_sqlite,
            )
        self._registered.add(table)

    # -- searching -----------------------------------------------------------------
    def search(self, text: str, *, limit: int = 50) -> list[CatalogHit]:
        """Tables matching every word of ``text``, best first (see the protocol)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(
                f"the 'text' parameter must be a non-empty string; got {text!r} instead",
                field="text",
                remedy="search for a word of a table's name, description, tags or columns",
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise InvalidInputError(
                f"the 'limit' parameter must be an integer from 1 to {_MAX_LIMIT}; "
                f"got {limit!r} instead",
                field="limit",
            )
        terms = search_terms(text)
        with self._db.read() as session:
            rows = {
                r.name: r
                for r in session.scalars(
                    select(CatalogTableRow).where(CatalogTableRow.project_id == self._project.id)
                )
            }
            docs: dict[str, list[str]] = {}
            for doc in session.scalars(
                select(CatalogColumnRow).where(CatalogColumnRow.project_id == self._project.id)
            ):
                docs.setdefault(doc.table_name, []).append(doc.description)
        hits = []
        for table in self._lake.tables():
            row = rows.get(table)
            searchable = SearchableTable(
                name=table,
                description=row.description if row else "",
                tags=list(row.tags) if row else [],
                columns=[c.name for c in self._lake.table_info(table).schema],
                column_descriptions=docs.get(table, []),
            )
            hit = score_table(terms, searchable)
            if hit is not None:
                hits.append(hit)
        hits.sort(key=lambda hit: (-hit.score, hit.name))
        return hits[:limit]

    # -- lineage -------------------------------------------------------------------
    def record_lineage(self, source: str, target: str, kind: str) -> LineageEdge:
        """Record that ``source`` fed ``target`` (idempotent: a known edge is kept as is).

        Nodes are given as for :meth:`lineage`; table nodes must exist in the lake.
        """
        edge = LineageEdge(source=parse_node(source), target=parse_node(target), kind=kind)
        check_edge_kind(kind)
        if edge.source == edge.target:
            raise InvalidInputError(
                f"a lineage edge needs two different nodes; got {edge.source!r} twice",
                field="target",
            )
        for node in (edge.source, edge.target):
            self._check_table_node(node)
        with self._db.write() as session:
            insert_edge(
                session,
                self._project.id,
                edge.source,
                edge.target,
                kind,
                is_sqlite=self._db.is_sqlite,
            )
        return edge

    def lineage(self, node: str, *, depth: int = MAX_DEPTH) -> LineageGraph:
        """The ancestors and descendants of ``node``, ``depth`` edges each way (see the
        protocol)."""
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= MAX_DEPTH:
            raise InvalidInputError(
                f"the 'depth' parameter must be an integer from 0 to {MAX_DEPTH}; "
                f"got {depth!r} instead",
                field="depth",
            )
        root = parse_node(node)
        if table_of(root) is not None:
            self._check_table_node(root)
        live = [(e.source, e.target, e.kind) for e in self._live()]
        with self._db.read() as session:
            if table_of(root) is None and not touches(session, self._project.id, root, live):
                raise NotFoundError(
                    f"no lineage recorded for {root!r} in this project",
                    field="node",
                    remedy="runs and jobs appear once they read or write a table, model "
                    "versions once registered from a run, deployments once created",
                )
            return walk(session, self._project.id, root, depth=depth, live=live)

    def _live(self) -> Iterable[LineageEdge]:
        return () if self._live_edges is None else self._live_edges()

    def _check_table_node(self, node: str) -> None:
        parsed = table_of(node)
        if parsed is None:
            return
        name, version = parsed
        latest = self._lake.version(name)  # NotFoundError naming the known tables
        if version is not None and version > latest:
            raise NotFoundError(
                f"table '{name}' has versions 0 to {latest}; there is no version {version}",
                field="node",
                remedy=f"name a version between 0 and {latest}",
            )


def _is_own(node: str, table: str) -> bool:
    return node == f"table:{table}" or node.startswith(f"table:{table}@")
