"""``FeatureStore``: the SDK's ``p.features``, one project's feature store.

It only delegates: planning to :mod:`~podium.features.planning`, training sets to
:mod:`~podium.features.historical`, materialization to :mod:`~podium.features.materialize`,
online reads to :mod:`~podium.features.online.read`, metadata to
:mod:`~podium.features.catalog`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import func, select

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.data.catalog import Catalog
from podium.data.inputs import to_arrow
from podium.data.service import DataService
from podium.data.types import TableVersion
from podium.errors import InvalidInputError
from podium.events.outbox import record_event
from podium.features.catalog import describe, search
from podium.features.definitions import Definition, FeatureService, is_query_source
from podium.features.historical import HistoricalFeatures, build_historical
from podium.features.materialize import Progress, load_latest
from podium.features.online.protocol import OnlineStore
from podium.features.online.read import OnlineFeatures, read_online
from podium.features.planning import make_plan
from podium.features.protocol import (
    DefinitionDescription,
    FeatureSearchHit,
    MaterializationRun,
    Materialized,
    Pushed,
)
from podium.features.push import check_push, mark_pii_sources
from podium.features.refs import FeatureRef, parse_refs
from podium.features.resolve import ResolvedView, ViewResolver
from podium.features.stored import Change, DefinitionStore, StoredDefinition
from podium.features.tables import MaterializationRow
from podium.store.database import Database

# Materialized is defined with the protocol's other results; kept importable from here.
__all__ = ["FeatureStore", "Materialized"]


class FeatureStore:
    """Definitions, training sets, the online store and pushes of one project."""

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        data: DataService,
        catalog: Catalog,
        online: OnlineStore,
        actor: str,
        role: Role = Role.ADMIN,
        audit: Auditor | None = None,
    ) -> None:
        self._db = db
        self._project = project
        self._data = data
        self._catalog = catalog
        self._online = online
        self._actor = actor
        self._principal = Principal(actor, project.id, project.name, role)
        self._store = DefinitionStore(db, project, actor=actor)
        self._resolver = ViewResolver(self._store, project.name)
        self._audit = audit or Auditor.disabled()

    @property
    def online_store(self) -> OnlineStore:
        """The online store backend (chosen by ``PODIUM_ONLINE_STORE_URL``)."""
        return self._online

    # -- definitions -------------------------------------------------------------
    def plan(self, definitions: Sequence[Definition]) -> list[Change]:
        """What :meth:`apply` would change, after checking every definition; stores nothing."""
        return make_plan(list(definitions), self._store, self._schema_of)

    def apply(self, definitions: Sequence[Definition]) -> list[Change]:
        """Check and store ``definitions`` in one transaction; returns what changed."""
        self._principal.require(Role.WRITER, action="applying feature definitions")
        changes = self.plan(definitions)
        mark_pii_sources(definitions, self._data)
        self._store.save(changes)
        self._resolver.invalidate()
        self._audit.record("features.apply", _changed(changes))
        return changes

    def list_definitions(self, kind: str | None = None) -> list[StoredDefinition]:
        """The newest version of every definition (``kind``: ``"feature_view"``, ...)."""
        return self._store.list(kind)

    def get(
        self, name: str, *, kind: str = "feature_view", version: int | None = None
    ) -> Definition:
        """The stored definition ``name`` as a Python object (an :class:`Entity`, ...)."""
        return self._store.get(kind, name, version).definition()

    def describe(self, name: str) -> DefinitionDescription:
        """A view's (or service's, entity's) definition, versions, freshness and users."""
        described = describe(self._store, name, materializations=self._materialization_rows)
        return DefinitionDescription.model_validate(described)

    def search(self, text: str) -> list[FeatureSearchHit]:
        """Definitions and features whose name, description, owner or tags match ``text``."""
        return [FeatureSearchHit.model_validate(hit) for hit in search(self._store, text)]

    # -- offline -----------------------------------------------------------------
    def get_historical_features(
        self, entity_df: Any, features: Sequence[str] | str | FeatureService
    ) -> HistoricalFeatures:
        """Point-in-time correct features for each row of ``entity_df`` (see the protocol)."""
        return build_historical(
            entity_df,
            self._refs(features),
            resolver=self._resolver,
            data=self._data,
            saver=self._save_training_set,
        )

    def _save_training_set(self, name: str, result: HistoricalFeatures) -> TableVersion:
        self._principal.require(Role.WRITER, action="saving a training set")
        created = self._data.write(name, result.table, mode="overwrite", schema_mode="overwrite")
        for ref in result.inputs:
            self._catalog.record_lineage(f"table:{ref}", f"table:{created.ref}", "derived_from")
        for view in sorted({item.split(":", 1)[0] for item in result.features}):
            self._catalog.record_lineage(f"feature_view:{view}", f"table:{created.ref}", "features")
        return created

    # -- online ------------------------------------------------------------------
    def get_online_features(
        self,
        entity_rows: Sequence[Mapping[str, Any]],
        features: Sequence[str] | str | FeatureService,
    ) -> OnlineFeatures:
        """The latest values of ``features`` for ``entity_rows`` from the online store."""
        return read_online(
            entity_rows, self._refs(features), resolver=self._resolver, store=self._online
        )

    def materialize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Load each online view's latest values with event times in [start, end]."""
        self._principal.require(Role.WRITER, action="materializing features")
        end = _aware(end) or datetime.now(UTC)
        start = _aware(start)
        if start is not None and start > end:
            raise InvalidInputError(
                f"start ({start.isoformat()}) is after end ({end.isoformat()})",
                field="start",
                remedy="pass a start before the end, or none to load all history",
            )
        done = [
            self._materialize_view(view, start, end, progress) for view in self._online_views(views)
        ]
        self._audit.record("features.materialize", _loaded(done))
        return done

    def materialize_incremental(
        self,
        end: datetime | None = None,
        *,
        views: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Materialized]:
        """Like :meth:`materialize`, each view from where its last materialization ended."""
        self._principal.require(Role.WRITER, action="materializing features")
        end = _aware(end) or datetime.now(UTC)
        done = []
        for view in self._online_views(views):
            start = self._last_end(view)
            if start is None and view.ttl is not None:
                start = end - view.ttl
            done.append(self._materialize_view(view, start, end, progress))
        self._audit.record("features.materialize", _loaded(done))
        return done

    def push(self, view: str, rows: Any) -> Pushed:
        """Append fresh rows to the view's source table and to the online store.

        Records ``table.updated`` for the source table's commit and then
        ``features.pushed`` (``{"view", "rows", "online_rows", "table", "version"}``)."""
        self._principal.require(Role.WRITER, action="pushing features")
        resolved = self._resolver.view(view)
        table = check_push(resolved, to_arrow(rows), self._data)
        table = self._data.tokenize(resolved.source, table)  # pii never reaches online in clear
        committed = self._data.write(resolved.source, table, mode="append", schema_mode="merge")
        written = load_latest(resolved, table, self._online) if resolved.online else 0
        with self._db.write() as session:
            record_event(
                session,
                project_id=self._project.id,
                type="features.pushed",
                subject=resolved.name,
                payload={
                    "view": resolved.name,
                    "rows": table.num_rows,
                    "online_rows": written,
                    "table": committed.name,
                    "version": committed.version,
                },
                actor=self._actor,
            )
        return Pushed(
            view=resolved.name, rows=table.num_rows, online_rows=written, table=committed.ref
        )

    # -- internals -----------------------------------------------------------------
    def _refs(self, features: Sequence[str] | str | FeatureService) -> list[FeatureRef]:
        if isinstance(features, FeatureService):
            return parse_refs(features.refs)
        if isinstance(features, str) and ":" not in features:
            # A stored service's name: its references, pinned to the view versions it saw.
            spec = self._store.get("feature_service", features).spec
            pins: dict[str, int] = spec.get("views", {})
            return [
                replace(ref, version=pins.get(ref.view, ref.version))
                for ref in parse_refs(spec["features"])
            ]
        return parse_refs(features)

    def _schema_of(self, source: str) -> pa.Schema:
        if is_query_source(source):
            return self._data.sql(f"SELECT * FROM ({source.strip()}) AS q LIMIT 0").schema
        _, dataset = self._data.dataset(source.strip())
        return dataset.schema

    def _online_views(self, names: Sequence[str] | None) -> list[ResolvedView]:
        if names is None:
            names = [d.name for d in self._store.list("feature_view")]
        views = [self._resolver.view(name) for name in names]
        return [view for view in views if view.online]

    def _source(self, view: ResolvedView) -> tuple[str, Any]:
        if view.is_query:
            return "query", self._data.sql(view.source)
        return self._data.dataset(view.source)

    def _materialize_view(
        self,
        view: ResolvedView,
        start: datetime | None,
        end: datetime,
        progress: Progress | None,
    ) -> Materialized:
        ref, source = self._source(view)
        rows = load_latest(view, source, self._online, start=start, end=end, progress=progress)
        with self._db.write() as session:
            session.add(
                MaterializationRow(
                    project_id=self._project.id,
                    view=view.name,
                    version=view.version,
                    start=start,
                    end=end,
                    rows=rows,
                    source_ref=ref[:200],
                    created_by=self._actor,
                )
            )
            record_event(
                session,
                project_id=self._project.id,
                type="features.materialized",
                subject=view.name,
                payload={
                    "view": view.name,
                    "version": view.version,
                    "start": None if start is None else start.isoformat(),
                    "end": end.isoformat(),
                    "rows": rows,
                },
                actor=self._actor,
            )
        return Materialized(
            view=view.name,
            version=view.version,
            start=start,
            end=end,
            rows=rows,
            source=ref,
        )

    def _last_end(self, view: ResolvedView) -> datetime | None:
        with self._db.read() as session:
            last: datetime | None = session.scalar(
                select(func.max(MaterializationRow.end)).where(
                    MaterializationRow.project_id == self._project.id,
                    MaterializationRow.view == view.name,
                    MaterializationRow.version == view.version,
                )
            )
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return last

    def materializations(self, view: str) -> list[MaterializationRun]:
        """Every materialization of ``view``, newest first (freshness);
        :class:`~podium.errors.NotFoundError` when the project has no view of that name."""
        rows = self._materialization_rows(view)
        if not rows:  # one more lookup only then: never materialized, or unknown here
            self._store.get("feature_view", view)
        return [MaterializationRun.model_validate(run) for run in rows]

    def _materialization_rows(self, view: str) -> list[dict[str, Any]]:
        with self._db.read() as session:
            rows = session.scalars(
                select(MaterializationRow)
                .where(
                    MaterializationRow.project_id == self._project.id,
                    MaterializationRow.view == view,
                )
                .order_by(MaterializationRow.id.desc())
            )
            return [
                {
                    "version": row.version,
                    "start": row.start,
                    "end": row.end,
                    "rows": row.rows,
                    "source": row.source_ref,
                    "at": row.created_at,
                    "by": row.created_by,
                }
                for row in rows
            ]


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise InvalidInputError(f"start and end must be datetimes; got {moment!r}", field="end")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _changed(changes: Sequence[Change]) -> str:
    """The audit target of an apply: what it created or changed (``feature_view:x@2``)."""
    done = [f"{c.kind}:{c.name}@{c.version}" for c in changes if c.action != "unchanged"]
    return ",".join(done) or "(nothing changed)"


def _loaded(done: Sequence[Materialized]) -> str:
    """The audit target of a materialization: the views loaded (``feature_view:x@2``)."""
    return ",".join(f"feature_view:{d.view}@{d.version}" for d in done) or "(no view)"
