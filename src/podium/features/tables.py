"""Tables of the feature store: definitions (versioned) and materialization runs.

A definition is an entity, a feature view, an on-demand feature view or a feature service,
stored as its JSON spec. ``(project, kind, name, version)`` is unique: a change to what a
definition computes (its source, keys or feature types) adds a version, and rows of older
versions stay, so a model trained on version 1 can still be explained and served.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["FeatureDefinitionRow", "MaterializationRow"]


class FeatureDefinitionRow(Base):
    """One version of one definition; ``spec`` is what ``Definition.to_spec()`` returns."""

    __tablename__ = "feature_definitions"
    __table_args__ = (
        Index(
            "uq_feature_definitions_project_kind_name_version",
            "project_id",
            "kind",
            "name",
            "version",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(128), default="")
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaterializationRow(Base):
    """One load of a view version's latest values into the online store."""

    __tablename__ = "feature_materializations"
    __table_args__ = (Index("ix_feature_materializations_view", "project_id", "view", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    view: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    rows: Mapped[int] = mapped_column(BigInteger)
    source_ref: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
