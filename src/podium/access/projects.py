"""Projects: the tenants every row, table, key and artifact belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from podium.access.tables import ProjectRow
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.store.database import Database

__all__ = ["PROJECT_NAME_PATTERN", "Project", "ProjectService"]

PROJECT_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
_NAME = re.compile(PROJECT_NAME_PATTERN)


@dataclass(frozen=True)
class Project:
    """A tenant."""

    id: int
    name: str
    description: str
    created_at: datetime


def _project(row: ProjectRow) -> Project:
    return Project(row.id, row.name, row.description, row.created_at)


def validate_project_name(name: str) -> str:
    """``name`` if it is a valid project name, else an :class:`InvalidInputError`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"the project name must match {PROJECT_NAME_PATTERN}; got {name!r} instead",
            field="name",
            remedy="use lowercase letters, digits and dashes, starting with a letter",
        )
    return name


class ProjectService:
    """Create, find and list projects."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, name: str, *, description: str = "") -> Project:
        """Create project ``name``; a taken name is a :class:`ConflictError`."""
        validate_project_name(name)
        with self._db.write() as session:
            if session.scalar(select(ProjectRow).where(ProjectRow.name == name)):
                raise ConflictError(
                    f"project {name!r} already exists", field="name", remedy="pick another name"
                )
            row = ProjectRow(name=name, description=description)
            session.add(row)
            session.flush()
            return _project(row)

    def ensure(self, name: str) -> Project:
        """Project ``name``, created if it does not exist yet."""
        try:
            return self.get(name)
        except NotFoundError:
            try:
                return self.create(name)
            except ConflictError:  # another process created it in between
                return self.get(name)

    def get(self, name: str) -> Project:
        """Project ``name``, or a :class:`NotFoundError`."""
        with self._db.read() as session:
            row = session.scalar(select(ProjectRow).where(ProjectRow.name == name))
        if row is None:
            raise NotFoundError(
                f"project {name!r} does not exist",
                remedy="list projects with `podium projects list`; create one with "
                "`podium projects create NAME`",
            )
        return _project(row)

    def list(self) -> list[Project]:
        """Every project, by name."""
        with self._db.read() as session:
            rows = session.scalars(select(ProjectRow).order_by(ProjectRow.name)).all()
        return [_project(row) for row in rows]
