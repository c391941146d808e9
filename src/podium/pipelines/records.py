"""The pipeline tables of one project: runs, steps and the step cache, one call each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as ConstraintViolation
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.errors import NotFoundError
from podium.pipelines.tables import PipelineRunRow, PipelineStepRow, StepCacheRow
from podium.pipelines.types import PipelineInfo, PipelineRun, StepRun
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["CacheEntry", "CacheWrite", "PipelineRecords"]

CacheEntry = tuple[str, str]
"""``(output digest, output format)`` of a cached step output."""


@dataclass(frozen=True)
class CacheWrite:
    """A step output to remember in the step cache under ``key``."""

    key: str
    step: str
    output: CacheEntry
    run_id: str


class PipelineRecords:
    """Reads and writes the pipeline tables, always within one project."""

    def __init__(self, db: Database, project: Project) -> None:
        self._db = db
        self._project = project

    # -- runs ---------------------------------------------------------------------------
    def start(
        self,
        run_id: str,
        *,
        pipeline: str,
        target: str,
        runner: str,
        params: Mapping[str, str],
        params_digest: str,
        created_by: str,
        steps: Sequence[tuple[str, str, Sequence[str], Sequence[str]]],
    ) -> None:
        """Insert a running run and its pending steps: ``(name, step, depends_on, inputs)``."""
        with self._db.write() as session:
            session.add(
                PipelineRunRow(
                    id=run_id,
                    project_id=self._project.id,
                    pipeline=pipeline,
                    target=target,
                    status="running",
                    runner=runner,
                    params=dict(params),
                    params_digest=params_digest,
                    created_by=created_by,
                    started_at=utcnow(),
                )
            )
            session.flush()
            for position, (name, step, depends_on, inputs) in enumerate(steps):
                session.add(
                    PipelineStepRow(
                        run_id=run_id,
                        name=name,
                        step=step,
                        position=position,
                        status="pending",
                        depends_on=list(depends_on),
                        inputs=list(inputs),
                    )
                )

    def restart(self, run_id: str, *, keep: Sequence[str], runner: str) -> None:
        """Mark a failed run running again; every step but ``keep`` goes back to pending."""
        with self._db.write() as session:
            row = self._run_row(session, run_id)
            row.status, row.error, row.ended_at, row.runner = "running", None, None, runner
            for step in self._step_rows(session, run_id):
                if step.name not in keep:
                    step.status, step.error = "pending", None

    def update_step(
        self, run_id: str, name: str, *, cache: CacheWrite | None = None, **values: Any
    ) -> None:
        """Set columns of step ``name`` of the run; with ``cache``, also remember its
        output in the step cache, in the same transaction (see :meth:`remember`)."""
        if cache is not None:
            try:
                with self._db.write() as session:
                    self._set_step(session, run_id, name, values)
                    self._remember(session, cache)
                return
            except ConstraintViolation:
                pass  # cached first by an identical step of a concurrent run: record the step
        with self._db.write() as session:
            self._set_step(session, run_id, name, values)

    def _set_step(
        self, session: Session, run_id: str, name: str, values: Mapping[str, Any]
    ) -> None:
        row = session.scalar(
            select(PipelineStepRow).where(
                PipelineStepRow.run_id == run_id, PipelineStepRow.name == name
            )
        )
        if row is None:  # a step the run did not have (resume of a changed pipeline)
            position = len(self._step_rows(session, run_id))
            row = PipelineStepRow(run_id=run_id, name=name, position=position, status="pending")
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        error: str | None = None,
        output: CacheEntry | None = None,
    ) -> None:
        """Record how the run ended."""
        with self._db.write() as session:
            row = self._run_row(session, run_id)
            row.status, row.error, row.ended_at = status, error, utcnow()
            row.output_digest, row.output_format = output if output else (None, None)

    def get(self, run_id: str) -> PipelineRun:
        """The run and its steps; NotFoundError for a run of no pipeline of this project."""
        with self._db.read() as session:
            row = self._run_row(session, run_id)
            return _run(row, self._step_rows(session, run_id))

    def raw(self, run_id: str) -> tuple[PipelineRunRow, list[PipelineStepRow]]:
        """The rows of a run (what a resume needs: target, params, output formats)."""
        with self._db.read() as session:
            row = self._run_row(session, run_id)
            steps = self._step_rows(session, run_id)
            session.expunge_all()
            return row, steps

    def runs(self, pipeline: str | None, *, limit: int) -> list[PipelineRun]:
        """The newest ``limit`` runs, of one pipeline or of all, with their steps."""
        query = select(PipelineRunRow).where(PipelineRunRow.project_id == self._project.id)
        if pipeline is not None:
            query = query.where(PipelineRunRow.pipeline == pipeline)
        query = query.order_by(PipelineRunRow.started_at.desc(), PipelineRunRow.id).limit(limit)
        with self._db.read() as session:
            rows = session.scalars(query).all()
            ids = [row.id for row in rows]
            steps: dict[str, list[PipelineStepRow]] = {run_id: [] for run_id in ids}
            if ids:
                for step in session.scalars(
                    select(PipelineStepRow)
                    .where(PipelineStepRow.run_id.in_(ids))
                    .order_by(PipelineStepRow.position)
                ):
                    steps[step.run_id].append(step)
            return [_run(row, steps[row.id]) for row in rows]

    def pipelines(self) -> list[PipelineInfo]:
        """Every pipeline the project ran, by name, with its latest run."""
        counts = (
            select(PipelineRunRow.pipeline, func.count().label("runs"))
            .where(PipelineRunRow.project_id == self._project.id)
            .group_by(PipelineRunRow.pipeline)
        )
        found: list[PipelineInfo] = []
        with self._db.read() as session:
            for name, runs in session.execute(counts.order_by(PipelineRunRow.pipeline)):
                last = session.scalars(
                    select(PipelineRunRow)
                    .where(
                        PipelineRunRow.project_id == self._project.id,
                        PipelineRunRow.pipeline == name,
                    )
                    .order_by(PipelineRunRow.started_at.desc())
                    .limit(1)
                ).one()
                found.append(
                    PipelineInfo(
                        name=name,
                        target=last.target,
                        runs=runs,
                        last_run_id=last.id,
                        last_status=last.status,
                        last_started_at=last.started_at,
                    )
                )
        return found

    # -- the step cache -------------------------------------------------------------------
    def cached(self, key: str) -> CacheEntry | None:
        """The output stored under cache ``key``, if any."""
        with self._db.read() as session:
            row = session.scalar(
                select(StepCacheRow).where(
                    StepCacheRow.project_id == self._project.id, StepCacheRow.cache_key == key
                )
            )
            return None if row is None else (row.output_digest, row.output_format)

    def remember(self, key: str, *, step: str, output: CacheEntry, run_id: str) -> None:
        """Cache ``output`` under ``key`` (replacing an entry whose blob went missing)."""
        try:
            with self._db.write() as session:
                self._remember(session, CacheWrite(key, step, output, run_id))
        except ConstraintViolation:
            pass  # an identical step of a concurrent run cached it first: same key, same work

    def _remember(self, session: Session, cache: CacheWrite) -> None:
        row = session.scalar(
            select(StepCacheRow).where(
                StepCacheRow.project_id == self._project.id,
                StepCacheRow.cache_key == cache.key,
            )
        )
        if row is None:
            row = StepCacheRow(project_id=self._project.id, cache_key=cache.key)
            session.add(row)
        row.step, row.run_id = cache.step, cache.run_id
        row.output_digest, row.output_format = cache.output
        row.created_at = utcnow()
        session.flush()  # a concurrent run's entry fails here, inside the caller's try

    # -- rows -----------------------------------------------------------------------------
    def _run_row(self, session: Session, run_id: str) -> PipelineRunRow:
        row = session.get(PipelineRunRow, run_id)
        if row is None or row.project_id != self._project.id:
            raise NotFoundError(
                f"no pipeline run {run_id!r} in project {self._project.name!r}",
                remedy="list the runs with `podium pipelines runs`",
            )
        return row

    def _step_rows(self, session: Session, run_id: str) -> list[PipelineStepRow]:
        return list(
            session.scalars(
                select(PipelineStepRow)
                .where(PipelineStepRow.run_id == run_id)
                .order_by(PipelineStepRow.position)
            )
        )


def _run(row: PipelineRunRow, steps: Sequence[PipelineStepRow]) -> PipelineRun:
    return PipelineRun(
        id=row.id,
        pipeline=row.pipeline,
        target=row.target,
        status=row.status,
        runner=row.runner,
        params=dict(row.params or {}),
        steps=[_step(step) for step in steps],
        error=row.error,
        output_digest=row.output_digest,
        created_by=row.created_by,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _step(row: PipelineStepRow) -> StepRun:
    return StepRun(
        name=row.name,
        step=row.step,
        status=row.status,
        run_id=row.tracked_run_id,
        duration_ms=row.duration_ms,
        attempts=row.attempts,
        cache_key=row.cache_key,
        output_digest=row.output_digest,
        inputs=list(row.inputs or []),
        depends_on=list(row.depends_on or []),
        error=row.error,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )
