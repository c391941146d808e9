"""BatchService: batch inference jobs of one project, embedded (``p.batch``).

A job is checked completely before anything runs (:mod:`podium.batch.checks`), then
recorded as a tracked run of the experiment ``batch`` and a row of the batch tables, and
scored part by part (:mod:`podium.batch.runners`); each part is one idempotent append to
the output table (:mod:`podium.batch.output`) and a row in the metadata DB. The run gets
the params, the input table version, and at the end the metrics ``rows``,
``rows_per_second`` and ``seconds``; the catalog gets the lineage source version ->
model version -> output version.
"""

from __future__ import annotations

import builtins
import os
import pickle
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.batch.checks import Prepared, prepare
from podium.batch.model import ModelChoice, choose_model
from podium.batch.output import OutputTable
from podium.batch.parts import Part
from podium.batch.protocol import Progress
from podium.batch.records import JobRecords, heartbeat_age
from podium.batch.runners import JobSpec, ModelArtifact, run_local, run_ray
from podium.batch.types import BatchJob
from podium.data.catalog import Catalog
from podium.data.names import TableRef
from podium.data.service import DataService
from podium.errors import ConflictError, PodiumError
from podium.registry.flavors import PodiumModel
from podium.registry.protocol import Registry
from podium.serving.protocol import DeploymentsAPI
from podium.store.artifacts import ArtifactStore
from podium.store.base import now_ms
from podium.store.database import Database
from podium.tracking.protocol import Tracking
from podium.tracking.types import MetricPoint

if TYPE_CHECKING:  # the feature store loads its online stores; used only when joining
    from podium.features.protocol import Features

__all__ = ["EXPERIMENT", "BatchService"]

EXPERIMENT = "batch"
"""The experiment every batch job is a tracked run of."""

_STALE_SECONDS = 120.0  # a job on another host that reported nothing for this long is dead


