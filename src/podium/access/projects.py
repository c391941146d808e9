"""Projects: the tenants every row, table, key and artifact belongs to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from podium.access.ratelimit import RateLimit, parse_rate_limit
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
    # The quota all the project's keys share (None: unlimited).
    rate_limit: RateLimit | None = None


def _project(row: ProjectRow) -> Project:
    limit = parse_rate_limit(row.rate_limit, burst=row.rate_burst) if row.rate_limit else None
    return Project(row.id, row.name, row.description, row.created_at, limit)


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

    def create(
        self, name: str, *, description: str = "", rate_limit: RateLimit | None = None
    ) -> Project:
        """Create project ``name``; a taken name is a :class:`ConflictError`.

        ``rate_limit`` is the project's quota, shared by all its keys (429 past it).
        """
        validate_project_name(name)
        with self._db.write() as session:
            if session.scalar(select(ProjectRow).where(ProjectRow.name == name)):
                raise ConflictError(
                    f"project {name!r} already exists", field="name", remedy="pick another name"
                )
            row = ProjectRow(
                name=name,
                description=description,
                rate_limit=rate_limit.spec if rate_limit else None,
                rate_burst=rate_limit.burst if rate_limit else None,
            )
            session.add(row)
            session.flush()
            return _project(row)

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        rate_limit: RateLimit | None = None,
        unlimited: bool = False,
    ) -> Project:
        """Change project ``name``'s description and quota (``unlimited`` drops the quota).

        Servers see a new quota within a few seconds (their key cache's lifetime).
        """
        if unlimited and rate_limit is not None:
            raise InvalidInputError(
                "a project has a rate limit or is unlimited, not both",
                field="rate_limit",
                remedy="pass either --rate-limit N/s or --no-rate-limit",
            )
        with self._db.write() as session:
            row = session.scalar(select(ProjectRow).where(ProjectRow.name == name))
            if row is None:
                raise self._missing(name)
            if description is not None:
                row.description = description
            if rate_limit is not None or unlimited:
                row.rate_limit = rate_limit.spec if rate_limit else None
                row.rate_burst = rate_limit.burst if rate_limit else None
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
            raise self._missing(name)
        return _project(row)

    @staticmethod
    def _missing(name: str) -> NotFoundError:
        return NotFoundError(
            f"project {name!r} does not exist",
            remedy="list projects with `podium projects list`; create one with "
            "`podium projects create NAME`",
        )

    def list(self) -> list[Project]:
        """Every project, by name."""
        with self._db.read() as session:
            rows = session.scalars(select(ProjectRow).order_by(ProjectRow.name)).all()
        return [_project(row) for row in rows]
