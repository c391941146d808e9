"""The review queue: requests a deployment escalated to a human, and their answers.

A request escalates when every model of its deployment's fallback chain failed (or its
breaker was open) and the chain ends in ``escalate``: the caller got the configured
default answer, and one :class:`ReviewRow` waits here with the request's features until
a reviewer answers it with the true label (which becomes monitoring feedback).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["ReviewRow"]


class ReviewRow(Base):
    """One escalated request of a deployment, open until a reviewer answers it."""

    __tablename__ = "review_queue"
    __table_args__ = (
        Index("ix_review_queue_project_deployment_status", "project_id", "deployment", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    deployment: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(160))
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    label: Mapped[Any] = mapped_column(JSON, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
