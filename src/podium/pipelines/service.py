"""PipelineService: run, resume and inspect pipelines of one project (``p.pipelines``).

A run is checked completely before anything runs (the graph, the arguments, the
runner, the resources), then recorded as a tracked run of the experiment named after
the pipeline, with one child run per step, and as rows of the pipeline tables (the
state a resume needs: the definition's ``module:qualname``, the params, each step's
output reference). Runs execute in the caller's thread, which waits for the end, or
with ``wait=False`` in a thread of their own while the caller gets the running run back
at once (what the server does for a run requested over HTTP: the client polls).
Schedules and event triggers are stored here (:mod:`podium.pipelines.schedules`) and
run by ``podium up`` (:mod:`podium.pipelines.scheduler`). While a step runs, its code
can reach the platform (:func:`podium.pipelines.context.current_platform`).
"""

from __future__ import annotations

import builtins
import logging
import pickle
import threading
from collections.abc import Callable, Mapping
from contextvars import Token
from typing import Any

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.pipelines.context import StepContext, enter_step, leave_step
from podium.pipelines.definitions import Pipeline
from podium.pipelines.execution import LOGS_ARTIFACT, RunHooks, StepListener
from podium.pipelines.logs import routing
from podium.pipelines.outputs import load_output, store_output
from podium.pipelines.plan import Plan, PlannedStep, Ref, build_plan, substitute
from podium.pipelines.records import CacheEntry, PipelineRecords
from podium.pipelines.runner import Attempted, Runner, StepCall, StepResult, runner_named
from podium.pipelines.schedules import Schedule, ScheduleBook, Trigger
from podium.pipelines.targets import resolve_target
from podium.pipelines.types import PipelineInfo, PipelineRun
from podium.store.artifacts import ArtifactStore
from podium.store.database import Database
from podium.tracking.protocol import Tracking

__all__ = ["PipelineService", "TableVersions"]

TableVersions = Callable[[str], "int | None"]
"""``zone.name -> its current version``, or None when the project has no such table."""

_DONE_OK = ("succeeded", "cached")
_PARAM_CHARS = 500
_log = logging.getLogger(__name__)


class PipelineService:
    """Pipelines of one project, embedded: steps run in this process (or on Ray)."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        project: Project,
        *,
        tracking: Tracking,
        table_versions: TableVersions,
        actor: str = "",
        audit: Auditor | None = None,
        ray_address: str | None = None,
        platform: Callable[[], Any] | None = None,
    ) -> None:
        self._records = PipelineRecords(db, project)
        self._book = ScheduleBook(db, project, actor=actor)
        self._platform = platform
        self._ray_address = ray_address
        self._artifacts = artifacts
        self._tracking = tracking
        self._table_versions = table_versions
        self._actor = actor
        self._audit = audit or Auditor.disabled()

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
        on_step: StepListener | None = None,
        wait: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> PipelineRun:
        """Run ``pipeline`` (or the one at ``module:qualname``) with ``params``; see
        :meth:`podium.pipelines.protocol.Pipelines.run`. ``tags`` go on the tracked run
        (the scheduler records what started it there)."""
        found = pipeline if isinstance(pipeline, Pipeline) else resolve_target(pipeline)
        chosen = runner_named(runner, ray_address=self._ray_address)
        plan = build_plan(found, params, pin=self._table_versions)
        chosen.check(plan)
        with self._audit.attempt("pipelines.run", f"pipeline:{found.name}") as attempt:
            run_id = self._start(plan, chosen, tags or {})
            attempt.target = f"pipeline-run:{run_id}"
        if not wait:
            return self._in_background(plan, chosen, run_id, reuse={}, on_step=on_step)
        return self._execute(plan, chosen, run_id, reuse={}, on_step=on_step)

    def resume(
        self,
        run_id: str,
        *,
        runner: str | None = None,
        on_step: StepListener | None = None,
        wait: bool = True,
    ) -> PipelineRun:
        """Continue a failed run; see :meth:`podium.pipelines.protocol.Pipelines.resume`."""
        row, steps = self._records.raw(run_id)
        if row.status != "failed":
            raise ConflictError(
                f"pipeline run {run_id!r} is {row.status}; only a failed run can be resumed",
                remedy="start a new run with p.pipelines.run(...) (unchanged steps are cached)",
            )
        found = resolve_target(row.target)
        params = pickle.loads(self._artifacts.get(row.params_digest))  # our own blob
        pinned = {
            ref.rpartition("@")[0]: int(ref.rpartition("@")[2])
            for step in steps
            for ref in step.inputs or []
        }
        chosen = runner_named(runner or row.runner, ray_address=self._ray_address)

        def pin(name: str) -> int | None:  # the versions the run first read
            return pinned[name] if name in pinned else self._table_versions(name)

        plan = build_plan(found, params, pin=pin)
        chosen.check(plan)
        names = {planned.name for planned in plan.steps}
        reuse = {
            step.name: StepResult(step.name, step.status, step.output_digest, step.output_format)  # type: ignore[arg-type]
            for step in steps
            if step.status in _DONE_OK
            and step.name in names
            and step.output_digest is not None
            and self._artifacts.exists(step.output_digest)
        }
        with self._audit.attempt("pipelines.resume", f"pipeline-run:{run_id}"):
            self._records.restart(run_id, keep=list(reuse), runner=chosen.name)
        if not wait:
            return self._in_background(plan, chosen, run_id, reuse=reuse, on_step=on_step)
        return self._execute(plan, chosen, run_id, reuse=reuse, on_step=on_step)

    def _in_background(
        self,
        plan: Plan,
        runner: Runner,
        run_id: str,
        *,
        reuse: Mapping[str, StepResult],
        on_step: StepListener | None,
    ) -> PipelineRun:
        """Execute the recorded run in a thread of its own; the run as it is now.

        The thread is a daemon: a process that stops mid-run leaves the run ``running``
        (as a killed process would), it never keeps a server from stopping.
        """
        started = self._records.get(run_id)

        def execute() -> None:
            try:
                self._execute(plan, runner, run_id, reuse=reuse, on_step=on_step)
            except BaseException:  # recorded on the run by _execute; the thread says so too
                _log.exception("pipeline run %s failed in podium", run_id)

        threading.Thread(
            target=execute, name=f"podium-pipeline-run-{run_id[:8]}", daemon=True
        ).start()
        return started

    def _start(self, plan: Plan, runner: Runner, extra_tags: Mapping[str, str]) -> str:
        pipeline = plan.pipeline
        shown = {key: _shown(value) for key, value in plan.params.items()}
        tags = {
            **extra_tags,
            "podium.pipeline": pipeline.name,
            "podium.target": pipeline.target,
            "podium.runner": runner.name,
        }
        run_id = self._tracking.create_run(pipeline.name, name=pipeline.name, tags=tags).id
        if shown:
            self._tracking.log_params(run_id, shown)
        params_digest = self._artifacts.put(pickle.dumps(plan.params, protocol=5)).digest
        self._records.start(
            run_id,
            pipeline=pipeline.name,
            target=pipeline.target,
            runner=runner.name,
            params=shown,
            params_digest=params_digest,
            created_by=self._actor,
            steps=[(s.name, s.step.name, s.depends_on, s.tables) for s in plan.steps],
        )
        return run_id

    def _execute(
        self,
        plan: Plan,
        runner: Runner,
        run_id: str,
        *,
        reuse: Mapping[str, StepResult],
        on_step: StepListener | None,
    ) -> PipelineRun:
        plain = RunHooks(
            plan, run_id, self._records, self._tracking, self._artifacts, reuse, on_step
        )
        hooks: RunHooks | _StepContextHooks = plain
        if self._platform is not None and runner.name == "local":  # Ray: other processes
            hooks = _StepContextHooks(plain, self._platform)
        try:
            with routing():
                results = runner.run(plan, hooks)
        except BaseException as exc:
            self._records.finish(run_id, status="failed", error=f"podium failed: {exc}")
            self._tracking.end_run(run_id, status="FAILED")
            raise
        failed = [r for r in results.values() if r.status == "failed"]
        if failed:
            first = failed[0]
            error = f"step {first.name!r} failed: {first.error}"
            self._records.finish(run_id, status="failed", error=error)
            self._tracking.end_run(run_id, status="FAILED")
            return self._records.get(run_id)
        output = substitute(plan.output, lambda ref: self._load(results[ref.name]))
        stored = self._store_run_output(plan.output, output, results)
        self._records.finish(run_id, status="succeeded", output=stored)
        self._tracking.end_run(run_id, status="FINISHED")
        done = self._records.get(run_id)
        done.output = output
        return done

    def _load(self, result: StepResult) -> Any:
        assert result.output_digest is not None, "a succeeded step has an output"
        return load_output(self._artifacts, result.output_digest, result.output_format or "pickle")

    def _store_run_output(
        self, shape: Any, output: Any, results: Mapping[str, StepResult]
    ) -> CacheEntry | None:
        if isinstance(shape, Ref):  # one step's output: it is stored already
            result = results[shape.name]
            assert result.output_digest is not None
            return result.output_digest, result.output_format or "pickle"
        if output is None:
            return None
        stored = store_output(self._artifacts, output, step="(the pipeline's return value)")
        return stored.digest, stored.format

    # -- schedules and triggers -------------------------------------------------------------
    def schedule(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        cron: str,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Schedule:
        """Run ``pipeline`` at every time ``cron`` names; see :meth:`Pipelines.schedule`."""
        target = pipeline.target if isinstance(pipeline, Pipeline) else str(pipeline)
        with self._audit.attempt("pipelines.schedule", f"pipeline:{target}") as attempt:
            found = self._book.add_schedule(pipeline, cron=cron, params=params, runner=runner)
            attempt.target = f"pipeline-schedule:{found.id}"
        return found

    def trigger(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        on: str,
        params: Mapping[str, Any] | None = None,
        where: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Trigger:
        """Run ``pipeline`` on every ``on`` event matching ``where``; see
        :meth:`Pipelines.trigger`."""
        target = pipeline.target if isinstance(pipeline, Pipeline) else str(pipeline)
        with self._audit.attempt("pipelines.trigger", f"pipeline:{target}") as attempt:
            found = self._book.add_trigger(
                pipeline, on=on, params=params, where=where, runner=runner
            )
            attempt.target = f"pipeline-trigger:{found.id}"
        return found

    def schedules(self) -> builtins.list[Schedule]:
        """The project's schedules, oldest first."""
        return self._book.schedules()

    def triggers(self) -> builtins.list[Trigger]:
        """The project's event triggers, oldest first."""
        return self._book.triggers()

    def unschedule(self, schedule_id: str) -> None:
        """Delete a schedule or trigger; see :meth:`Pipelines.unschedule`."""
        with self._audit.attempt("pipelines.unschedule", f"pipeline-schedule:{schedule_id}"):
            self._book.remove(schedule_id)

    # -- reading --------------------------------------------------------------------------
    def get(self, run_id: str) -> PipelineRun:
        """The run, its steps and its output; see :meth:`Pipelines.get`."""
        # The status first, then the output: a run read as ended has its output recorded
        # (both are written in one transaction), whatever commits between the two reads.
        run = self._records.get(run_id)
        row, _ = self._records.raw(run_id)
        if row.output_digest is not None:
            run.output = load_output(self._artifacts, row.output_digest, row.output_format or "")
        return run

    def stored_output(self, run_id: str) -> tuple[bytes, str, str]:
        """The run's stored return value as ``(bytes, format, sha256)``, for the server
        to send (a client decodes it as :func:`podium.pipelines.outputs.decode` does).
        Raises :class:`~podium.errors.NotFoundError` for an unknown run or one with no
        output (still running, failed, or its pipeline returned None)."""
        row, _ = self._records.raw(run_id)
        if row.output_digest is None:
            raise NotFoundError(
                f"pipeline run {run_id!r} has no output (it is {row.status})",
                remedy="wait for the run to succeed; a pipeline returning None has no output",
            )
        data = self._artifacts.get(row.output_digest)
        return data, row.output_format or "pickle", row.output_digest

    def runs(self, pipeline: str | None = None, *, limit: int = 20) -> builtins.list[PipelineRun]:
        """The newest runs; see :meth:`Pipelines.runs`."""
        return self._records.runs(pipeline, limit=_limit(limit))

    def list(self) -> builtins.list[PipelineInfo]:
        """Every pipeline the project ran; see :meth:`Pipelines.list`."""
        return self._records.pipelines()

    def logs(self, run_id: str, *, step: str | None = None) -> str:
        """What the steps printed; see :meth:`Pipelines.logs`."""
        run = self._records.get(run_id)
        steps = run.steps if step is None else [s for s in run.steps if s.name == step]
        if not steps:
            raise NotFoundError(
                f"pipeline run {run_id!r} has no step {step!r}",
                remedy=f"name one of its steps: {', '.join(s.name for s in run.steps)}",
            )
        parts = []
        for found in steps:
            text = ""
            if found.run_id is not None and found.status != "cached":
                try:
                    text = self._tracking.read_artifact(found.run_id, LOGS_ARTIFACT).decode(
                        errors="replace"
                    )
                except NotFoundError:
                    text = ""  # still running, or never started
            if text and not text.endswith("\n"):
                text += "\n"
            parts.append(f"== {found.name} ({found.status}) ==\n{text}")
        return "".join(parts)


