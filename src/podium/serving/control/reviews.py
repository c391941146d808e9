"""The review queue: escalated requests waiting for a human, and their answers.

A deployment whose fallback chain ends in ``escalate`` answers a request it cannot
predict (every model failed, or its breaker is open) with its configured default,
marked ``served_by: "escalated"``, and queues the request here (:meth:`ReviewQueue.add`,
called by the serving runtime). A reviewer lists the open ones and answers each with the
true label (:meth:`ReviewQueue.answer`): the label is recorded as monitoring feedback for
the request id, so ``p.monitoring.accuracy`` counts it, and the review is closed.

Reading the queue needs the reader role, answering it the writer role; a review of
another project, or of another deployment, is not found.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.serving.control.names import find_by_alias
from podium.serving.control.review_tables import ReviewRow
from podium.serving.control.review_types import Label, Review, ReviewStatus
from podium.serving.control.tables import DeploymentRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Feedback", "Label", "Review", "ReviewQueue", "ReviewStatus", "enqueue_review"]

Feedback = Callable[[str, Any], object]
"""``feedback(request_id, label)``: records the label as monitoring feedback (or raises)."""

_MAX_LIMIT = 1000
_MAX_REASON = 1024


def enqueue_review(
    db: Database,
    project_id: int,
    *,
    deployment: str,
    request_id: str,
    features: Mapping[str, Any],
    answer: Mapping[str, Any],
    reason: str,
) -> str:
    """Queue one escalated request for review (the serving runtime's call); its id."""
    review_id = uuid.uuid4().hex
    with db.write() as session:
        session.add(
            ReviewRow(
                id=review_id,
                project_id=project_id,
                deployment=deployment,
                request_id=request_id,
                features=dict(features),
                answer=dict(answer),
                reason=reason[:_MAX_REASON],
                status="open",
                created_at=utcnow(),
            )
        )
    return review_id


class ReviewQueue:
    """The review queue of one project, as seen by one caller."""

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        actor: str,
        role: Role,
        feedback: Feedback | None = None,
        audit: Auditor | None = None,
    ) -> None:
        self._db = db
        self._project = project
        self._principal = Principal(actor, project.id, project.name, role)
        self._actor = actor
        self._feedback = feedback
        self._audit = audit or Auditor.disabled()

    def list(
        self, deployment: str, *, status: ReviewStatus = "open", limit: int = 100
    ) -> builtins.list[Review]:
        """The reviews of ``deployment``, oldest first (``status``: open, answered or all)."""
        if status not in ("open", "answered", "all"):
            raise InvalidInputError(
                f"status must be 'open', 'answered' or 'all'; got {status!r} instead",
                field="status",
                remedy="pass status='open' for the reviews still waiting",
            )
        if not 1 <= limit <= _MAX_LIMIT:
            raise InvalidInputError(
                f"limit must be between 1 and {_MAX_LIMIT}; got {limit} instead",
                field="limit",
                remedy=f"pass a limit of at most {_MAX_LIMIT}",
            )
        with self._db.read() as session:
            name = self._deployment(session, deployment)
            query = select(ReviewRow).where(
                ReviewRow.project_id == self._project.id, ReviewRow.deployment == name
            )
            if status != "all":
                query = query.where(ReviewRow.status == status)
            rows = session.scalars(query.order_by(ReviewRow.created_at).limit(limit)).all()
            return [_to_review(row) for row in rows]

    def answer(self, deployment: str, review_id: str, *, label: Label) -> Review:
        """Answer review ``review_id`` of ``deployment`` with the true ``label``: recorded
        as monitoring feedback for its request, then the review is closed."""
        self._principal.require(Role.WRITER, action="answering a review")
        with self._db.read() as session:
            row = self._review(session, deployment, review_id)
            if row.status != "open":
                raise ConflictError(
                    f"review {review_id!r} was answered already (label {row.label!r} by "
                    f"{row.answered_by})",
                    field="review_id",
                    remedy="correct a label with p.monitoring.feedback(request_id, label=...)",
                )
            request_id = row.request_id
        if self._feedback is None:
            raise InvalidInputError(
                "this platform has no monitoring to record the label in",
                remedy="connect with podium.connect() (embedded) or to a server",
            )
        self._feedback(request_id, label)  # refuses a label of the wrong kind
        with self._db.write() as session:
            row = self._review(session, deployment, review_id)
            row.status = "answered"
            row.label = label
            row.answered_by = self._actor
            row.answered_at = utcnow()
            self._audit.note(session, "deployments.answer_review", f"deployment:{row.deployment}")
            session.flush()
            return _to_review(row)

    # -- lookups ---------------------------------------------------------------------
    def _deployment(self, session: Session, name: str) -> str:
        row = session.scalars(
            select(DeploymentRow).where(
                DeploymentRow.project_id == self._project.id, DeploymentRow.name == name
            )
        ).first()
        if row is None:
            row = find_by_alias(session, self._project.id, name)
        if row is None:
            raise NotFoundError(
                f"deployment {name!r} does not exist in project {self._project.name!r}",
                field="deployment",
                remedy="list deployments with `podium deploy ls`",
            )
        return row.name

    def _review(self, session: Session, deployment: str, review_id: str) -> ReviewRow:
        name = self._deployment(session, deployment)
        row = session.get(ReviewRow, review_id)
        if row is None or row.project_id != self._project.id or row.deployment != name:
            raise NotFoundError(
                f"review {review_id!r} of deployment {name!r} does not exist in project "
                f"{self._project.name!r}",
                field="review_id",
                remedy=f"list the open reviews with p.deployments.reviews({name!r})",
            )
        return row


def _to_review(row: ReviewRow) -> Review:
    return Review(
        id=row.id,
        deployment=row.deployment,
        request_id=row.request_id,
        features=row.features,
        answer=row.answer,
        reason=row.reason,
        status="answered" if row.status == "answered" else "open",
        label=row.label,
        answered_by=row.answered_by,
        created_at=row.created_at,
        answered_at=row.answered_at,
    )
