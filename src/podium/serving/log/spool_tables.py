"""Table of the inference-log spool: parked batches waiting to be committed to the lake.

A serving replica parks each batch of its inference log as a JSON-lines blob in the
project's artifact store and records it here (``digest``, ``rows``); a platform process
claims rows (``claimed_by``, ``claimed_until``: a lease), appends their batches to the
Delta table ``monitoring.inference_log`` and deletes them. See
:mod:`podium.serving.log.spool`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["InferenceSpoolRow"]


class InferenceSpoolRow(Base):
    """One parked batch of inference records: its blob, its size, and who is committing it."""

    __tablename__ = "inference_spool"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Parked from a dead replica's journal (ADR 0046): its rows may be in the log already.
    replayed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
