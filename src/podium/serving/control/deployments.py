"""The ``Deployments`` service: create, change and roll out deployments of one project.

A deployment names the model it serves and how (see :mod:`podium.serving.control.spec`). Every
change bumps its ``generation``, appends a history entry and writes a
``deployment.updated`` event to the outbox in the same transaction, so serving processes
(the platform server and every ``podium serve`` replica) reload it without a restart.
Readers may look; changing a deployment needs the writer role.

Rollouts::

    p.deployments.canary("churn", 4, weight=0.05)   # 5% to version 4, stepped up on schedule
    p.deployments.promote("churn")                  # version 4 becomes stable; 3 is kept as blue
    p.deployments.rollback("churn")                 # back to 3 at once
    p.deployments.stage("churn", 5)                 # green: mirrored live traffic, never returned
    p.deployments.switch("churn")                   # green becomes stable atomically

A deployment that follows a stage or alias (``churn@production``) makes stable only what
the registry allows there: promoting (or switching to) another version requests the
stage transition and waits for its approval (:mod:`podium.serving.control.governance`); once
approved, :meth:`Deployments.sync` moves the deployment to it.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.events.outbox import record_event
from podium.registry.protocol import Registry
from podium.serving.control.canary import CanarySchedule
from podium.serving.control.governance import follows, require_allowed
from podium.serving.control.names import check_names_free, find_by_alias
from podium.serving.control.reviews import Feedback, Label, Review, ReviewQueue, ReviewStatus
from podium.serving.control.spec import (
    BatchingSpec,
    BreakerSpec,
    CacheSpec,
    CanaryLimitsSpec,
    CanaryState,
    Deployment,
    DeploymentChange,
    DeploymentSpec,
    FallbackSpec,
    Traffic,
)
from podium.serving.control.status import DeploymentStatus
from podium.serving.control.tables import DeploymentChangeRow, DeploymentRow
from podium.serving.control.transitions import (
    need_canary,
    promoted,
    promotion_target,
    rolled_back,
    stepped,
    stepped_weight,
    switched,
)
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["DeploymentSpec", "Deployments"]

Notify = Callable[[str], None]
"""Called with a deployment name after a change committed (in-process reload)."""

Predictor = Callable[..., dict[str, Any]]
"""``predictor(model_id, features=..., instances=...)``: the project's serving runtime."""

Describer = Callable[[str], dict[str, Any]]
"""``describer(name)``: the body of ``GET /v1/deployments/{name}``, the deployment and its
live status as the serving runtime sees it
(:func:`podium.serving.control.status.deployment_status`)."""

Verify = Callable[[DeploymentSpec], None]
"""``verify(spec)`` raises (a PodiumError saying why) unless what ``spec`` serves loads."""

VersionLike = int | str


