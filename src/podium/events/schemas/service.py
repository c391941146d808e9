"""The embedded schema registry: one project's subjects in the metadata database.

:class:`SchemaRegistry` is ``p.events.schemas`` of an embedded platform (and what the
server's routes call). Each registration is checked against the subject's mode (see
:mod:`podium.events.schemas.compatibility`) inside the write transaction that stores it,
together with its ``schema.registered`` event and audit entry.
"""

from __future__ import annotations

import builtins
from typing import Any

import sqlalchemy.exc
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Role
from podium.errors import ConflictError, NotFoundError, PermissionDeniedError
from podium.events.outbox import record_event
from podium.events.schemas.compatibility import (
    DEFAULT_COMPATIBILITY,
    check_compatibility,
    check_mode,
)
from podium.events.schemas.lookup import VersionLookup
from podium.events.schemas.models import (
    CompatibilityCheck,
    SchemaSubject,
    SchemaValidation,
    SchemaVersion,
)
from podium.events.schemas.names import check_subject, check_version
from podium.events.schemas.tables import SchemaSubjectRow, SchemaVersionRow
from podium.events.schemas.validation import check_schema, fingerprint, validate_document
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["INCOMPATIBLE_SCHEMA", "SCHEMA_REGISTERED", "SchemaRegistry"]

SCHEMA_REGISTERED = "schema.registered"
"""The event type recorded for each new version (its subject is ``<subject>/<version>``)."""
INCOMPATIBLE_SCHEMA = "incompatible-schema"
"""The code of the ConflictError (409) a registration breaking the subject's mode raises."""

_ATTEMPTS = 3


