"""Registry changes beyond :class:`~podium.registry.protocol.Registry`, for other front doors.

MLflow's registry API creates a model before any version, edits descriptions and tags, and
registers a version from files already uploaded rather than from a Python object. These
are the same rows :class:`~podium.registry.service.RegistryService` writes, with the same
roles (``writer``), events and audit entries. A version imported from files keeps its
archive as the artifact and a flavor podium does not load (``mlflow``): the server never
deserialises what a client uploaded (see docs/coming-from-mlflow.md for how such a
version becomes servable).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import exc as sa_exc

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.errors import ConflictError, InvalidInputError
from podium.events.outbox import record_event
from podium.registry.queries import (
    aliases_by_version,
    find_model,
    find_version,
    to_model,
    to_version,
)
from podium.registry.refs import check_model_name, check_version
from podium.registry.registration import ALLOCATION_ATTEMPTS, add_version, check_tags
from podium.registry.tables import RegisteredModelRow
from podium.registry.types import ModelPolicy, ModelVersion, RegisteredModel
from podium.store.artifacts import ArtifactStore
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["IMPORTED_FLAVOR", "RegistryRecords"]

IMPORTED_FLAVOR = "mlflow"
"""The flavor of a version registered from an MLflow model's files (never loaded here)."""

_MAX_DESCRIPTION = 10_000


class RegistryRecords:
    """Create models, edit descriptions and tags, import versions, for one caller."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        project: Project,
        *,
        actor: str,
        role: Role,
        audit: Auditor | None = None,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._project = project
        self._actor = actor
        self._principal = Principal(actor, project.id, project.name, role)
        self._audit = audit or Auditor.disabled()

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """A new registered model with no version yet; a taken name is a ConflictError."""
        with self._audit.attempt("registry.create_model", f"model:{name}"):
            self._principal.require(Role.WRITER, action="creating a registered model")
            check_model_name(name)
            clean = check_tags(tags)
            _check_description(description)
            try:
                with self._db.write() as session:
                    row = RegisteredModelRow(
                        project_id=self._project.id,
                        name=name,
                        description=description,
                        tags=clean,
                        policy=ModelPolicy().model_dump(mode="json"),
                        created_at=utcnow(),
                    )
                    session.add(row)
                    session.flush()
                    return to_model(session, row)
            except sa_exc.IntegrityError:
                raise ConflictError(
                    f"Registered Model (name={name}) already exists.",
                    field="name",
                    remedy="register a new version of it, or pick another name",
                ) from None

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        set_tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> RegisteredModel:
        """Change the model's description, set or delete some of its tags."""
        with self._audit.attempt("registry.update_model", f"model:{name}"):
            self._principal.require(Role.WRITER, action="editing a registered model")
            check_model_name(name)
            clean = check_tags(set_tags)
            if description is not None:
                _check_description(description)
            with self._db.write() as session:
                row = find_model(session, self._project.id, name, lock=True)
                if description is not None:
                    row.description = description
                row.tags = _edited(row.tags, clean, delete_tags)
                session.flush()
                return to_model(session, row)

    def update_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        set_tags: Mapping[str, str] | None = None,
        delete_tags: list[str] | None = None,
    ) -> ModelVersion:
        """Change a version's description, set or delete some of its tags."""
        with self._audit.attempt("registry.update_version", f"model:{name}/{version}"):
            self._principal.require(Role.WRITER, action="editing a model version")
            check_model_name(name)
            check_version(version)
            clean = check_tags(set_tags)
            if description is not None:
                _check_description(description)
            with self._db.write() as session:
                row = find_version(session, self._project.id, name, version)
                if description is not None:
                    row.description = description
                row.tags = _edited(row.tags, clean, delete_tags)
                session.flush()
                aliases = aliases_by_version(session, self._project.id, name)
                return to_version(row, aliases.get(version))

    def import_version(
        self,
        name: str,
        archive: bytes,
        *,
        run_id: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register ``archive`` (a model's files, zipped) as the next version of ``name``.

        The flavor is :data:`IMPORTED_FLAVOR`: podium stores and serves the bytes to
        clients but never loads them. The version has no signature.
        """
        with self._audit.attempt("registry.import_version", f"model:{name}") as attempt:
            self._principal.require(Role.WRITER, action="registering a model version")
            check_model_name(name)
            clean = check_tags(tags)
            _check_description(description)
            blob = self._artifacts.put(archive)
            for _ in range(ALLOCATION_ATTEMPTS):
                try:
                    with self._db.write() as session:
                        row = add_version(
                            session,
                            self._project.id,
                            name,
                            description=description,
                            flavor=IMPORTED_FLAVOR,
                            artifact_digest=blob.digest,
                            artifact_size=blob.size,
                            signature=None,
                            derived_from=None,
                            tags=clean,
                            created_by=self._actor,
                            run_id=run_id,
                            metrics={},
                            inputs=[],
                            code_version=None,
                        )
                        record_event(
                            session,
                            project_id=self._project.id,
                            type="model.version_registered",
                            subject=f"{name}/{row.version}",
                            payload={"model": name, "version": row.version, "flavor": row.flavor},
                            actor=self._actor,
                        )
                        attempt.target = f"model:{name}/{row.version}"
                        return to_version(row)
                except sa_exc.IntegrityError:
                    continue
            raise ConflictError(
                f"could not allocate a version of {name!r}: {ALLOCATION_ATTEMPTS} concurrent "
                "registrations took every number tried",
                remedy="retry the registration",
            )


def _check_description(description: str) -> None:
    if not isinstance(description, str) or len(description) > _MAX_DESCRIPTION:
        raise InvalidInputError(
            f"a description must be text of at most {_MAX_DESCRIPTION} characters",
            field="description",
            remedy="shorten the description",
        )


def _edited(
    tags: Mapping[str, str] | None, added: Mapping[str, str], deleted: list[str] | None
) -> dict[str, str]:
    result = dict(tags or {})
    result.update(added)
    for key in deleted or []:
        result.pop(key, None)
    return result
