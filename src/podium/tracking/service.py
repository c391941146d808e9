"""TrackingService: experiments, runs, params, metrics, tags, inputs and artifacts.

One instance serves one project; every query is filtered by it, so a run of another
project is simply not found.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.store.artifacts import ArtifactStore
from podium.store.base import now_ms
from podium.store.database import Database
from podium.store.paths import safe_relative_path
from podium.tracking.run import StartsRuns
from podium.tracking.search import load_runs
from podium.tracking.search import search_runs as search_run_page
from podium.tracking.tables import (
    ExperimentRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    RunArtifactRow,
    RunInputRow,
    RunRow,
    TagRow,
)
from podium.tracking.types import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    Run,
    RunComparison,
    RunPage,
    RunStatus,
)
from podium.tracking.validation import (
    check_input_refs,
    check_key,
    check_metric_value,
    check_name,
    check_step,
    check_timestamp,
    param_value,
)

__all__ = ["InputResolver", "TrackingService"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

InputResolver = Callable[[str, str], str]
"""``(run_id, ref) -> exact ref``: pins a dataset reference to a version (the data layer)."""

_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
# Rows per multi-row INSERT: keeps a statement under SQLite's 32,766 bind parameters.
_ROWS_PER_INSERT = 1_000


class TrackingService(StartsRuns):
    """Experiment tracking for one project, on the metadata DB and the artifact store."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        project: Project,
        *,
        user: str = "",
        resolve_input: InputResolver | None = None,
        audit: Auditor | None = None,
    ) -> None:
        """``audit`` records experiments and runs created and ended (not what runs log:
        metrics, params and tags are telemetry, ADR 0018)."""
        self._db = db
        self._audit = audit or Auditor.disabled()
        self._artifacts = artifacts
        self._project = project
        self._user = user
        self._resolve_input = resolve_input
        self._experiment_ids: dict[str, str] = {}

    # -- experiments ----------------------------------------------------------------
    def create_experiment(self, name: str, *, description: str = "") -> Experiment:
        """Create an experiment; a taken name is a :class:`ConflictError`."""
        check_name(name, kind="experiment")
        with (
            self._audit.attempt("tracking.create_experiment", f"experiment:{name}"),
            self._db.write() as session,
        ):
            taken = self._experiment_row(session, name) is not None
            row = None if taken else self._insert_experiment(session, name, description)
            if row is None:  # taken, possibly by a concurrent writer
                raise ConflictError(
                    f"experiment {name!r} already exists",
                    field="name",
                    remedy="use it, or pick another name",
                )
            return _experiment(row)

    def get_experiment(self, name: str) -> Experiment:
        """The experiment called ``name`` (or with that id)."""
        with self._db.read() as session:
            return _experiment(self._require_experiment(session, name))

    def list_experiments(self) -> list[Experiment]:
        """Every experiment of the project, by name."""
        with self._db.read() as session:
            rows = session.scalars(
                select(ExperimentRow)
                .where(ExperimentRow.project_id == self._project.id)
                .order_by(ExperimentRow.name)
            ).all()
        return [_experiment(row) for row in rows]

    # -- runs -----------------------------------------------------------------------
    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run:
        """Start a run in ``experiment`` (created if it does not exist yet)."""
        check_name(experiment, kind="experiment")
        if name is not None:
            check_name(name, kind="run")
        with self._db.write() as session:
            run_id, _ = self._insert_run(
                session, experiment, name, parent_run_id, tags, environment
            )
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        """The run with everything logged to it."""
        with self._db.read() as session:
            self._require_run(session, run_id)
            return load_runs(session, [run_id])[0]

    def end_run(self, run_id: str, *, status: RunStatus = "FINISHED") -> Run:
        """Mark a run ended with ``status`` (FINISHED, FAILED or KILLED)."""
        if status not in _STATUSES or status == "RUNNING":
            raise InvalidInputError(
                f"status must be FINISHED, FAILED or KILLED; got {status!r} instead",
                field="status",
                remedy="end a run as FINISHED, FAILED or KILLED; a new run starts RUNNING",
            )
        with (
            self._audit.attempt("tracking.end_run", f"run:{run_id}") as attempt,
            self._db.write() as session,
        ):
            attempt.detail["status"] = status
            row = self._require_run(session, run_id)
            row.status = status
            row.end_time = now_ms()
        return self.get_run(run_id)

    # -- what runs log --------------------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params; a param is immutable, so another value for it is a 409."""
        values = {check_key(k, kind="param"): param_value(k, v) for k, v in params.items()}
        with self._db.write() as session:
            self._require_run(session, run_id)
            self._insert_params(session, run_id, values)

    def log_metric_points(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Log a batch of metric points in one transaction."""
        if not points:
            return
        for k in {p.key for p in points}:
            check_key(k, kind="metric")
        rows = [_metric_row(run_id, p) for p in points]
        with self._db.write() as session:
            self._require_run(session, run_id)
            self._insert_points(session, rows)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags (unlike params, a tag can change)."""
        with self._db.write() as session:
            self._require_run(session, run_id)
            self._upsert_tags(session, run_id, tags)

    # -- batched writes: embedded fast paths, not in the Tracking protocol -----------
    def begin_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Run:
        """:meth:`create_run` and :meth:`log_params` in one transaction, for callers that
        start many short runs (tuning trials). Returns the run as created, not re-read; a
        bad param fails before the run exists."""
        check_name(experiment, kind="experiment")
        if name is not None:
            check_name(name, kind="run")
        values = {check_key(k, kind="param"): param_value(k, v) for k, v in (params or {}).items()}
        with self._db.write() as session:
            run_id, exp = self._insert_run(session, experiment, name, parent_run_id, tags, None)
            self._insert_params(session, run_id, values)
            row = self._require_run(session, run_id)
            return Run(
                id=run_id,
                experiment_id=exp.id,
                experiment=exp.name,
                name=row.name,
                status="RUNNING",
                start_time=row.start_time,
                parent_run_id=parent_run_id,
                user=self._user,
                params=values,
                tags={k: param_value(k, v) for k, v in (tags or {}).items()},
            )

    def complete_run(
        self,
        run_id: str,
        *,
        status: RunStatus,
        tags: Mapping[str, Any] | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> None:
        """Log metric ``points`` and ``tags`` and end the run with ``status``, all in one
        transaction (what :meth:`log_metric_points`, :meth:`set_tags` and :meth:`end_run`
        do in three)."""
        if status not in _STATUSES or status == "RUNNING":
            raise InvalidInputError(
                f"status must be FINISHED, FAILED or KILLED; got {status!r} instead",
                field="status",
                remedy="end a run as FINISHED, FAILED or KILLED; a new run starts RUNNING",
            )
        for k in {p.key for p in points}:
            check_key(k, kind="metric")
        rows = [_metric_row(run_id, p) for p in points]
        with self._db.write() as session:
            row = self._require_run(session, run_id)
            if rows:
                self._insert_points(session, rows)
            if tags:
                self._upsert_tags(session, run_id, tags)
            row.status = status
            row.end_time = now_ms()
            self._audit.note(
                session, "tracking.end_run", f"run:{run_id}", detail={"status": status}
            )

    def _insert_points(
        self, session: Session, rows: Sequence[tuple[str, str, float, int, int]]
    ) -> None:
        latest: dict[str, tuple[str, str, float, int, int]] = {}
        for row in rows:
            best = latest.get(row[1])
            if best is None or (row[3], row[4]) >= (best[3], best[4]):
                latest[row[1]] = row
        # The driver's executemany with plain tuples: the hot path of metric logging,
        # where SQLAlchemy's per-row parameter processing would cost as much as SQLite.
        marker = "?" if self._db.is_sqlite else "%s"
        session.connection().exec_driver_sql(
            "INSERT INTO metrics (run_id, key, value, step, timestamp) "
            f"VALUES ({', '.join([marker] * 5)})",
            rows,
        )
        # Sorted, so concurrent writers lock latest_metrics rows in the same order and
        # PostgreSQL never has to abort one of them as a deadlock.
        self._upsert_latest(
            session,
            [
                dict(zip(("run_id", "key", "value", "step", "timestamp"), latest[k], strict=True))
                for k in sorted(latest)
            ],
        )

    def _insert_params(self, session: Session, run_id: str, values: Mapping[str, str]) -> None:
        if not values:
            return
        # Insert what is new, then compare with what is stored: a value logged by a
        # concurrent writer is seen either way, and a conflict rolls back the whole batch.
        rows = [{"run_id": run_id, "key": k, "value": values[k]} for k in sorted(values)]
        for chunk in _chunks(rows):
            stmt = self._dialect_insert(ParamRow).values(chunk)
            session.execute(stmt.on_conflict_do_nothing(index_elements=["run_id", "key"]))
        stored = dict(
            session.execute(
                select(ParamRow.key, ParamRow.value).where(
                    ParamRow.run_id == run_id, ParamRow.key.in_(values)
                )
            ).all()
        )
        for key in sorted(values):
            old, new = stored[key], values[key]
            if old != new:
                raise ConflictError(
                    f"param {key!r} is already {old!r}; it cannot become {new!r}",
                    field=key,
                    remedy="params are immutable: start a new run, or log it as a tag",
                    details={"key": key, "old_value": old, "new_value": new},
                )

    def log_inputs(self, run_id: str, refs: Sequence[str]) -> None:
        """Record the tables a run read, pinned to exact versions (see the protocol)."""
        unique = check_input_refs(refs)
        with self._db.read() as session:
            self._require_run(session, run_id)
        if self._resolve_input is not None:
            unique = list(dict.fromkeys(self._resolve_input(run_id, r) for r in unique))
        with self._db.write() as session:
            rows = [{"run_id": run_id, "ref": r, "kind": "table"} for r in sorted(unique)]
            for chunk in _chunks(rows):
                stmt = self._dialect_insert(RunInputRow).values(chunk)
                session.execute(stmt.on_conflict_do_nothing(index_elements=["run_id", "ref"]))

    def put_artifact(self, run_id: str, path: str, data: bytes) -> ArtifactInfo:
        """Store ``data`` as the file ``path`` of the run (content-addressed)."""
        path = safe_relative_path(path)
        with self._db.read() as session:
            self._require_run(session, run_id)
        blob = self._artifacts.put(data)
        with self._db.write() as session:
            stmt = self._dialect_insert(RunArtifactRow).values(
                run_id=run_id, path=path, digest=blob.digest, size=blob.size
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "path"],
                    set_={"digest": stmt.excluded.digest, "size": stmt.excluded.size},
                )
            )
        return ArtifactInfo(path=path, size=blob.size, digest=blob.digest)

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        """Every file logged to the run, by path."""
        with self._db.read() as session:
            self._require_run(session, run_id)
            rows = session.scalars(
                select(RunArtifactRow)
                .where(RunArtifactRow.run_id == run_id)
                .order_by(RunArtifactRow.path)
            ).all()
        return [ArtifactInfo(path=r.path, size=r.size, digest=r.digest) for r in rows]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of a logged file, verified against their sha256."""
        path = safe_relative_path(path)
        with self._db.read() as session:
            self._require_run(session, run_id)
            row = session.get(RunArtifactRow, (run_id, path))
        if row is None:
            raise NotFoundError(
                f"run {run_id} has no artifact {path!r}",
                remedy="list the run's artifacts to see what it has",
            )
        return self._artifacts.get(row.digest)

    # -- reading back ---------------------------------------------------------------
    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric, by step then time."""
        with self._db.read() as session:
            self._require_run(session, run_id)
            rows = session.execute(
                select(MetricRow.key, MetricRow.value, MetricRow.step, MetricRow.timestamp)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.id)
            ).all()
        return [MetricPoint(key=k, value=v, step=s, timestamp=t) for k, v, s, t in rows]

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """Runs matching ``filter`` (see :mod:`podium.tracking.filter`), ordered and paged."""
        names = [experiments] if isinstance(experiments, str) else list(experiments or [])
        with self._db.read() as session:
            exp_ids = [self._experiment_id(session, n) for n in names]
            runs, next_token = search_run_page(
                session,
                project_id=self._project.id,
                experiment_ids=exp_ids,
                filter=filter,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
            )
        return RunPage(runs=runs, next_page_token=next_token)

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        """Runs side by side, with the params that differ between them."""
        if not 1 <= len(run_ids) <= 100:
            raise InvalidInputError(
                f"compare 1 to 100 runs; got {len(run_ids)}",
                field="run_ids",
                remedy="pass the ids of the runs to compare, at most 100",
            )
        with self._db.read() as session:
            for run_id in run_ids:
                self._require_run(session, run_id)
            runs = load_runs(session, list(run_ids))
        param_keys = sorted({k for r in runs for k in r.params})
        differing = [k for k in param_keys if len({r.params.get(k) for r in runs}) > 1]
        return RunComparison(
            runs=runs,
            param_keys=param_keys,
            metric_keys=sorted({k for r in runs for k in r.metrics}),
            differing_params=differing,
        )

    # -- internals ------------------------------------------------------------------
    def _insert_run(
        self,
        session: Session,
        experiment: str,
        name: str | None,
        parent_run_id: str | None,
        tags: Mapping[str, str] | None,
        environment: Mapping[str, Any] | None,
    ) -> tuple[str, ExperimentRow]:
        exp = (
            self._experiment_row(session, experiment)
            or self._insert_experiment(session, experiment, "")
            or self._require_experiment(session, experiment)  # created concurrently
        )
        if parent_run_id is not None:
            self._require_run(session, parent_run_id)
        run_id = uuid.uuid4().hex
        session.add(
            RunRow(
                id=run_id,
                project_id=self._project.id,
                experiment_id=exp.id,
                name=name or f"run-{run_id[:8]}",
                status="RUNNING",
                start_time=now_ms(),
                parent_run_id=parent_run_id,
                user=self._user,
                environment=dict(environment or {}),
            )
        )
        session.flush()
        if tags:
            self._upsert_tags(session, run_id, tags)
        self._audit.note(
            session, "tracking.create_run", f"run:{run_id}", detail={"experiment": exp.name}
        )
        return run_id, exp

    def _experiment_row(self, session: Session, name: str) -> ExperimentRow | None:
        return session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.project_id == self._project.id,
                or_(ExperimentRow.name == name, ExperimentRow.id == name),
            )
        )

    def _experiment_id(self, session: Session, name: str) -> str:
        # Experiments are never renamed or deleted, so a name, once found, keeps its id.
        found = self._experiment_ids.get(name)
        if found is None:
            found = self._experiment_ids[name] = self._require_experiment(session, name).id
        return found

    def _require_experiment(self, session: Session, name: str) -> ExperimentRow:
        row = self._experiment_row(session, name)
        if row is None:
            raise NotFoundError(
                f"experiment {name!r} does not exist in project {self._project.name!r}",
                field="experiment",
                remedy="list experiments, or start a run to create it",
            )
        return row

    def _insert_experiment(
        self, session: Session, name: str, description: str
    ) -> ExperimentRow | None:
        """The new experiment, or None when the name is taken (even by a concurrent writer)."""
        stmt = self._dialect_insert(ExperimentRow).values(
            id=uuid.uuid4().hex,
            project_id=self._project.id,
            name=name,
            description=description,
            created_at=now_ms(),
        )
        new_id = session.scalar(
            stmt.on_conflict_do_nothing(index_elements=["project_id", "name"]).returning(
                ExperimentRow.id
            )
        )
        return None if new_id is None else session.get(ExperimentRow, new_id)

    def _require_run(self, session: Session, run_id: str) -> RunRow:
        row = session.get(RunRow, run_id) if isinstance(run_id, str) else None
        if row is None or row.project_id != self._project.id:
            raise NotFoundError(
                f"run {run_id!r} does not exist in project {self._project.name!r}",
                field="run_id",
                remedy="search runs to find its id",
            )
        return row

    def _upsert_tags(self, session: Session, run_id: str, tags: Mapping[str, Any]) -> None:
        values = {check_key(k, kind="tag"): param_value(k, v) for k, v in tags.items()}
        rows = [{"run_id": run_id, "key": k, "value": values[k]} for k in sorted(values)]
        for chunk in _chunks(rows):
            stmt = self._dialect_insert(TagRow).values(chunk)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": stmt.excluded.value}
                )
            )

    def _upsert_latest(self, session: Session, rows: Sequence[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            stmt = self._dialect_insert(LatestMetricRow).values(chunk)
            newer = or_(
                stmt.excluded.step > LatestMetricRow.step,
                and_(
                    stmt.excluded.step == LatestMetricRow.step,
                    stmt.excluded.timestamp >= LatestMetricRow.timestamp,
                ),
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["run_id", "key"],
                    set_={
                        "value": stmt.excluded.value,
                        "step": stmt.excluded.step,
                        "timestamp": stmt.excluded.timestamp,
                    },
                    where=newer,
                )
            )

    def _dialect_insert(self, table: Any) -> Any:
        return (sqlite.insert if self._db.is_sqlite else postgresql.insert)(table)


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        yield rows[start : start + _ROWS_PER_INSERT]


def _experiment(row: ExperimentRow) -> Experiment:
    return Experiment(
        id=row.id, name=row.name, description=row.description, created_at=row.created_at
    )


def _metric_row(run_id: str, point: MetricPoint) -> tuple[str, str, float, int, int]:
    """The row of one point; the common case (a finite float, ints in range) costs no calls."""
    value, step, timestamp = point.value, point.step, point.timestamp
    if type(value) is not float or not math.isfinite(value):
        value = check_metric_value(point.key, value)
    if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
        step = check_step(point.key, step)
    if type(timestamp) is not int or not 0 <= timestamp <= _INT64_MAX:
        timestamp = check_timestamp(point.key, timestamp)
    return (run_id, point.key, value, step, timestamp)
