"""Tables of the serving area: deployments and the history of their changes.

A deployment row holds its whole configuration as JSON (``spec``: model ref, fallback
chain, timeouts, breaker, cache, batching, online features) and its live traffic policy
(``traffic``: stable, canary, shadow, blue/green versions). ``generation`` grows by one
on every change, so serving processes can tell a stale in-memory copy from a fresh one.
Every change also appends a :class:`DeploymentChangeRow`, which ``podium deploy status``
shows and ``rollback`` reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["DeploymentChangeRow", "DeploymentRow"]


class DeploymentRow(Base):
    """One deployment of a project: a name clients predict against, and its policy."""

    __tablename__ = "deployments"
    __table_args__ = (Index("uq_deployments_project_name", "project_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(160))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    traffic: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeploymentChangeRow(Base):
    """One change of a deployment (created, canary step, promote, rollback, switch...)."""

    __tablename__ = "deployment_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    traffic: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(512), default="")
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