class SchemaRegistry:
    """The embedded :class:`~podium.events.schemas.protocol.Schemas` of one project.

    Built for one caller: ``role`` gates each method (readers read, writers register,
    admins change modes and delete) and ``audit`` records every change.
    ``cache_seconds`` is how long :meth:`validate` keeps a looked-up version.
    """

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        actor: str = "",
        role: Role = Role.ADMIN,
        audit: Auditor | None = None,
        cache_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._project = project
        self._actor = actor
        self._role = role
        self._audit = audit or Auditor.disabled()
        self._lookup = VersionLookup(self.get, ttl=cache_seconds)

    def register(
        self, subject: str, schema: dict[str, Any], *, compatibility: str | None = None
    ) -> SchemaVersion:
        self._require(Role.WRITER, "registering a schema")
        name = check_subject(subject)
        schema = check_schema(schema)
        mode = None if compatibility is None else check_mode(compatibility)
        for attempt in range(_ATTEMPTS):
            try:
                registered = self._register(name, schema, mode)
            except sqlalchemy.exc.IntegrityError:  # another writer took the number first
                if attempt == _ATTEMPTS - 1:
                    raise ConflictError(
                        f"subject {name!r} changed while this version was being registered",
                        remedy="retry the registration",
                    ) from None
                continue
            self._lookup.forget(name)
            return registered
        raise AssertionError("unreachable")

    def _register(self, name: str, schema: dict[str, Any], mode: str | None) -> SchemaVersion:
        digest = fingerprint(schema)
        now = utcnow()
        with self._db.write() as session:
            row = self._find(session, name)
            if row is None:
                row = SchemaSubjectRow(
                    project_id=self._project.id,
                    name=name,
                    compatibility=mode or DEFAULT_COMPATIBILITY,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                earlier: list[SchemaVersionRow] = []
            else:
                if mode is not None and mode != row.compatibility:
                    raise ConflictError(
                        f"subject {name!r} has compatibility {row.compatibility!r}, not {mode!r}",
                        field="compatibility",
                        remedy="leave compatibility out, or change the subject's mode first "
                        f"(`podium schemas compatibility {name} {mode}`)",
                    )
                earlier = self._version_rows(session, row)
                for existing in earlier:
                    if existing.fingerprint == digest:
                        return _version(existing, name)
                self._refuse_incompatible(row, schema, earlier)
            number = (earlier[-1].version if earlier else 0) + 1
            stored = SchemaVersionRow(
                subject_id=row.id,
                version=number,
                schema=schema,
                fingerprint=digest,
                created_by=self._actor,
                created_at=now,
            )
            session.add(stored)
            row.updated_at = now
            session.flush()
            record_event(
                session,
                project_id=self._project.id,
                type=SCHEMA_REGISTERED,
                subject=f"{name}/{number}",
                payload={
                    "subject": name,
                    "version": number,
                    "fingerprint": digest,
                    "compatibility": row.compatibility,
                },
                actor=self._actor,
            )
            self._audit.note(session, "schemas.register", f"schema:{name}/{number}")
            return _version(stored, name)

    def _refuse_incompatible(
        self, row: SchemaSubjectRow, schema: dict[str, Any], earlier: list[SchemaVersionRow]
    ) -> None:
        against, problems = check_compatibility(
            row.compatibility, schema, [(v.version, v.schema) for v in earlier]
        )
        if not problems:
            return
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConflictError(
            f"schema refused for subject {row.name!r}: {problems[0]}{more}",
            code=INCOMPATIBLE_SCHEMA,
            field="schema",
            remedy="make the change compatible (e.g. add fields as optional), register it "
            "under a new subject, or change the subject's compatibility "
            f"(`podium schemas compatibility {row.name} none`)",
            details={
                "subject": row.name,
                "compatibility": row.compatibility,
                "against": against,
                "problems": problems,
            },
        )

    def check(self, subject: str, schema: dict[str, Any]) -> CompatibilityCheck:
        self._require(Role.READER, "checking a schema")
        name = check_subject(subject)
        schema = check_schema(schema)
        digest = fingerprint(schema)
        with self._db.read() as session:
            row = self._find(session, name)
            if row is None:
                return CompatibilityCheck(
                    subject=name,
                    compatibility=DEFAULT_COMPATIBILITY,
                    compatible=True,
                    against=[],
                    problems=[],
                )
            earlier = self._version_rows(session, row)
            same = next((v.version for v in earlier if v.fingerprint == digest), None)
            against: list[int] = []
            problems: list[str] = []
            if same is None:
                against, problems = check_compatibility(
                    row.compatibility, schema, [(v.version, v.schema) for v in earlier]
                )
            return CompatibilityCheck(
                subject=name,
                compatibility=row.compatibility,
                compatible=not problems,
                against=against,
                problems=problems,
                existing_version=same,
            )

    def validate(
        self, subject: str, document: Any, *, version: int | None = None
    ) -> SchemaValidation:
        found = self._lookup.get(check_subject(subject), check_version(version))
        validate_document(
            document,
            found.json_schema,
            subject=found.subject,
            version=found.version,
            digest=found.fingerprint,
        )
        return SchemaValidation(subject=found.subject, version=found.version)

    def get(self, subject: str, version: int | None = None) -> SchemaVersion:
        self._require(Role.READER, "reading a schema")
        name = check_subject(subject)
        number = check_version(version)
        with self._db.read() as session:
            row = self._subject_row(session, name)
            query = select(SchemaVersionRow).where(SchemaVersionRow.subject_id == row.id)
            if number is None:
                query = query.order_by(SchemaVersionRow.version.desc()).limit(1)
            else:
                query = query.where(SchemaVersionRow.version == number)
            found = session.scalars(query).first()
            if found is None:
                raise NotFoundError(
                    f"subject {name!r} has no version {number}",
                    field="version",
                    remedy=f"list its versions with `podium schemas versions {name}`",
                )
            return _version(found, name)

    def versions(self, subject: str) -> builtins.list[SchemaVersion]:
        self._require(Role.READER, "reading schemas")
        name = check_subject(subject)
        with self._db.read() as session:
            row = self._subject_row(session, name)
            return [_version(v, name) for v in self._version_rows(session, row)]

    def subject(self, subject: str) -> SchemaSubject:
        self._require(Role.READER, "reading a subject")
        name = check_subject(subject)
        with self._db.read() as session:
            row = self._subject_row(session, name)
            latest, count = session.execute(
                select(func.max(SchemaVersionRow.version), func.count()).where(
                    SchemaVersionRow.subject_id == row.id
                )
            ).one()
            return _subject(row, latest or 0, count)

    def subjects(self) -> builtins.list[SchemaSubject]:
        self._require(Role.READER, "listing subjects")
        stats = (
            select(
                SchemaVersionRow.subject_id,
                func.max(SchemaVersionRow.version).label("latest"),
                func.count().label("count"),
            )
            .group_by(SchemaVersionRow.subject_id)
            .subquery()
        )
        query = (
            select(SchemaSubjectRow, stats.c.latest, stats.c.count)
            .outerjoin(stats, stats.c.subject_id == SchemaSubjectRow.id)
            .where(SchemaSubjectRow.project_id == self._project.id)
            .order_by(SchemaSubjectRow.name)
        )
        with self._db.read() as session:
            return [
                _subject(row, latest or 0, count or 0)
                for row, latest, count in session.execute(query)
            ]

    def set_compatibility(self, subject: str, compatibility: str) -> SchemaSubject:
        self._require(Role.ADMIN, "changing a subject's compatibility")
        name = check_subject(subject)
        mode = check_mode(compatibility)
        with self._db.write() as session:
            row = self._subject_row(session, name)
            if row.compatibility != mode:
                previous = row.compatibility
                row.compatibility = mode
                row.updated_at = utcnow()
                self._audit.note(
                    session,
                    "schemas.set_compatibility",
                    f"schema:{name}",
                    detail={"from": previous, "to": mode},
                )
        return self.subject(name)

    def delete(self, subject: str) -> None:
        self._require(Role.ADMIN, "deleting a subject")
        name = check_subject(subject)
        with self._db.write() as session:
            row = self._subject_row(session, name)
            session.execute(delete(SchemaVersionRow).where(SchemaVersionRow.subject_id == row.id))
            session.execute(delete(SchemaSubjectRow).where(SchemaSubjectRow.id == row.id))
            self._audit.note(session, "schemas.delete", f"schema:{name}")
        self._lookup.forget(name)

    def _require(self, role: Role, action: str) -> None:
        if self._role.rank < role.rank:
            raise PermissionDeniedError(
                f"{action} needs the {role.value} role; {self._actor or 'this caller'} has "
                f"{self._role.value}",
                remedy=f"ask an admin of the project for a key with the {role.value} role",
            )

    def _find(self, session: Session, name: str) -> SchemaSubjectRow | None:
        return session.scalars(
            select(SchemaSubjectRow).where(
                SchemaSubjectRow.project_id == self._project.id, SchemaSubjectRow.name == name
            )
        ).first()

    def _subject_row(self, session: Session, name: str) -> SchemaSubjectRow:
        row = self._find(session, name)
        if row is None:
            raise NotFoundError(
                f"subject {name!r} does not exist in project {self._project.name!r}",
                field="subject",
                remedy="list the subjects with `podium schemas ls`, or register a schema "
                "under this name first",
            )
        return row

    @staticmethod
    def _version_rows(session: Session, row: SchemaSubjectRow) -> builtins.list[SchemaVersionRow]:
        return list(
            session.scalars(
                select(SchemaVersionRow)
                .where(SchemaVersionRow.subject_id == row.id)
                .order_by(SchemaVersionRow.version)
            )
        )


def _version(row: SchemaVersionRow, subject: str) -> SchemaVersion:
    return SchemaVersion(
        subject=subject,
        version=row.version,
        json_schema=row.schema,
        fingerprint=row.fingerprint,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _subject(row: SchemaSubjectRow, latest: int, count: int) -> SchemaSubject:
    return SchemaSubject(
        name=row.name,
        compatibility=row.compatibility,
        latest_version=latest,
        versions=count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
