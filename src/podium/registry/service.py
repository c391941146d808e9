"""RegistryService: register, find and load model versions; aliases, stages and lineage.

One instance serves one project and one caller (``actor`` holding ``role``): readers
list and load, writers register, move aliases and request transitions, admins also
approve (by default) and set policies. Stage transitions live in
:mod:`podium.registry.approvals`. Every change writes its event to the outbox in the same
transaction (:func:`podium.events.outbox.record_event`), and every attempt to change
something is in the audit log (``registry.register``, ``registry.approve``, ...) with its
outcome, whichever front door made it. A registered version's lineage edges (its run, its
source version) go to the project's catalog, where one graph holds the whole lineage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.data.catalog.models import MAX_DEPTH
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.events.outbox import record_event
from podium.registry.approvals import RoleLookup, Transitions
from podium.registry.flavors import PodiumModel, flavor_for
from podium.registry.lineage import LineageStore, record_version_edges, version_lineage
from podium.registry.policy import check_policy
from podium.registry.queries import (
    aliases_by_version,
    find_model,
    find_version,
    resolve,
    to_model,
    to_version,
)
from podium.registry.records import IMPORTED_FLAVOR
from podium.registry.refs import check_alias, check_model_name, check_version, parse_ref
from podium.registry.registration import ALLOCATION_ATTEMPTS, add_version, check_tags, provenance
from podium.registry.signature import Rows, Signature, check_signature, infer_signature
from podium.registry.tables import ModelAliasRow, ModelVersionRow, RegisteredModelRow
from podium.registry.types import (
    ModelLineage,
    ModelPolicy,
    ModelVersion,
    RegisteredModel,
    TransitionRequest,
)
from podium.store.artifacts import ArtifactStore
from podium.store.base import utcnow
from podium.store.database import Database
from podium.tracking.protocol import Tracking

__all__ = ["RegistryService"]


class RegistryService:
    """The model registry of one project, as seen by one caller."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        project: Project,
        *,
        tracking: Tracking,
        actor: str,
        role: Role,
        roles_of: RoleLookup | None = None,
        audit: Auditor | None = None,
        lineage: LineageStore | None = None,
    ) -> None:
        """``audit`` records this caller's changes; ``lineage`` (the project's catalog)
        stores the edges of registered versions and walks the whole graph."""
        self._db = db
        self._artifacts = artifacts
        self._project = project
        self._tracking = tracking
        self._actor = actor
        self._principal = Principal(actor, project.id, project.name, role)
        self._transitions = Transitions(db, project.id, actor=actor, role=role, roles_of=roles_of)
        self._audit = audit or Auditor.disabled()
        self._lineage = lineage

    def register(
        self,
        name: str,
        model: Any,
        *,
        run_id: str | None = None,
        input_example: Rows | None = None,
        signature: Signature | Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        derived_from: str | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name`` (created on first use).

        Metrics, input tables and the code version are copied from run ``run_id``; the
        signature is inferred from ``input_example`` (or given as ``signature``: a
        :class:`Signature`, or another version's ``mv.signature``).
        """
        with self._audit.attempt("registry.register", f"model:{name}") as attempt:
            version = self._register(
                name,
                model,
                run_id=run_id,
                input_example=input_example,
                signature=signature,
                description=description,
                tags=tags,
                derived_from=derived_from,
            )
            attempt.target = f"model:{version.ref}"
        if self._lineage is not None:
            record_version_edges(self._lineage, version)
        return version

    def _register(
        self,
        name: str,
        model: Any,
        *,
        run_id: str | None,
        input_example: Rows | None,
        signature: Signature | Mapping[str, Any] | None,
        description: str,
        tags: Mapping[str, str] | None,
        derived_from: str | None,
    ) -> ModelVersion:
        self._principal.require(Role.WRITER, action="registering a model version")
        check_model_name(name)
        clean_tags = check_tags(tags)
        if input_example is None and signature is None:
            raise InvalidInputError(
                "registering a model needs an input example (or a signature)",
                field="input_example",
                remedy="pass input_example=X[:5], a few rows of the training data",
            )
        if signature is not None:
            signature = check_signature(signature)
        run = self._tracking.get_run(run_id) if run_id is not None else None
        flavor = flavor_for(model)
        data = flavor.save(model)
        if signature is None:
            assert input_example is not None  # checked above
            unchecked = PodiumModel(
                model, flavor=flavor.name, signature=infer_signature(input_example)
            )
            signature = infer_signature(input_example, unchecked.predict(input_example))
        blob = self._artifacts.put(data)
        for _ in range(ALLOCATION_ATTEMPTS):
            try:
                with self._db.write() as session:
                    source = None
                    if derived_from is not None:
                        ref = parse_ref(derived_from, field="derived_from")
                        src = resolve(session, self._project.id, ref)
                        source = f"{src.model_name}/{src.version}"
                    row = add_version(
                        session,
                        self._project.id,
                        name,
                        description=description,
                        flavor=flavor.name,
                        artifact_digest=blob.digest,
                        artifact_size=blob.size,
                        signature=signature.model_dump(mode="json"),
                        derived_from=source,
                        tags=clean_tags,
                        created_by=self._actor,
                        **provenance(run),
                    )
                    self._event(session, "model.version_registered", row, {"flavor": row.flavor})
                    return to_version(row)
            except sa_exc.IntegrityError:
                continue  # a concurrent registration took this number (or created the model)
        raise ConflictError(
            f"could not allocate a version of {name!r}: {ALLOCATION_ATTEMPTS} concurrent "
            "registrations took every number tried",
            remedy="retry the registration",
        )

    def get_model(self, name: str) -> RegisteredModel:
        """A registered model with its newest version number, aliases and policy."""
        with self._db.read() as session:
            return to_model(session, find_model(session, self._project.id, check_model_name(name)))

    def get_version(self, ref: str) -> ModelVersion:
        """The version ``ref`` names: ``name/3``, ``name@production``, ``name@champion``."""
        parsed = parse_ref(ref)
        with self._db.read() as session:
            row = resolve(session, self._project.id, parsed)
            aliases = aliases_by_version(session, self._project.id, row.model_name)
            return to_version(row, aliases.get(row.version))

    def list_models(self) -> list[RegisteredModel]:
        """Every registered model of the project, by name."""
        with self._db.read() as session:
            rows = session.scalars(
                select(RegisteredModelRow)
                .where(RegisteredModelRow.project_id == self._project.id)
                .order_by(RegisteredModelRow.name)
            ).all()
            return [to_model(session, row) for row in rows]

    def list_versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first."""
        check_model_name(name)
        with self._db.read() as session:
            find_model(session, self._project.id, name)
            aliases = aliases_by_version(session, self._project.id, name)
            rows = session.scalars(
                select(ModelVersionRow)
                .where(
                    ModelVersionRow.project_id == self._project.id,
                    ModelVersionRow.model_name == name,
                )
                .order_by(ModelVersionRow.version)
            ).all()
            return [to_version(row, aliases.get(row.version)) for row in rows]

    def load(self, ref: str) -> PodiumModel:
        """The model ``ref`` names, ready to ``predict``.

        The artifact's bytes are checked against the sha256 recorded at registration
        before they are deserialised; altered bytes raise :class:`IntegrityError`.
        """
        parsed = parse_ref(ref)
        with self._db.read() as session:
            row = resolve(session, self._project.id, parsed)
        if row.flavor == IMPORTED_FLAVOR:
            raise InvalidInputError(
                f"model version {row.model_name}/{row.version} holds an MLflow model's files, "
                "which podium does not load (the server never unpickles an upload)",
                field="ref",
                remedy="load it on a client with mlflow.<flavor>.load_model('models:/"
                f"{row.model_name}/{row.version}') and register that model with "
                "p.registry.register (docs/coming-from-mlflow.md)",
            )
        data = self._artifacts.get(row.artifact_digest)  # verifies the sha256
        signature = Signature.model_validate(row.signature or {"inputs": []})
        return PodiumModel.from_bytes(data, flavor=row.flavor, signature=signature)

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` (e.g. ``champion``) of ``name`` at ``version`` (writers)."""
        with self._audit.attempt("registry.set_alias", f"model:{name}@{alias}") as attempt:
            attempt.detail["version"] = str(version)[:32]
            return self._set_alias(name, alias, version)

    def _set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        self._principal.require(Role.WRITER, action="moving a model alias")
        check_model_name(name)
        check_alias(alias)
        check_version(version)
        with self._db.write() as session:
            find_model(session, self._project.id, name, lock=True)
            row = find_version(session, self._project.id, name, version)
            existing = session.get(ModelAliasRow, (self._project.id, name, alias))
            previous = existing.version if existing else None
            if existing is None:
                session.add(
                    ModelAliasRow(
                        project_id=self._project.id,
                        model_name=name,
                        alias=alias,
                        version=version,
                        updated_by=self._actor,
                        updated_at=utcnow(),
                    )
                )
            else:
                existing.version, existing.updated_by = version, self._actor
                existing.updated_at = utcnow()
            payload = {"alias": alias, "previous_version": previous}
            self._event(session, "model.alias_changed", row, payload)
            session.flush()
            return to_version(row, aliases_by_version(session, self._project.id, name)[version])

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` of ``name`` (writers); an unknown alias is NotFoundError."""
        with self._audit.attempt("registry.delete_alias", f"model:{name}@{alias}"):
            self._delete_alias(name, alias)

    def _delete_alias(self, name: str, alias: str) -> None:
        self._principal.require(Role.WRITER, action="deleting a model alias")
        check_model_name(name)
        check_alias(alias)
        with self._db.write() as session:
            find_model(session, self._project.id, name, lock=True)
            existing = session.get(ModelAliasRow, (self._project.id, name, alias))
            if existing is None:
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}",
                    field="alias",
                    remedy="check the alias against the model's aliases",
                )
            row = find_version(session, self._project.id, name, existing.version)
            session.delete(existing)
            payload = {"alias": alias, "previous_version": existing.version, "deleted": True}
            self._event(session, "model.alias_changed", row, payload)

    def request_transition(
        self, name: str, version: int, stage: str, *, comment: str = ""
    ) -> TransitionRequest:
        """Ask to move ``name/version`` to ``stage``; see :mod:`podium.registry.approvals`."""
        target = f"model:{name}/{version}"
        with self._audit.attempt("registry.request_transition", target) as attempt:
            attempt.detail["stage"] = str(stage)[:32]
            check_model_name(name)
            if not isinstance(stage, str):
                raise InvalidInputError(
                    f"the stage must be a string such as 'production'; got {stage!r} instead",
                    field="stage",
                    remedy="pass stage='staging', 'production' or 'archived'",
                )
            made = self._transitions.request(name, check_version(version), stage, comment=comment)
            attempt.target = f"transition:{made.id}"
            attempt.detail.update(model=f"{made.name}/{made.version}", status=made.status)
            return made

    def approve(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        """Approve a pending request (not your own); applied once the policy is met."""
        return self._decide(request_id, "approve", comment)

    def reject(self, request_id: str, *, comment: str = "") -> TransitionRequest:
        """Reject a pending request (the requester may reject, i.e. withdraw, their own)."""
        return self._decide(request_id, "reject", comment)

    def _decide(self, request_id: str, decision: str, comment: str) -> TransitionRequest:
        target = f"transition:{request_id}"
        with self._audit.attempt(f"registry.{decision}", target) as attempt:
            decided = self._transitions.decide(request_id, decision, comment=comment)
            attempt.detail.update(
                model=f"{decided.name}/{decided.version}",
                stage=decided.to_stage,
                status=decided.status,
            )
            return decided

    def get_request(self, request_id: str) -> TransitionRequest:
        """One transition request with its decisions."""
        return self._transitions.get(request_id)

    def list_requests(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[TransitionRequest]:
        """Transition requests of the project or of one model, newest first."""
        return self._transitions.list(name, status=status)

    def set_policy(self, name: str, policy: ModelPolicy | Mapping[str, Any]) -> RegisteredModel:
        """Replace the approval policy of ``name`` (admins)."""
        with self._audit.attempt("registry.set_policy", f"model:{name}"):
            return self._set_policy(name, policy)

    def _set_policy(self, name: str, policy: ModelPolicy | Mapping[str, Any]) -> RegisteredModel:
        self._principal.require(Role.ADMIN, action="changing a model's approval policy")
        check_model_name(name)
        parsed = check_policy(policy)
        with self._db.write() as session:
            row = find_model(session, self._project.id, name, lock=True)
            row.policy = parsed.model_dump(mode="json")
            record_event(
                session,
                project_id=self._project.id,
                type="model.policy_changed",
                subject=name,
                payload={"model": name, "policy": row.policy},
                actor=self._actor,
            )
            session.flush()
            return to_model(session, row)

    def lineage(self, ref: str, *, depth: int = MAX_DEPTH) -> ModelLineage:
        """The lineage graph around the version ``ref`` names, ``depth`` edges each way.

        Upstream: the run that trained it, the training set it read, what that table was
        derived from down to the raw tables, the versions it derives from. Downstream:
        versions derived from it, the deployments serving it. Node ids as in the catalog
        (``model:churn/3``).
        """
        return version_lineage(
            self.get_version, self.get_version(ref), store=self._lineage, depth=depth
        )

    def _event(
        self, session: Session, type_: str, row: ModelVersionRow, extra: dict[str, Any]
    ) -> None:
        record_event(
            session,
            project_id=self._project.id,
            type=type_,
            subject=f"{row.model_name}/{row.version}",
            payload={"model": row.model_name, "version": row.version, **extra},
            actor=self._actor,
        )
