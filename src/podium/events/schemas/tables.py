"""Tables of the schema registry: subjects and their numbered JSON Schema versions.

A subject (``churn-in``) belongs to one project and carries its compatibility mode; each
of its versions is immutable and unique by content (``fingerprint``, the SHA-256 of the
schema's canonical JSON), so registering the same schema twice finds the first version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["SchemaSubjectRow", "SchemaVersionRow"]


class SchemaSubjectRow(Base):
    """A named stream of schema versions in a project, e.g. ``churn-in``."""

    __tablename__ = "schema_subjects"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_schema_subjects_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    compatibility: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchemaVersionRow(Base):
    """One immutable version of a subject's JSON Schema."""

    __tablename__ = "schema_versions"
    __table_args__ = (
        UniqueConstraint("subject_id", "version", name="uq_schema_versions_version"),
        UniqueConstraint("subject_id", "fingerprint", name="uq_schema_versions_fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("schema_subjects.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    schema: Mapped[Any] = mapped_column(JSON, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
