"""The audit log: who did what to which object of which project, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from podium.access.tables import AuditRow
from podium.errors import InvalidInputError
from podium.store.database import Database

__all__ = ["AuditEntry", "AuditLog"]


@dataclass(frozen=True)
class AuditEntry:
    """One mutation attempt. ``outcome`` is ``ok`` or the error code it ended with."""

    id: int
    project_id: int
    actor: str
    action: str
    target: str
    outcome: str
    request_id: str
    created_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    """Append to and read the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        *,
        project_id: int,
        actor: str,
        action: str,
        target: str = "",
        outcome: str = "ok",
        request_id: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one entry (its own transaction, so a failed mutation is still recorded)."""
        with self._db.write() as session:
            session.add(
                AuditRow(
                    project_id=project_id,
                    actor=actor[:128],
                    action=action[:128],
                    target=target[:512],
                    outcome=outcome,
                    request_id=request_id,
                    detail=detail or {},
                )
            )

    def list(
        self, project_id: int, *, limit: int = 100, action: str | None = None
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries of a project, newest first."""
        if not 1 <= limit <= 10_000:
            raise InvalidInputError(
                f"limit must be between 1 and 10000; got {limit} instead", field="limit"
            )
        query = select(AuditRow).where(AuditRow.project_id == project_id)
        if action:
            query = query.where(AuditRow.action == action)
        with self._db.read() as session:
            rows = session.scalars(query.order_by(AuditRow.id.desc()).limit(limit)).all()
        return [
            AuditEntry(
                id=r.id,
                project_id=r.project_id,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                request_id=r.request_id,
                created_at=r.created_at,
                detail=dict(r.detail or {}),
            )
            for r in rows
        ]
