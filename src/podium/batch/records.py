"""The batch tables of one project: jobs and their committed parts, one call each."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.batch.tables import BatchJobRow, BatchPartRow
from podium.batch.types import BatchJob
from podium.errors import InvalidInputError, NotFoundError
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["JobRecords"]


class JobRecords:
    """Reads and writes the batch tables, always within one project."""

    def __init__(self, db: Database, project: Project) -> None:
        self._db = db
        self._project = project

    def create(self, **fields: Any) -> None:
        """Insert a running job (``fields`` are :class:`BatchJobRow` columns)."""
        now = utcnow()
        with self._db.write() as session:
            session.add(
                BatchJobRow(
                    project_id=self._project.id,
                    status="running",
                    rows_done=0,
                    started_at=now,
                    heartbeat_at=now,
                    **fields,
                )
            )

    def row(self, job_id: str) -> BatchJobRow:
        """The job's row, detached (read its columns freely)."""
        with self._db.read() as session:
            found = self._row(session, job_id)
            session.expunge(found)
            return found

    def get(self, job_id: str) -> BatchJob:
        """The job as the API shows it."""
        with self._db.read() as session:
            row = self._row(session, job_id)
            return _job(row, self._parts_count(session, [job_id]).get(job_id, 0))

    def list(self, *, limit: int) -> builtins.list[BatchJob]:
        """The newest ``limit`` jobs, newest first."""
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInputError(
                f"the 'limit' parameter must be an integer from 1 to 1000; got {limit!r} instead",
                field="limit",
            )
        with self._db.read() as session:
            rows = session.scalars(
                select(BatchJobRow)
                .where(BatchJobRow.project_id == self._project.id)
                .order_by(BatchJobRow.started_at.desc(), BatchJobRow.id)
                .limit(limit)
            ).all()
            counts = self._parts_count(session, [row.id for row in rows])
            return [_job(row, counts.get(row.id, 0)) for row in rows]

    def unfinished(self, *, model: str, source: str, output: str) -> str | None:
        """The newest job of the same model, source table and output that has not
        succeeded (what ``predict(..., resume=True)`` continues), if any."""
        with self._db.read() as session:
            return session.scalars(
                select(BatchJobRow.id)
                .where(
                    BatchJobRow.project_id == self._project.id,
                    BatchJobRow.model == model,
                    BatchJobRow.source == source,
                    BatchJobRow.output == output,
                    BatchJobRow.status != "succeeded",
                )
                .order_by(BatchJobRow.started_at.desc())
                .limit(1)
            ).first()

    def parts_done(self, job_id: str) -> dict[int, int]:
        """Part index -> rows, for every part recorded as committed."""
        with self._db.read() as session:
            found = session.execute(
                select(BatchPartRow.part, BatchPartRow.rows).where(BatchPartRow.job_id == job_id)
            ).all()
            return {int(part): int(rows) for part, rows in found}

    def part_committed(self, job_id: str, part: int, rows: int, version: int | None) -> None:
        """Record a committed part and move the job's progress and heartbeat on
        (a part recorded already is left as it is)."""
        with self._db.write() as session:
            known = session.scalars(
                select(BatchPartRow.id).where(
                    BatchPartRow.job_id == job_id, BatchPartRow.part == part
                )
            ).first()
            if known is not None:
                return
            session.add(BatchPartRow(job_id=job_id, part=part, rows=rows, output_version=version))
            row = self._row(session, job_id)
            row.rows_done += rows
            row.heartbeat_at = utcnow()
            if version is not None:
                row.output_version = max(row.output_version or 0, version)

    def restart(self, job_id: str, *, holder: str, runner: str) -> None:
        """Mark the job running again, held by ``holder``."""
        with self._db.write() as session:
            row = self._row(session, job_id)
            row.status, row.error, row.ended_at = "running", None, None
            row.holder, row.runner, row.heartbeat_at = holder, runner, utcnow()

    def finish(
        self,
        job_id: str,
        *,
        status: str,
        seconds: float | None = None,
        output_version: int | None = None,
        error: str | None = None,
    ) -> None:
        """Mark the job ended."""
        with self._db.write() as session:
            row = self._row(session, job_id)
            row.status, row.error, row.ended_at = status, error, utcnow()
            if seconds is not None:
                row.seconds = seconds
            if output_version is not None:
                row.output_version = output_version

    def _row(self, session: Session, job_id: str) -> BatchJobRow:
        found = session.get(BatchJobRow, job_id) if isinstance(job_id, str) else None
        if found is None or found.project_id != self._project.id:
            raise NotFoundError(
                f"no batch job {job_id!r} in this project",
                field="job_id",
                remedy="list the project's jobs with `podium batch jobs` or p.batch.jobs()",
            )
        return found

    def _parts_count(self, session: Session, job_ids: builtins.list[str]) -> dict[str, int]:
        if not job_ids:
            return {}
        found = session.execute(
            select(BatchPartRow.job_id, func.count())
            .where(BatchPartRow.job_id.in_(job_ids))
            .group_by(BatchPartRow.job_id)
        ).all()
        return {str(job): int(count) for job, count in found}


def _job(row: BatchJobRow, parts_done: int) -> BatchJob:
    return BatchJob(
        id=row.id,
        status=row.status,
        model=row.model,
        model_version=f"{row.model_name}/{row.model_version}",
        deployment=row.deployment,
        source=f"{row.source}@{row.source_version}",
        output=row.output,
        output_version=row.output_version,
        key=row.key,
        runner=row.runner,
        rows=row.rows_done,
        rows_total=row.rows_total,
        parts=row.parts_total,
        parts_done=parts_done,
        seconds=row.seconds,
        error=row.error,
        created_by=row.created_by,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def heartbeat_age(row: BatchJobRow) -> float:
    """Seconds since the job last reported progress."""
    beat: datetime = row.heartbeat_at
    return (utcnow() - beat).total_seconds()
