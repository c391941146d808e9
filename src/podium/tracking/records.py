"""Run changes beyond :class:`~podium.tracking.protocol.Tracking`, for other front doors.

MLflow's API deletes a run's tag and deletes (softly: it can be restored) a run. podium
keeps every run; a deleted run is marked with the tag :data:`DELETED_TAG` (``p.tracking``
still shows it, with that tag), and MLflow's searches leave marked runs out unless asked
for deleted ones. Writes need the ``writer`` role, like every tracking write.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.errors import NotFoundError
from podium.store.database import Database
from podium.tracking.tables import RunRow, TagRow

__all__ = ["DELETED_TAG", "RunRecords"]

DELETED_TAG = "mlflow.lifecycleStage"
"""The tag marking a run deleted through MLflow's API (value ``deleted``)."""


class RunRecords:
    """Delete a run's tags, mark runs deleted or restore them, for one caller."""

    def __init__(self, db: Database, project: Project, *, actor: str, role: Role) -> None:
        self._db = db
        self._project = project
        self._principal = Principal(actor, project.id, project.name, role)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove tag ``key`` of the run; an unknown run or tag is a NotFoundError."""
        self._principal.require(Role.WRITER, action="deleting a run tag")
        with self._db.write() as session:
            self._require_run(session, run_id)
            existing = session.get(TagRow, (run_id, key)) if isinstance(key, str) else None
            if existing is None:
                raise NotFoundError(
                    f"No tag with name: {key} in run with id {run_id}",
                    field="key",
                    remedy="read the run's tags first",
                )
            session.delete(existing)

    def mark_deleted(self, run_id: str, *, deleted: bool) -> None:
        """Mark the run deleted (``deleted=True``) or restore it."""
        self._principal.require(Role.WRITER, action="deleting a run")
        with self._db.write() as session:
            self._require_run(session, run_id)
            existing = session.get(TagRow, (run_id, DELETED_TAG))
            if deleted and existing is None:
                session.add(TagRow(run_id=run_id, key=DELETED_TAG, value="deleted"))
            elif deleted and existing is not None:
                existing.value = "deleted"
            elif existing is not None:
                session.delete(existing)

    def _require_run(self, session: Session, run_id: str) -> None:
        found = session.scalar(
            select(RunRow.id).where(RunRow.id == run_id, RunRow.project_id == self._project.id)
        )
        if found is None:
            raise NotFoundError(
                f"run {run_id!r} does not exist in project {self._project.name!r}",
                field="run_id",
                remedy="search runs to find its id",
            )