class Deployments:
    """The deployments of one project, as seen by one caller."""

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        registry: Registry,
        actor: str,
        role: Role,
        notify: Notify | None = None,
        predictor: Predictor | None = None,
        verify: Verify | None = None,
        describer: Describer | None = None,
        audit: Auditor | None = None,
        feedback: Feedback | None = None,
    ) -> None:
        self._db = db
        self._project = project
        self._registry = registry
        self._actor = actor
        self._principal = Principal(actor, project.id, project.name, role)
        self._notify = notify
        self._predictor = predictor
        self._verify = verify
        self._describer = describer
        self._audit = audit or Auditor.disabled()
        self._reviews = ReviewQueue(
            db, project, actor=actor, role=role, feedback=feedback, audit=self._audit
        )

    def predict(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One prediction (``features``) or a batch (``instances``) from deployment
        ``model_id``, answered in-process by the project's serving runtime; the body is
        the one ``POST /v1/predictions`` returns."""
        if self._predictor is None:
            raise InvalidInputError(
                "this platform has no serving runtime",
                remedy="connect with podium.connect() (embedded) or to a server",
            )
        return self._predictor(model_id, features=features, instances=instances)

    # -- reading --------------------------------------------------------------------

    def get(self, name: str) -> Deployment:
        """The deployment ``name`` (or the one with that alias); :class:`NotFoundError`
        when the project has none."""
        with self._db.read() as session:
            return _to_deployment(self._row(session, name, aliases=True))

    def status(self, name: str) -> DeploymentStatus:
        """The deployment as ``GET /v1/deployments/{name}`` returns it: spec, traffic,
        generation and, under ``status``, what this process's serving runtime has loaded
        (versions, circuit breakers, shadow agreement, cache, the canary's last verdict)."""
        if self._describer is None:
            raise InvalidInputError(
                "this platform has no serving runtime",
                remedy="connect with podium.connect() (embedded) or to a server",
            )
        return DeploymentStatus.model_validate(self._describer(name))

    def list(self) -> builtins.list[Deployment]:
        """Every deployment of the project, by name."""
        with self._db.read() as session:
            rows = session.scalars(
                select(DeploymentRow)
                .where(DeploymentRow.project_id == self._project.id)
                .order_by(DeploymentRow.name)
            ).all()
            return [_to_deployment(row) for row in rows]

    def history(self, name: str) -> builtins.list[DeploymentChange]:
        """The changes of ``name`` (or of the deployment with that alias), oldest first."""
        with self._db.read() as session:
            row = self._row(session, name, aliases=True)
            changes = session.scalars(
                select(DeploymentChangeRow)
                .where(DeploymentChangeRow.deployment_id == row.id)
                .order_by(DeploymentChangeRow.id)
            ).all()
            return [
                DeploymentChange(
                    generation=c.generation,
                    action=c.action,
                    traffic=Traffic.model_validate(c.traffic),
                    reason=c.reason,
                    actor=c.actor,
                    created_at=c.created_at,
                )
                for c in changes
            ]

    # -- the review queue of escalated requests ---------------------------------------

    def reviews(
        self, name: str, *, status: ReviewStatus = "open", limit: int = 100
    ) -> builtins.list[Review]:
        """The escalated requests of deployment ``name`` waiting for (or given, with
        ``status="answered"`` or ``"all"``) a human answer, oldest first."""
        return self._reviews.list(name, status=status, limit=limit)

    def answer_review(self, name: str, review_id: str, *, label: Label) -> Review:
        """Answer review ``review_id`` of ``name`` with the true ``label``: it becomes
        monitoring feedback for the escalated request (counted by accuracy)."""
        return self._reviews.answer(name, review_id, label=label)

    # -- creating and changing --------------------------------------------------------

    def create(
        self,
        name: str | None = None,
        *,
        model: str,
        fallback: FallbackSpec | Mapping[str, Any] | None = None,
        timeout_ms: float = 1000.0,
        breaker: BreakerSpec | Mapping[str, Any] | None = None,
        cache: CacheSpec | Mapping[str, Any] | None = None,
        batching: BatchingSpec | Mapping[str, Any] | None = None,
        features: Sequence[str] = (),
        entity_keys: Sequence[str] = (),
        log_inferences: bool = True,
        aliases: Sequence[str] = (),
    ) -> Deployment:
        """Deploy ``model`` (a registry ref such as ``customer-churn@production``).

        Without ``name`` the deployment takes the model's name; ``aliases`` are other
        names clients may predict against. The ref is resolved now; the deployment
        follows it when the stage or alias moves to another version.
        """
        self._principal.require(Role.WRITER, action="creating a deployment")
        raw: dict[str, Any] = {
            "name": name or model.split("@")[0].split("/")[0],
            "model": model,
            "timeout_ms": timeout_ms,
            "features": list(features),
            "entity_keys": list(entity_keys),
            "log_inferences": log_inferences,
            "aliases": list(aliases),
        }
        for key, value in (
            ("fallback", fallback),
            ("breaker", breaker),
            ("cache", cache),
            ("batching", batching),
        ):
            if value is not None:
                raw[key] = value.model_dump() if hasattr(value, "model_dump") else dict(value)
        spec = _parse_spec(raw)
        stable = self._registry.get_version(spec.model)
        if spec.fallback.model is not None:
            self._registry.get_version(spec.fallback.model)  # must exist now
        if self._verify is not None:
            self._verify(spec)  # the model loads, or the deployment is refused now
        traffic = Traffic(
            stable=stable.version, ref_version=stable.version if follows(spec.model) else None
        )
        now = utcnow()
        row = DeploymentRow(
            id=uuid.uuid4().hex,
            project_id=self._project.id,
            name=spec.name,
            model=spec.model,
            spec=spec.model_dump(mode="json"),
            traffic=traffic.model_dump(mode="json"),
            generation=1,
            created_by=self._actor,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._db.write() as session:
                check_names_free(session, self._project.id, spec, row_id=row.id)
                session.add(row)
                session.flush()
                self._record(session, row, "created", f"serving {stable.ref}")
        except sa_exc.IntegrityError:
            raise ConflictError(
                f"a deployment named {spec.name!r} exists already",
                field="name",
                remedy="pick another name, or change the existing one with update",
            ) from None
        self._changed(spec.name)
        return _to_deployment(row)

    def update(self, name: str, **changes: Any) -> Deployment:
        """Change spec fields (``timeout_ms=200``, ``cache={"ttl_seconds": 5}``, ...).

        Changing ``model`` re-resolves it and makes its version stable (the new ref is
        what the registry allows, so no approval is asked for).
        """
        self._principal.require(Role.WRITER, action="updating a deployment")
        if "name" in changes:
            raise InvalidInputError(
                "a deployment cannot be renamed",
                field="name",
                remedy="create a new deployment and delete the old one",
            )

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            merged = dict(row.spec)
            for key, value in changes.items():
                merged[key] = value.model_dump() if hasattr(value, "model_dump") else value
            spec = _parse_spec(merged)
            if spec.aliases != row.spec.get("aliases", []):
                with self._db.read() as session:
                    check_names_free(session, self._project.id, spec, row_id=row.id)
            row.spec = spec.model_dump(mode="json")
            if spec.model != row.model:
                row.model = spec.model
                version = self._registry.get_version(spec.model).version
                traffic = traffic.model_copy(
                    update={
                        "stable": version,
                        "blue": traffic.stable,
                        "ref_version": version if follows(spec.model) else None,
                    }
                )
            return traffic, "changed " + ", ".join(sorted(changes))

        if self._verify is not None and changes.keys() & {"model", "fallback"}:
            merged = dict(self.get(name).spec.model_dump(mode="json"))
            for key, value in changes.items():
                merged[key] = value.model_dump() if hasattr(value, "model_dump") else value
            self._verify(_parse_spec(merged))  # outside the write transaction: loads take time
        return self._change(name, "updated", change)

    def delete(self, name: str) -> None:
        """Remove the deployment; serving processes stop answering for it."""
        self._principal.require(Role.WRITER, action="deleting a deployment")
        with self._db.write() as session:
            row = self._row(session, name)
            self._event(session, row, "deleted", "")
            session.delete(row)
        self._changed(name)

    # -- rollouts -------------------------------------------------------------------

    def canary(
        self,
        name: str,
        version: VersionLike,
        *,
        weight: float | None = None,
        sticky_key: str | None = None,
        steps: Sequence[float] | None = None,
        step_seconds: float = 60.0,
        limits: CanaryLimitsSpec | Mapping[str, Any] | None = None,
        auto: bool = True,
    ) -> Deployment:
        """Route a share of traffic to ``version`` (sticky by a feature when given).

        The share starts at ``weight`` (default: the first step) and, with ``auto``,
        steps up every ``step_seconds`` while the canary stays within ``limits``, is
        promoted after the last step, and is rolled back when it is worse.
        """
        self._principal.require(Role.WRITER, action="starting a canary")
        schedule = tuple(steps) if steps is not None else (0.05, 0.25, 0.5, 1.0)
        CanarySchedule(steps=schedule, step_seconds=step_seconds)  # raises naming the field
        first = schedule[0] if schedule else 1.0
        try:
            state_limits = (
                limits
                if isinstance(limits, CanaryLimitsSpec)
                else CanaryLimitsSpec.model_validate(dict(limits or {}))
            )
            state = CanaryState(
                version=0,
                weight=first if weight is None else weight,
                sticky_key=sticky_key,
                steps=schedule,
                step_seconds=step_seconds,
                limits=state_limits,
                auto=auto,
                step_started_at=utcnow(),
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        if state.weight >= 1:  # all traffic: as good as stable, so the same rule applies
            current = self.get(name)
            self._require_allowed(current, self._version_of_ref(current.spec, version), "canary")

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            number = self._version_of(row, version)
            if number == traffic.stable:
                raise ConflictError(
                    f"version {number} is already the stable version of {name!r}",
                    field="version",
                    remedy="canary a newer version",
                )
            canary = state.model_copy(update={"version": number})
            return traffic.model_copy(update={"canary": canary}), (
                f"canary version {number} at {canary.weight:.0%}"
            )

        return self._change(name, "canary", change)

    def step(self, name: str, *, weight: float | None = None, reason: str = "") -> Deployment:
        """Move the canary to ``weight``, or to the next step of its schedule."""
        self._principal.require(Role.WRITER, action="stepping a canary")
        current = self.get(name)
        canary = need_canary(name, current.traffic)
        if stepped_weight(canary, weight) >= 1:
            self._require_allowed(current, canary.version, "a canary at 100%")
        return self._change(
            name, "step", lambda row, traffic: stepped(name, traffic, weight, reason)
        )

    def promote(self, name: str, *, reason: str = "") -> Deployment:
        """Make the canary (or the staged green) version stable; keep the old one as blue.

        On a deployment that follows a stage, a version not in that stage is not
        promoted: its transition is requested and a :class:`ConflictError` names the
        request to approve (see :mod:`podium.serving.control.governance`).
        """
        self._principal.require(Role.WRITER, action="promoting a deployment")
        current = self.get(name)
        target = promotion_target(name, current.traffic)
        self._require_allowed(current, target, "promote")
        return self._change(
            name, "promote", self._governed(name, target, lambda t: promoted(name, t, reason))
        )

    def rollback(self, name: str, *, reason: str = "") -> Deployment:
        """Drop the canary; without one, return to the blue (previous) version at once."""
        self._principal.require(Role.WRITER, action="rolling back a deployment")
        return self._change(
            name, "rollback", lambda row, traffic: rolled_back(name, traffic, reason)
        )

    def shadow(self, name: str, version: VersionLike | None) -> Deployment:
        """Mirror live traffic to ``version`` (answers recorded, never returned); None stops."""
        self._principal.require(Role.WRITER, action="shadowing a deployment")

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            if version is None:
                return traffic.model_copy(update={"shadow": None}), "shadow stopped"
            number = self._version_of(row, version)
            return traffic.model_copy(update={"shadow": number}), f"shadow version {number}"

        return self._change(name, "shadow", change)

    def stage(self, name: str, version: VersionLike) -> Deployment:
        """Blue-green: load ``version`` as green and mirror live traffic to it."""
        self._principal.require(Role.WRITER, action="staging a green version")

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            number = self._version_of(row, version)
            staged = traffic.model_copy(update={"green": number, "shadow": number})
            return staged, f"version {number} staged as green"

        return self._change(name, "stage", change)

    def switch(self, name: str) -> Deployment:
        """Blue-green: make green stable in one step; the old stable stays loaded as blue."""
        self._principal.require(Role.WRITER, action="switching a deployment")
        current = self.get(name)
        green = current.traffic.green
        if green is None:
            switched(name, current.traffic)  # raises: nothing to switch to
        assert green is not None
        self._require_allowed(current, green, "switch")
        return self._change(
            name, "switch", self._governed(name, green, lambda t: switched(name, t))
        )

    def sync(self, name: str) -> Deployment:
        """Follow the model ref: when its stage or alias names another version than when
        the deployment last followed it, make that version stable (the reaction to
        ``model.stage_changed`` and ``model.alias_changed`` events).

        Only a move of the ref moves the deployment, so a sync never undoes a rollback
        or a completed rollout; every move is a history entry saying why. A deployment
        pinned to a version is left as it is.
        """
        self._principal.require(Role.WRITER, action="syncing a deployment")
        current = self.get(name)
        if not follows(current.spec.model):
            return current
        if self._registry.get_version(current.spec.model).version == _followed(current.traffic):
            return current  # the usual case: read only, no write transaction

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            version = self._registry.get_version(row.model).version
            last = _followed(traffic)
            if version == last:
                return traffic, ""
            if version == traffic.stable:
                moved = traffic.model_copy(update={"ref_version": version})
                return moved, f"{row.model} moved from version {last} to {version}, the stable one"
            moved = Traffic(
                stable=version,
                blue=traffic.stable,
                shadow=None if traffic.shadow == version else traffic.shadow,
                ref_version=version,
            )
            return moved, (
                f"{row.model} moved from version {last} to {version}: version {version} is "
                f"stable, {traffic.stable} kept as blue"
            )

        return self._change(name, "registry", change)

    # -- internals ------------------------------------------------------------------

    def _require_allowed(self, current: Deployment, version: int, action: str) -> None:
        require_allowed(
            self._registry,
            deployment=current.name,
            ref=current.spec.model,
            version=version,
            action=action,
        )

    def _governed(
        self, name: str, target: int, move: Callable[[Traffic], tuple[Traffic, str]]
    ) -> Callable[[DeploymentRow, Traffic], tuple[Traffic, str]]:
        """``move`` applied under the row lock, once ``target`` was allowed to be stable."""

        def change(row: DeploymentRow, traffic: Traffic) -> tuple[Traffic, str]:
            if traffic.stable == target and traffic.canary is None and traffic.green is None:
                return traffic, ""  # the deployment followed the approval meanwhile
            moved, reason = move(traffic)
            if moved.stable != target:
                raise ConflictError(
                    f"deployment {name!r} changed while version {target} was checked",
                    remedy="look at it with `podium deploy status` and try again",
                )
            if follows(row.model):
                named = self._registry.get_version(row.model).version
                moved = moved.model_copy(update={"ref_version": named})
            return moved, reason

        return change

    def _change(
        self,
        name: str,
        action: str,
        change: Callable[[DeploymentRow, Traffic], tuple[Traffic, str]],
    ) -> Deployment:
        with self._db.write() as session:
            row = self._row(session, name, for_update=True)
            before = Traffic.model_validate(row.traffic)
            spec_before = dict(row.spec)
            after, reason = change(row, before)
            if after == before and row.spec == spec_before:
                return _to_deployment(row)
            row.traffic = after.model_dump(mode="json")
            row.generation += 1
            row.updated_at = utcnow()
            self._record(session, row, action, reason)
            result = _to_deployment(row)
        self._changed(name)
        return result

    def _record(self, session: Session, row: DeploymentRow, action: str, reason: str) -> None:
        session.add(
            DeploymentChangeRow(
                deployment_id=row.id,
                generation=row.generation,
                action=action,
                traffic=row.traffic,
                reason=reason[:512],
                actor=self._actor,
                created_at=utcnow(),
            )
        )
        self._event(session, row, action, reason)

    def _event(self, session: Session, row: DeploymentRow, action: str, reason: str) -> None:
        self._audit.note(session, f"deployments.{action}", f"deployment:{row.name}")
        record_event(
            session,
            project_id=self._project.id,
            type="deployment.deleted" if action == "deleted" else "deployment.updated",
            subject=row.name,
            payload={
                "deployment": row.name,
                "action": action,
                "generation": row.generation,
                "traffic": row.traffic,
                "reason": reason[:512],
            },
            actor=self._actor,
        )

    def _changed(self, name: str) -> None:
        if self._notify is not None:
            self._notify(name)

    def _row(
        self, session: Session, name: str, *, for_update: bool = False, aliases: bool = False
    ) -> DeploymentRow:
        query = select(DeploymentRow).where(
            DeploymentRow.project_id == self._project.id, DeploymentRow.name == name
        )
        if for_update and not self._db.is_sqlite:
            query = query.with_for_update()
        row = session.scalars(query).first()
        if row is None and aliases:
            row = find_by_alias(session, self._project.id, name)
        if row is None:
            raise NotFoundError(
                f"deployment {name!r} does not exist in project {self._project.name!r}",
                field="model_id",
                remedy="list deployments with `podium deploy ls`, or create one with "
                "`podium deploy create MODEL_REF`",
            )
        return row

    def _version_of(self, row: DeploymentRow, version: VersionLike) -> int:
        return self._version_of_ref(DeploymentSpec.model_validate(row.spec), version)

    def _version_of_ref(self, spec: DeploymentSpec, version: VersionLike) -> int:
        row_name = spec.name
        model = spec.model.split("@")[0].split("/")[0]
        if isinstance(version, bool) or not isinstance(version, int | str):
            raise InvalidInputError(
                f"a version is a number or a ref; got {version!r} instead",
                field="version",
                remedy="pass e.g. 4 or 'customer-churn@staging'",
            )
        ref = f"{model}/{version}" if isinstance(version, int) or version.isdigit() else version
        found = self._registry.get_version(ref)
        if found.name != model:
            raise InvalidInputError(
                f"deployment {row_name!r} serves model {model!r}; {ref!r} is another model",
                field="version",
                remedy=f"pass a version of {model!r}",
            )
        return found.version


def _followed(traffic: Traffic) -> int:
    """The version the deployment last followed its ref to (stable, for older rows)."""
    return traffic.ref_version if traffic.ref_version is not None else traffic.stable


def _parse_spec(raw: Mapping[str, Any]) -> DeploymentSpec:
    try:
        return DeploymentSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidInputError:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "spec"
    return InvalidInputError(
        f"the deployment's {field!r} is not acceptable: {first['msg']}",
        field=field,
        remedy="see `podium deploy create --help` for every setting and its range",
    )


def _to_deployment(row: DeploymentRow) -> Deployment:
    return Deployment(
        spec=DeploymentSpec.model_validate(row.spec),
        traffic=Traffic.model_validate(row.traffic),
        generation=row.generation,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
