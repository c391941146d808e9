"""Leases: how two servers on one database agree which of them starts a scheduled run.

A run request is a row of ``pipeline_leases`` keyed by ``(source_id, occurrence)``, a
schedule and its due time or a trigger and its event id, under a unique constraint. A
server claims a request by inserting that row in a transaction of its own: the first
insert commits, every other one fails on the constraint and that server does nothing.
So a run starts at most once per due time or event, however many servers run
``podium up``; the row then records how it went (the run id, ``succeeded``/``failed``,
or ``error`` when it could not start).

A server that dies while its run goes on leaves the row ``claimed``: the run is not
started again (at most once), and the row shows who held it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError as ConstraintViolation

from podium.pipelines.tables import LeaseRow, ScheduleRow, TriggerRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Claim", "claim", "release"]


@dataclass(frozen=True)
class Claim:
    """A run request this server won: what to run, in which project, and why."""

    lease_id: int
    project_id: int
    source: Literal["schedule", "trigger"]
    source_id: str
    occurrence: str
    target: str
    params: dict[str, Any]
    runner: str

    @property
    def tags(self) -> dict[str, str]:
        """The tags of the run it starts: what started it."""
        if self.source == "schedule":
            return {"podium.schedule": self.source_id, "podium.due": self.occurrence}
        return {"podium.trigger": self.source_id, "podium.event_id": self.occurrence}


def claim(
    db: Database,
    row: ScheduleRow | TriggerRow,
    *,
    occurrence: str,
    holder: str,
    due: datetime | None = None,
) -> Claim | None:
    """Insert the lease of ``(row, occurrence)``; the claim, or None if another server
    (or an earlier round) holds it. A schedule's ``last_due`` moves to ``due`` in the
    same transaction, so later rounds need not try again."""
    source: Literal["schedule", "trigger"] = (
        "schedule" if isinstance(row, ScheduleRow) else "trigger"
    )
    lease = LeaseRow(
        project_id=row.project_id,
        source=source,
        source_id=row.id,
        occurrence=occurrence,
        status="claimed",
        holder=holder[:256],
        claimed_at=utcnow(),
    )
    try:
        with db.write() as session:
            session.add(lease)
            session.flush()
            if due is not None:
                session.execute(
                    update(ScheduleRow).where(ScheduleRow.id == row.id).values(last_due=due)
                )
            lease_id = lease.id
    except ConstraintViolation:
        return None
    return Claim(
        lease_id=lease_id,
        project_id=row.project_id,
        source=source,
        source_id=row.id,
        occurrence=occurrence,
        target=row.target,
        params=dict(row.params or {}),
        runner=row.runner,
    )


def release(
    db: Database, lease_id: int, *, status: str, run_id: str | None, error: str | None
) -> None:
    """Record how the claimed run went."""
    with db.write() as session:
        session.execute(
            update(LeaseRow)
            .where(LeaseRow.id == lease_id)
            .values(status=status, run_id=run_id, error=error, ended_at=utcnow())
        )
