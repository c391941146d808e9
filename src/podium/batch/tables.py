"""Tables of batch inference: jobs and the parts of each job committed to its output.

A job's id is the id of its tracked run (experiment ``batch``). A part row is written
after the part's Delta append committed; the append itself carries the idempotency marker
(:mod:`podium.batch.output`), so a part committed just before a crash is found again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["BatchJobRow", "BatchPartRow"]


class BatchJobRow(Base):
    """One batch inference job: what it scores with what, where to, and how far it got."""

    __tablename__ = "batch_jobs"
    __table_args__ = (Index("ix_batch_jobs_project", "project_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model: Mapped[str] = mapped_column(String(256))
    deployment: Mapped[str | None] = mapped_column(String(128), nullable=True)
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(256))
    source_version: Mapped[int] = mapped_column(BigInteger)
    output: Mapped[str] = mapped_column(String(256))
    output_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    runner: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    holder: Mapped[str] = mapped_column(String(256), default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BatchPartRow(Base):
    """A part of a job whose predictions are committed to the output table."""

    __tablename__ = "batch_parts"
    __table_args__ = (UniqueConstraint("job_id", "part", name="uq_batch_parts_job_part"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("batch_jobs.id"))
    part: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    output_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