class BatchService:
    """Batch inference of one project: parts scored here (or on Ray), jobs in the DB."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        project: Project,
        *,
        data: DataService,
        catalog: Catalog,
        registry: Registry,
        tracking: Tracking,
        deployments: Callable[[], DeploymentsAPI],
        features: Callable[[], Features],
        actor: str = "",
        audit: Auditor | None = None,
        ray_address: str | None = None,
    ) -> None:
        self._records = JobRecords(db, project)
        self._artifacts = artifacts
        self._data = data
        self._catalog = catalog
        self._registry = registry
        self._tracking = tracking
        self._deployments = deployments
        self._features = features
        self._actor = actor
        self._audit = audit or Auditor.disabled()
        self._ray_address = ray_address

    # -- the interface --------------------------------------------------------------------
    def predict(
        self,
        model: str,
        *,
        source: str,
        output: str,
        runner: str = "local",
        key: str | None = None,
        batch_size: int = 65_536,
        part_rows: int = 1_000_000,
        resume: bool = False,
        on_progress: Progress | None = None,
    ) -> BatchJob:
        """Score ``source`` into ``output`` and wait; see :meth:`Batch.predict`."""
        if resume:
            table = TableRef.parse(source, field="source").table
            found = self._records.unfinished(model=model, source=table, output=output)
            if found is not None:
                return self.resume(found, runner=runner, on_progress=on_progress)
        prepared = self._prepare(model, source, output, runner, key, batch_size, part_rows)
        job_id = self._start(prepared)
        return self._execute(job_id, prepared, on_progress)

    def start(
        self,
        model: str,
        *,
        source: str,
        output: str,
        runner: str = "local",
        key: str | None = None,
        batch_size: int = 65_536,
        part_rows: int = 1_000_000,
    ) -> BatchJob:
        """Check and start a job in a background thread; see :meth:`Batch.start`."""
        prepared = self._prepare(model, source, output, runner, key, batch_size, part_rows)
        job_id = self._start(prepared)
        self._in_background(job_id, prepared)
        return self._records.get(job_id)

    def resume(
        self, job_id: str, *, runner: str | None = None, on_progress: Progress | None = None
    ) -> BatchJob:
        """Continue a killed or failed job and wait; see :meth:`Batch.resume`."""
        prepared = self._resumable(job_id, runner)
        return self._execute(job_id, prepared, on_progress)

    def resume_in_background(self, job_id: str, *, runner: str | None = None) -> BatchJob:
        """:meth:`resume` on a background thread (the API's); returns the job at once."""
        prepared = self._resumable(job_id, runner)
        self._in_background(job_id, prepared)
        return self._records.get(job_id)

    def get(self, job_id: str) -> BatchJob:
        """The job; see :meth:`Batch.get`."""
        return self._records.get(job_id)

    def jobs(self, *, limit: int = 20) -> builtins.list[BatchJob]:
        """The newest jobs; see :meth:`Batch.jobs`."""
        return self._records.list(limit=limit)

    # -- checking and starting ------------------------------------------------------------
    def _prepare(
        self,
        model: str | ModelChoice,
        source: str,
        output: str,
        runner: str,
        key: str | None,
        batch_size: int,
        part_rows: int,
    ) -> Prepared:
        choice = (
            model
            if isinstance(model, ModelChoice)
            else choose_model(model, registry=self._registry, deployments=self._deployments())
        )
        return prepare(
            choice,
            source=source,
            output=output,
            runner=runner,
            key=key,
            batch_size=batch_size,
            part_rows=part_rows,
            data=self._data,
            registry=self._registry,
            features=self._features,
            table=OutputTable(self._data, self._catalog, output, actor=self._actor),
        )

    def _start(self, prepared: Prepared) -> str:
        choice = prepared.choice
        with self._audit.attempt("batch.predict", f"table:{prepared.output.name}") as attempt:
            run = self._tracking.create_run(
                EXPERIMENT,
                name=f"batch {prepared.output.name}",
                tags={"podium.batch.runner": prepared.runner},
            )
            attempt.target = f"batch-job:{run.id}"
            self._tracking.log_params(
                run.id,
                {
                    "model": choice.asked,
                    "model_version": choice.version.ref,
                    "source": prepared.source_ref,
                    "output": prepared.output.name,
                    "runner": prepared.runner,
                    "key": prepared.key or "",
                },
            )
            self._tracking.log_inputs(run.id, [prepared.source_ref])
            self._records.create(
                id=run.id,
                model=choice.asked,
                deployment=choice.deployment,
                model_name=choice.version.name,
                model_version=choice.version.version,
                source=prepared.source.table,
                source_version=prepared.source_version,
                output=prepared.output.name,
                key=prepared.key,
                runner=prepared.runner,
                options={
                    "batch_size": prepared.batch_size,
                    "part_rows": prepared.part_rows,
                    "features": choice.features,
                    "entity_keys": choice.entity_keys,
                },
                rows_total=sum(part.rows for part in prepared.parts),
                parts_total=len(prepared.parts),
                holder=_holder(),
                created_by=self._actor,
            )
            prepared.output.create(prepared.schema)
        return run.id

    def _resumable(self, job_id: str, runner: str | None) -> Prepared:
        row = self._records.row(job_id)
        if row.status == "succeeded":
            raise ConflictError(
                f"batch job {job_id!r} succeeded; there is nothing to resume",
                remedy="start a new job with p.batch.predict(...)",
            )
        if row.status == "running" and _alive(row.holder, heartbeat_age(row)):
            raise ConflictError(
                f"batch job {job_id!r} is running in {row.holder}",
                remedy="wait for it to end (p.batch.get(job_id)); a killed job can be resumed",
            )
        version = self._registry.get_version(f"{row.model_name}/{row.model_version}")
        options = row.options or {}
        choice = ModelChoice(
            row.model,
            version,
            deployment=row.deployment,
            features=list(options.get("features") or []),
            entity_keys=list(options.get("entity_keys") or []),
        )
        prepared = self._prepare(
            choice,
            f"{row.source}@{row.source_version}",
            row.output,
            runner or row.runner,
            row.key,
            int(options.get("batch_size", 65_536)),
            int(options.get("part_rows", 1_000_000)),
        )
        with self._audit.attempt("batch.resume", f"batch-job:{job_id}"):
            self._records.restart(job_id, holder=_holder(), runner=prepared.runner)
        return prepared

    # -- running ----------------------------------------------------------------------------
    def _in_background(self, job_id: str, prepared: Prepared) -> None:
        thread = threading.Thread(
            target=self._execute, args=(job_id, prepared, None), name=f"podium-batch-{job_id}"
        )
        thread.daemon = True  # a job cut short by the process's end is resumable
        thread.start()

    def _execute(self, job_id: str, prepared: Prepared, on_progress: Progress | None) -> BatchJob:
        """Score the parts not committed yet; the job as it ended (``failed`` with its
        error when scoring raised: the committed parts stay, and it can be resumed)."""
        try:
            return self._score(job_id, prepared, on_progress)
        except BaseException as exc:
            error = exc.message if isinstance(exc, PodiumError) else f"{type(exc).__name__}: {exc}"
            self._records.finish(job_id, status="failed", error=error)
            self._tracking.end_run(job_id, status="FAILED")
            if not isinstance(exc, Exception):
                raise  # an interrupt: the job is failed (resumable), the caller stops
            return self._records.get(job_id)

    def _score(self, job_id: str, prepared: Prepared, on_progress: Progress | None) -> BatchJob:
        todo = self._parts_to_do(job_id, prepared)
        total = sum(part.rows for part in prepared.parts)
        done = total - sum(part.rows for part in todo)
        scored = 0  # rows scored by this execution (committed or not)
        if on_progress is not None:
            on_progress(done, total)
        started = time.perf_counter()

        def rows_scored(rows: int) -> None:
            nonlocal scored
            scored += rows
            if on_progress is not None:
                on_progress(done + scored, total)

        def part_committed(part: Part, version: int) -> None:
            prepared.output.record(version)
            self._records.part_committed(job_id, part.index, part.rows, version)
            if prepared.runner == "ray":  # the local runner reports each batch instead
                rows_scored(part.rows)

        self._run(job_id, prepared, todo, part_committed, rows_scored)
        seconds = time.perf_counter() - started
        return self._succeeded(job_id, prepared, seconds, sum(p.rows for p in todo))

    def _parts_to_do(self, job_id: str, prepared: Prepared) -> list[Part]:
        recorded = self._records.parts_done(job_id)
        unrecorded = [part for part in prepared.parts if part.index not in recorded]
        if not unrecorded:
            return []
        # Committed to the table, killed before the metadata DB heard of it.
        committed = prepared.output.appender.committed(job_id, [p.index for p in unrecorded])
        for part in unrecorded:
            if part.index in committed:
                self._records.part_committed(job_id, part.index, part.rows, None)
        return [part for part in unrecorded if part.index not in committed]

    def _run(
        self,
        job_id: str,
        prepared: Prepared,
        todo: list[Part],
        part_committed: Callable[[Part, int], None],
        rows_scored: Callable[[int], None],
    ) -> None:
        choice = prepared.choice
        spec = JobSpec(
            job_id=job_id,
            columns=tuple(prepared.columns),
            key=prepared.key,
            schema=prepared.schema,
            model_version=choice.version.ref,
            batch_size=prepared.batch_size,
            appender=prepared.output.appender,
        )
        if prepared.runner == "ray":
            artifact = ModelArtifact(
                data=self._artifacts.get(choice.version.artifact_digest),  # sha256 verified
                flavor=choice.version.flavor,
                signature=choice.version.signature,
                ref=choice.version.ref,
                loaded=_pickled(prepared.scorer.model),
            )
            run_ray(
                spec,
                artifact,
                prepared.dataset,
                todo,
                address=self._ray_address,
                on_part=part_committed,
            )
            return
        run_local(
            spec,
            prepared.scorer,
            prepared.dataset,
            todo,
            join=prepared.join,
            on_part=part_committed,
            on_rows=rows_scored,
        )

    def _succeeded(self, job_id: str, prepared: Prepared, seconds: float, rows: int) -> BatchJob:
        output_version = self._data.version(prepared.output.name)
        job = self._records.get(job_id)
        model = f"model:{prepared.choice.version.ref}"
        output = f"table:{prepared.output.name}@{output_version}"
        self._catalog.record_lineage(f"table:{prepared.source_ref}", model, "scored_by")
        self._catalog.record_lineage(model, output, "scored_into")
        self._catalog.record_lineage(f"run:{job_id}", output, "produced")
        stamp = now_ms()
        rate = rows / seconds if seconds > 0 else 0.0
        self._tracking.log_metric_points(
            job_id,
            [
                MetricPoint(key="rows", value=float(job.rows_total), timestamp=stamp),
                MetricPoint(key="rows_per_second", value=rate, timestamp=stamp),
                MetricPoint(key="seconds", value=seconds, timestamp=stamp),
            ],
        )
        self._records.finish(
            job_id, status="succeeded", seconds=seconds, output_version=output_version
        )
        self._tracking.end_run(job_id, status="FINISHED")
        return self._records.get(job_id)


def _pickled(model: PodiumModel) -> bytes | None:
    """The loaded model as a pickle for Ray workers (they skip loading it again), or None
    when its flavor does not pickle (an ONNX session)."""
    try:
        return pickle.dumps(model, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(holder: str, age: float) -> bool:
    """Whether the process ``host:pid`` that holds a job may still be running it."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return age < _STALE_SECONDS
    if int(pid) == os.getpid():
        return True  # this process: a background thread runs it (or ran it until failing)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
