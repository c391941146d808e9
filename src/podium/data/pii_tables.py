"""The pii metadata: which table columns are tokenized, and the vault of their clear values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["PiiColumnRow", "PiiTokenRow"]


class PiiColumnRow(Base):
    """One column of a lake table marked pii: every write to it stores tokens."""

    __tablename__ = "pii_columns"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    column_name: Mapped[str] = mapped_column(String(256), primary_key=True)
    marked_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PiiTokenRow(Base):
    """The vault: a token of a project and its clear value, sealed (AES-256-GCM)."""

    __tablename__ = "pii_tokens"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
