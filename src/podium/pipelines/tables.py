"""Tables of pipelines: runs, steps, the step cache (references only), schedules,
triggers and the leases that make each scheduled or triggered run start once.

A pipeline run's id is the id of its tracked run (experiment = the pipeline name); each
step row points at its own tracked child run. Outputs are never stored here: a step row
and a cache entry hold the sha256 of a blob in the project's artifact store.
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
    "LeaseRow",
    "PipelineRunRow",
    "PipelineStepRow",
    "ScheduleRow",
    "StepCacheRow",
    "TriggerRow",
]


class PipelineRunRow(Base):
    """One run of a pipeline: where its definition lives, its params, how it ended."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (Index("ix_pipeline_runs_project_pipeline", "project_id", "pipeline"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    pipeline: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    runner: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params_digest: Mapped[str] = mapped_column(String(64))
    output_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    output_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PipelineStepRow(Base):
    """One step of a run: its status, cache key, output reference and tracked run."""

    __tablename__ = "pipeline_steps"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_pipeline_steps_run_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("pipeline_runs.id"))
    name: Mapped[str] = mapped_column(String(256))
    step: Mapped[str] = mapped_column(String(256))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    cache_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    output_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    output_format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tracked_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inputs: Mapped[list[str]] = mapped_column(JSON, default=list)
    depends_on: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StepCacheRow(Base):
    """A cached step output: cache key -> blob digest (and the run that computed it)."""

    __tablename__ = "pipeline_step_cache"
    __table_args__ = (
        UniqueConstraint("project_id", "cache_key", name="uq_pipeline_step_cache_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    cache_key: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(256))
    output_digest: Mapped[str] = mapped_column(String(64))
    output_format: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleRow(Base):
    """A pipeline run on a cron schedule (UTC): ``cron``, the params, the last due time."""

    __tablename__ = "pipeline_schedules"
    __table_args__ = (Index("ix_pipeline_schedules_project", "project_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    pipeline: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(512))
    cron: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    runner: Mapped[str] = mapped_column(String(32))
    last_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriggerRow(Base):
    """A pipeline run on each platform event of type ``event_type`` matching ``where``.

    ``cursor`` is an outbox event id: every event at or below it was handled (or created
    before the trigger), so the scheduler reads only the events after it.
    """

    __tablename__ = "pipeline_triggers"
    __table_args__ = (Index("ix_pipeline_triggers_project", "project_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    pipeline: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(512))
    event_type: Mapped[str] = mapped_column(String(64))
    where: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    runner: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeaseRow(Base):
    """A run request claimed by one server: ``(source_id, occurrence)`` is unique, so two
    servers never start a run for the same schedule due time or trigger event twice."""

    __tablename__ = "pipeline_leases"
    __table_args__ = (
        UniqueConstraint("source_id", "occurrence", name="uq_pipeline_leases_occurrence"),
        Index("ix_pipeline_leases_project", "project_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(256))
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
