"""Tables of monitoring: reference profiles and contracts, alert rules, and alerts.

Every row carries its ``project_id``. Inference records and feedback labels are not here:
they are Delta tables of the project's lake (``monitoring.inference_log``,
``monitoring.feedback``). What is here is small and transactional: an alert's state
changes in the same transaction as the platform event that announces it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["AlertRow", "AlertRuleRow", "ReferenceRow"]


class ReferenceRow(Base):
    """The reference profile of one model version, and the data contract derived from it.

    ``source`` says where the profile came from (``raw.customers@3``, or ``explicit``).
    ``predictions`` holds the profile of the model's predictions on the reference rows,
    where they came from and, when there are none, why (see
    :mod:`podium.monitoring.reference_predictions`); null for references made before.
    """

    __tablename__ = "monitoring_references"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "model_name", "version", name="uq_monitoring_references_model_version"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(256))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    contract: Mapped[dict[str, Any]] = mapped_column(JSON)
    predictions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRuleRow(Base):
    """A rule: ``metric condition threshold`` over ``window_seconds`` of one deployment,
    judged only over windows of at least ``min_requests`` predictions."""

    __tablename__ = "monitoring_alert_rules"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_monitoring_alert_rules_project_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(64))
    condition: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    window_seconds: Mapped[int] = mapped_column(Integer)
    for_seconds: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    min_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertRow(Base):
    """The state of one rule's alert: ``pending``, ``firing`` or ``resolved``.

    A rule has at most one open alert (pending or firing) at a time; a resolved alert is
    kept as history and the next breach opens a new row.
    """

    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        Index("ix_monitoring_alerts_project_rule_state", "project_id", "rule_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("monitoring_alert_rules.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
