"""Tables of the model registry: models, versions, aliases, transition requests, approvals.

Every row carries its ``project_id``. A version is identified by ``(project, model name,
version)``, unique in the database, so two concurrent registrations can never end up with
the same number: the loser of the race hits the unique index and retries with the next one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = [
    "ApprovalRow",
    "ModelAliasRow",
    "ModelVersionRow",
    "RegisteredModelRow",
    "TransitionRequestRow",
]


class RegisteredModelRow(Base):
    """A named model of a project; ``policy`` maps a stage to its approval policy."""

    __tablename__ = "registered_models"
    __table_args__ = (
        Index("uq_registered_models_project_name", "project_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersionRow(Base):
    """One immutable version of a model: its artifact, signature and where it came from.

    Only ``stage``, ``description`` and ``tags`` change after registration.
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "model_name", "version", name="uq_model_versions_project_name_version"
        ),
        Index("ix_model_versions_project_name_stage", "project_id", "model_name", "stage"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(32))
    artifact_digest: Mapped[str] = mapped_column(String(64))
    artifact_size: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    inputs: Mapped[list[str]] = mapped_column(JSON, default=list)
    code_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    derived_from: Mapped[str | None] = mapped_column(String(128), nullable=True)
    stage: Mapped[str] = mapped_column(String(16), default="none")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelAliasRow(Base):
    """A movable name (``champion``, ``challenger``) for one version of a model."""

    __tablename__ = "model_aliases"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransitionRequestRow(Base):
    """A request to move a version to a stage: ``pending``, ``applied`` or ``rejected``.

    ``message`` says why a request is still pending or why it was rejected.
    """

    __tablename__ = "transition_requests"
    __table_args__ = (
        Index("ix_transition_requests_project_name_status", "project_id", "model_name", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApprovalRow(Base):
    """One decision (``approve`` or ``reject``) on a request; one per actor and request."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "actor", name="uq_approvals_request_actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("transition_requests.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
