"""Tables of the event outbox, webhooks and webhook deliveries.

``events_outbox`` is written by every area in the same transaction as the change it
describes (see :func:`podium.events.outbox.record_event`); the dispatcher later fans each
event out to one ``webhook_deliveries`` row per matching webhook and retries those rows
until they are delivered or give up. All of it is state in the metadata database, so a
process that dies between the change and its delivery loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["DeliveryRow", "EventRow", "WebhookRow"]

_BIGINT_PK = BigInteger().with_variant(Integer, "sqlite")


class EventRow(Base):
    """One platform event, e.g. type ``model.version_registered``, subject ``churn/3``."""

    __tablename__ = "events_outbox"
    __table_args__ = (
        Index("ix_events_outbox_dispatched_id", "dispatched_at", "id"),
        Index("ix_events_outbox_project_id_id", "project_id", "id"),
    )

    id: Mapped[int] = mapped_column(_BIGINT_PK, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookRow(Base):
    """A receiver URL for a project's events.

    ``secret`` is not hashed, because the dispatcher needs it to sign every body with
    HMAC-SHA256; it and ``url`` are stored encrypted under the installation's key (see
    :mod:`podium.store.encryption`), and the secret is never returned after creation.
    """

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    # Both sealed with the installation's key (enc:v1:..., ADR 0035), hence TEXT.
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all types
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryRow(Base):
    """One event to one webhook; status ``pending``, ``delivered``, ``failed``, ``gave_up``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_BIGINT_PK, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events_outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
