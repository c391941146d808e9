"""Tables of the data catalog: table entries, column descriptions and lineage edges.

Every row belongs to a project. A lineage edge joins two nodes, each a string such as
``table:raw.customers`` (a table), ``table:raw.customers@3`` (one version of it),
``run:<run id>`` or ``job:<name>``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["CatalogColumnRow", "CatalogTableRow", "LineageEdgeRow"]


class CatalogTableRow(Base):
    """What people say about a lake table: its owner, description and tags."""

    __tablename__ = "catalog_tables"
    __table_args__ = (Index("uq_catalog_tables_project_name", "project_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogColumnRow(Base):
    """The description of one column of a lake table."""

    __tablename__ = "catalog_columns"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    column_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class LineageEdgeRow(Base):
    """``source`` fed ``target`` (``derived_from``, ``read_by``, ``produced_by``, ...)."""

    __tablename__ = "lineage_edges"
    __table_args__ = (
        Index(
            "uq_lineage_edges_project_source_target_kind",
            "project_id",
            "source",
            "target",
            "kind",
            unique=True,
        ),
        Index("ix_lineage_edges_project_target", "project_id", "target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(512))
    target: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
