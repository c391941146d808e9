"""Stage transitions: requests, approvals and rejections, and applying a transition.

Moving a version to ``staging`` or ``production`` is a request, decided by the model's
policy (:mod:`podium.registry.policy`): it is applied once it holds
``required_approvals`` approvals from eligible identities other than the requester and
the version passes every metric gate. With the default policy a staging request applies
at once and a production request waits for one admin. ``archived`` applies directly for
writers.

Gates are checked twice: when the request is made (a failing version is refused with a
:class:`ConflictError`, so nobody waits on an approval that cannot apply) and again when
the last approval arrives (the policy may have been tightened in between; the request is
then *rejected*, with the failing gates in its ``message``).

Promoting a version to production archives the previous production version in the same
transaction, under a lock on the model's row, so there is never more than one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.roles import Role
from podium.errors import ConflictError, NotFoundError, PermissionDeniedError
from podium.events.outbox import record_event
from podium.registry.policy import check_policy, check_stage_move, failed_gates, may_approve
from podium.registry.queries import find_model, find_version, to_request
from podium.registry.tables import (
    ApprovalRow,
    ModelVersionRow,
    RegisteredModelRow,
    TransitionRequestRow,
)
from podium.registry.types import StagePolicy, TransitionRequest
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["RoleLookup", "Transitions"]

RoleLookup = Callable[[str], Role | None]
"""``actor -> role`` in this project now (None: no longer a member)."""


class Transitions:
    """Requests, decisions and stage changes for one project and one caller."""

    def __init__(
        self,
        db: Database,
        project_id: int,
        *,
        actor: str,
        role: Role,
        roles_of: RoleLookup | None = None,
    ) -> None:
        self._db = db
        self._project_id = project_id
        self._actor = actor
        self._role = role
        self._roles_of = roles_of

    def request(
        self, name: str, version: int, stage: str, *, comment: str = ""
    ) -> TransitionRequest:
        """Ask to move ``name/version`` to ``stage`` (writers and admins)."""
        self._require_writer("requesting a stage transition")
        ref = f"{name}/{version}"
        with self._db.write() as session:
            model = find_model(session, self._project_id, name, lock=True)
            row = find_version(session, self._project_id, name, version)
            check_stage_move(ref, row.stage, stage)
            pending = session.scalar(
                select(TransitionRequestRow.id).where(
                    TransitionRequestRow.project_id == self._project_id,
                    TransitionRequestRow.model_name == name,
                    TransitionRequestRow.version == version,
                    TransitionRequestRow.to_stage == stage,
                    TransitionRequestRow.status == "pending",
                )
            )
            if pending is not None:
                raise ConflictError(
                    f"a request to move {ref} to {stage} is already pending ({pending})",
                    field="stage",
                    remedy=f"approve or reject request {pending} instead of asking again",
                    details={"request_id": pending},
                )
            if stage != "archived":
                failures = failed_gates(self._policy(model, stage), row.metrics or {})
                if failures:
                    raise ConflictError(
                        f"{ref} cannot go to {stage}: " + "; ".join(failures),
                        field="stage",
                        remedy="register a version that passes the gates, or ask an admin "
                        "to change the model's policy with set_policy",
                        details={"failed_gates": failures},
                    )
            request = TransitionRequestRow(
                id=uuid.uuid4().hex,
                project_id=self._project_id,
                model_name=name,
                version=version,
                from_stage=row.stage,
                to_stage=stage,
                requested_by=self._actor,
                comment=comment,
                status="pending",
                created_at=utcnow(),
            )
            session.add(request)
            self._event(session, "model.transition_requested", request)
            if stage == "archived":
                self._apply(session, request, row)
            else:
                self._decide_if_ready(session, model, request, row)
            session.flush()
            return to_request(session, request)

    def decide(self, request_id: str, decision: str, *, comment: str = "") -> TransitionRequest:
        """Record the caller's ``approve`` or ``reject`` on a pending request."""
        self._require_writer(f"deciding on a transition request ({decision})")
        with self._db.write() as session:
            request = self._find(session, request_id, lock=True)
            model = find_model(session, self._project_id, request.model_name, lock=True)
            ref = f"{request.model_name}/{request.version}"
            if request.status != "pending":
                raise ConflictError(
                    f"request {request_id} ({ref} to {request.to_stage}) is already "
                    f"{request.status}",
                    remedy="request the transition again if it is still wanted",
                )
            withdrawing = decision == "reject" and self._actor == request.requested_by
            if self._actor == request.requested_by and not withdrawing:
                raise PermissionDeniedError(
                    f"self-approval is refused: {self._actor} requested {ref} to "
                    f"{request.to_stage}",
                    remedy="ask another identity holding an approver role to approve it",
                )
            policy = self._policy(model, request.to_stage)
            if not withdrawing and not may_approve(policy, self._actor, self._role):
                raise PermissionDeniedError(
                    f"{self._actor} ({self._role.value}) may not decide on moving {ref} to "
                    f"{request.to_stage}: approvers hold one of the roles "
                    f"{policy.approver_roles} or are named in {policy.approvers}",
                    remedy="ask an admin to approve, or to add you to the model's approvers "
                    "with set_policy",
                )
            if session.scalar(
                select(ApprovalRow.id).where(
                    ApprovalRow.request_id == request_id, ApprovalRow.actor == self._actor
                )
            ):
                raise ConflictError(
                    f"{self._actor} has already decided on request {request_id}",
                    remedy="each identity decides once; ask another approver",
                )
            session.add(
                ApprovalRow(
                    request_id=request_id,
                    actor=self._actor,
                    actor_role=self._role.value,
                    decision=decision,
                    comment=comment,
                    created_at=utcnow(),
                )
            )
            session.flush()
            row = find_version(session, self._project_id, request.model_name, request.version)
            if decision == "reject":
                verb = "withdrawn" if withdrawing else "rejected"
                self._close(request, "rejected", f"{verb} by {self._actor}: {comment}".rstrip(": "))
                self._event(session, "model.transition_rejected", request)
            else:
                self._event(session, "model.transition_approved", request)
                self._decide_if_ready(session, model, request, row)
            session.flush()
            return to_request(session, request)

    def get(self, request_id: str) -> TransitionRequest:
        """One request with its decisions."""
        with self._db.read() as session:
            return to_request(session, self._find(session, request_id))

    def list(
        self, name: str | None = None, *, status: str | None = None
    ) -> list[TransitionRequest]:
        """Requests of the project (or of one model), newest first."""
        query = select(TransitionRequestRow).where(
            TransitionRequestRow.project_id == self._project_id
        )
        if name is not None:
            query = query.where(TransitionRequestRow.model_name == name)
        if status is not None:
            query = query.where(TransitionRequestRow.status == status)
        with self._db.read() as session:
            rows = session.scalars(query.order_by(TransitionRequestRow.created_at.desc())).all()
            return [to_request(session, r) for r in rows]

    def _decide_if_ready(
        self,
        session: Session,
        model: RegisteredModelRow,
        request: TransitionRequestRow,
        row: ModelVersionRow,
    ) -> None:
        policy = self._policy(model, request.to_stage)
        approvers = self._eligible_approvers(session, request, policy)
        missing = policy.required_approvals - len(approvers)
        if missing > 0:
            request.message = (
                f"waiting for {missing} more approval(s) from an identity other than "
                f"{request.requested_by} holding one of the roles {policy.approver_roles}"
                + (f" or named in {policy.approvers}" if policy.approvers else "")
            )
            return
        failures = failed_gates(policy, row.metrics or {})
        if failures:
            self._close(request, "rejected", "; ".join(failures))
            self._event(session, "model.transition_rejected", request)
            return
        self._apply(session, request, row)

    def _eligible_approvers(
        self, session: Session, request: TransitionRequestRow, policy: StagePolicy
    ) -> set[str]:
        decisions = session.scalars(
            select(ApprovalRow).where(
                ApprovalRow.request_id == request.id, ApprovalRow.decision == "approve"
            )
        ).all()
        eligible = set()
        for decision in decisions:
            if decision.actor == request.requested_by:
                continue
            role = self._roles_of(decision.actor) if self._roles_of else Role(decision.actor_role)
            if may_approve(policy, decision.actor, role):
                eligible.add(decision.actor)
        return eligible

    def _apply(self, session: Session, request: TransitionRequestRow, row: ModelVersionRow) -> None:
        ref = f"{row.model_name}/{row.version}"
        if row.stage != request.from_stage:
            self._close(
                request,
                "rejected",
                f"{ref} moved to {row.stage} after the request was made; request again",
            )
            self._event(session, "model.transition_rejected", request)
            return
        if request.to_stage == "production":
            previous = session.scalars(
                select(ModelVersionRow).where(
                    ModelVersionRow.project_id == self._project_id,
                    ModelVersionRow.model_name == row.model_name,
                    ModelVersionRow.stage == "production",
                    ModelVersionRow.version != row.version,
                )
            ).all()
            for old in previous:
                old.stage = "archived"
                self._stage_event(session, old, "production", request.id)
        from_stage, row.stage = row.stage, request.to_stage
        self._close(request, "applied", f"{ref} moved from {from_stage} to {row.stage}")
        self._stage_event(session, row, from_stage, request.id)

    def _close(self, request: TransitionRequestRow, status: str, message: str) -> None:
        request.status = status
        request.message = message
        request.decided_at = utcnow()

    def _policy(self, model: RegisteredModelRow, stage: str) -> StagePolicy:
        return check_policy(model.policy or {}).for_stage(stage)

    def _find(
        self, session: Session, request_id: str, *, lock: bool = False
    ) -> TransitionRequestRow:
        query = select(TransitionRequestRow).where(
            TransitionRequestRow.project_id == self._project_id,
            TransitionRequestRow.id == request_id,
        )
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise NotFoundError(
                f"there is no transition request {request_id!r} in this project",
                field="request_id",
                remedy="list pending requests with list_requests(status='pending')",
            )
        return row

    def _require_writer(self, action: str) -> None:
        if self._role.rank < Role.WRITER.rank:
            raise PermissionDeniedError(
                f"{action} needs the writer or admin role; {self._actor} has {self._role.value}",
                remedy="ask an admin of the project for a key with the writer role",
            )

    def _event(self, session: Session, type_: str, request: TransitionRequestRow) -> None:
        record_event(
            session,
            project_id=self._project_id,
            type=type_,
            subject=f"{request.model_name}/{request.version}",
            payload={
                "model": request.model_name,
                "version": request.version,
                "request_id": request.id,
                "from_stage": request.from_stage,
                "to_stage": request.to_stage,
                "status": request.status,
                "requested_by": request.requested_by,
            },
            actor=self._actor,
        )

    def _stage_event(
        self, session: Session, row: ModelVersionRow, from_stage: str, request_id: str
    ) -> None:
        record_event(
            session,
            project_id=self._project_id,
            type="model.stage_changed",
            subject=f"{row.model_name}/{row.version}",
            payload={
                "model": row.model_name,
                "version": row.version,
                "from_stage": from_stage,
                "to_stage": row.stage,
                "request_id": request_id,
            },
            actor=self._actor,
        )