class _StepContextHooks:
    """:class:`RunHooks` that also make the step's context current in the thread that
    runs it (:mod:`podium.pipelines.context`): the local runner prepares, computes and
    finishes a step in one thread."""

    def __init__(self, hooks: RunHooks, platform: Callable[[], Any]) -> None:
        self._hooks = hooks
        self._platform = platform
        self._tokens: dict[str, Token[StepContext | None]] = {}

    def prepare(
        self, planned: PlannedStep, upstream: Mapping[str, StepResult]
    ) -> StepResult | StepCall:
        prepared = self._hooks.prepare(planned, upstream)
        if isinstance(prepared, StepCall):
            context = StepContext(
                pipeline_run_id=self._hooks.run_id,
                step=planned.name,
                run_id=self._hooks._children[planned.name],
                platform=self._platform(),
            )
            self._tokens[planned.name] = enter_step(context)
        return prepared

    def finish(self, call: StepCall, attempted: Attempted) -> StepResult:
        token = self._tokens.pop(call.planned.name, None)
        if token is not None:
            leave_step(token)
        return self._hooks.finish(call, attempted)

    def skip(self, planned: PlannedStep, failed: str) -> StepResult:
        return self._hooks.skip(planned, failed)


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _PARAM_CHARS else text[: _PARAM_CHARS - 3] + "..."


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInputError(
            f"limit must be an int from 1 to 1000; got {limit!r} instead",
            field="limit",
            remedy="pass e.g. limit=20",
        )
    return limit
