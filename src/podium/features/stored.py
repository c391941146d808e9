"""Definitions as stored in the metadata database: read them, save an applied plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.errors import NotFoundError
from podium.events.outbox import record_event
from podium.features.definitions import Definition, definition_from_spec
from podium.features.tables import FeatureDefinitionRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Change", "DefinitionStore", "StoredDefinition"]

_LABELS = {
    "entity": "entity",
    "feature_view": "feature view",
    "on_demand_feature_view": "on-demand feature view",
    "feature_service": "feature service",
}


@dataclass(frozen=True)
class StoredDefinition:
    """One stored version of a definition."""

    kind: str
    name: str
    version: int
    fingerprint: str
    spec: dict[str, Any]
    description: str
    owner: str
    tags: dict[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime

    def definition(self) -> Definition:
        """The Python object again (an on-demand view's function is imported)."""
        return definition_from_spec(
            self.kind,
            self.name,
            self.spec,
            description=self.description,
            owner=self.owner,
            tags=self.tags,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "version": self.version,
            "spec": self.spec,
            "description": self.description,
            "owner": self.owner,
            "tags": self.tags,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


Action = Literal["create", "new_version", "update", "unchanged"]


@dataclass(frozen=True)
class Change:
    """What ``apply`` does (or did) to one definition."""

    kind: str
    name: str
    action: Action
    version: int
    previous_version: int | None
    details: tuple[str, ...]
    spec: dict[str, Any]
    fingerprint: str
    description: str = ""
    owner: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "version": self.version,
            "previous_version": self.previous_version,
            "details": list(self.details),
        }


def _stored(row: FeatureDefinitionRow) -> StoredDefinition:
    return StoredDefinition(
        kind=row.kind,
        name=row.name,
        version=row.version,
        fingerprint=row.fingerprint,
        spec=dict(row.spec),
        description=row.description,
        owner=row.owner,
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class DefinitionStore:
    """The definitions of one project."""

    def __init__(self, db: Database, project: Project, *, actor: str) -> None:
        self._db = db
        self._project = project
        self._actor = actor

    def latest(self, kind: str, name: str) -> StoredDefinition | None:
        """The newest version of ``name``, or None when it was never applied."""
        with self._db.read() as session:
            row = self._latest_row(session, kind, name)
            return None if row is None else _stored(row)

    def get(self, kind: str, name: str, version: int | None = None) -> StoredDefinition:
        """A version of ``name`` (the newest when ``version`` is None)."""
        with self._db.read() as session:
            if version is None:
                row = self._latest_row(session, kind, name)
            else:
                row = session.scalars(
                    self._query(kind).where(
                        FeatureDefinitionRow.name == name, FeatureDefinitionRow.version == version
                    )
                ).first()
            if row is not None:
                return _stored(row)
        known = ", ".join(d.name for d in self.list(kind)) or "none yet"
        label = _LABELS.get(kind, kind)
        pinned = "" if version is None else f" version {version}"
        raise NotFoundError(
            f"{label} '{name}'{pinned} does not exist in project '{self._project.name}' "
            f"(known: {known})",
            field="features",
            remedy=f"check the name, or apply the {label} first",
        )

    def versions(self, kind: str, name: str) -> list[StoredDefinition]:
        """Every version of ``name``, oldest first."""
        with self._db.read() as session:
            rows = session.scalars(
                self._query(kind)
                .where(FeatureDefinitionRow.name == name)
                .order_by(FeatureDefinitionRow.version)
            )
            return [_stored(row) for row in rows]

    def list(self, kind: str | None = None) -> list[StoredDefinition]:
        """The newest version of every definition (of ``kind``), by kind and name."""
        with self._db.read() as session:
            newest = (
                select(
                    FeatureDefinitionRow.kind,
                    FeatureDefinitionRow.name,
                    func.max(FeatureDefinitionRow.version).label("version"),
                )
                .where(FeatureDefinitionRow.project_id == self._project.id)
                .group_by(FeatureDefinitionRow.kind, FeatureDefinitionRow.name)
                .subquery()
            )
            query = (
                select(FeatureDefinitionRow)
                .join(
                    newest,
                    (FeatureDefinitionRow.kind == newest.c.kind)
                    & (FeatureDefinitionRow.name == newest.c.name)
                    & (FeatureDefinitionRow.version == newest.c.version),
                )
                .where(FeatureDefinitionRow.project_id == self._project.id)
                .order_by(FeatureDefinitionRow.kind, FeatureDefinitionRow.name)
            )
            if kind is not None:
                query = query.where(FeatureDefinitionRow.kind == kind)
            return [_stored(row) for row in session.scalars(query)]

    def save(self, changes: Sequence[Change]) -> None:
        """Store an applied plan in one transaction, with one ``features.applied`` event."""
        now = utcnow()
        with self._db.write() as session:
            for change in changes:
                if change.action in ("create", "new_version"):
                    session.add(
                        FeatureDefinitionRow(
                            project_id=self._project.id,
                            kind=change.kind,
                            name=change.name,
                            version=change.version,
                            fingerprint=change.fingerprint,
                            spec=change.spec,
                            description=change.description,
                            owner=change.owner,
                            tags=dict(change.tags),
                            created_by=self._actor,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                elif change.action == "update":
                    row = self._latest_row(session, change.kind, change.name)
                    assert row is not None  # an update is planned only for a stored row
                    row.spec = change.spec
                    row.description = change.description
                    row.owner = change.owner
                    row.tags = dict(change.tags)
                    row.updated_at = now
            applied = [c.to_dict() for c in changes if c.action != "unchanged"]
            if applied:
                record_event(
                    session,
                    project_id=self._project.id,
                    type="features.applied",
                    subject="features",
                    payload={"changes": applied},
                    actor=self._actor,
                )

    def _query(self, kind: str) -> Any:
        return select(FeatureDefinitionRow).where(
            FeatureDefinitionRow.project_id == self._project.id, FeatureDefinitionRow.kind == kind
        )

    def _latest_row(self, session: Session, kind: str, name: str) -> FeatureDefinitionRow | None:
        row: FeatureDefinitionRow | None = session.scalars(
            self._query(kind)
            .where(FeatureDefinitionRow.name == name)
            .order_by(FeatureDefinitionRow.version.desc())
            .limit(1)
        ).first()
        return row
