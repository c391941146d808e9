"""The pipelines interface (``p.pipelines``): the embedded service and the HTTP client.

Embedded, ``run`` takes a pipeline object and runs its steps in this process. Over HTTP
the server runs it, so the pipeline must be importable on the server: ``run`` sends its
``module:qualname`` (a string works too). The server starts the run and answers at once
(202 with the run id); the client then polls the run until it ends, so no request waits
for a long step, and loads ``output`` from the server when it is over. ``wait=False``
returns the running run at once, on both sides.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from podium.pipelines.definitions import Pipeline
from podium.pipelines.schedules import Schedule, Trigger
from podium.pipelines.types import PipelineInfo, PipelineRun

__all__ = ["Pipelines"]


class Pipelines(Protocol):
    """Run, resume and inspect pipelines of the project.

    Over HTTP any method may also raise :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` (a ``reader`` key running a pipeline)
    or :class:`~podium.errors.BackendUnavailableError` (the server cannot be reached).
    """

    def run(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
        on_step: Callable[[str, str], None] | None = None,
        wait: bool = True,
    ) -> PipelineRun:
        """Run ``pipeline`` (a ``@podium.pipeline`` or its ``"module:qualname"``) with
        ``params`` (completed by the function's defaults) and wait for the end; with
        ``wait=False`` return the ``running`` run as soon as it is checked and recorded
        (follow it with :meth:`get`).

        Steps whose code, parameters, inputs and lake table versions are unchanged since
        an earlier run are ``cached`` (not run); independent steps run in parallel within
        the cores and memory they ask for. The run is a tracked run of the experiment
        named after the pipeline, with one child run per step. ``on_step(name, status)``
        is called as each step ends (over HTTP: as the client's polling sees it end).
        A step that raises makes the run ``failed`` (the
        steps after it ``skipped``); that is a result, not an exception. Raises
        :class:`~podium.errors.InvalidInputError` before anything runs for unknown or
        unpicklable params, a cycle, an unknown runner, or a step asking for more than
        the runner's machine has; :class:`~podium.errors.MissingDependencyError` for
        ``runner="ray"`` without ``podium[ray]``; and
        :class:`~podium.errors.NotFoundError` for a target that cannot be imported.
        """
        ...

    def resume(
        self,
        run_id: str,
        *,
        runner: str | None = None,
        on_step: Callable[[str, str], None] | None = None,
        wait: bool = True,
    ) -> PipelineRun:
        """Continue the failed run ``run_id`` in place: its succeeded and cached steps are
        reused, not rerun; the failed step and what depends on it run again (with the
        pipeline's current code, re-imported from the run's ``module:qualname``, or the
        definition in this process), reading the table versions the run first pinned.

        ``runner`` defaults to the run's; ``wait=False`` returns the run as soon as it is
        ``running`` again, as :meth:`run` does. Raises :class:`~podium.errors.NotFoundError` for
        an unknown run or a definition that cannot be imported, and
        :class:`~podium.errors.ConflictError` for a run that did not fail.
        """
        ...

    def get(self, run_id: str) -> PipelineRun:
        """The run with its steps (status, duration, tracked run id, output digest) and
        its ``output`` once it succeeded. Raises :class:`~podium.errors.NotFoundError`
        for an unknown run."""
        ...

    def runs(self, pipeline: str | None = None, *, limit: int = 20) -> builtins.list[PipelineRun]:
        """The newest ``limit`` (1 to 1,000) runs of ``pipeline`` (a name), or of every
        pipeline, newest first, without outputs. Raises
        :class:`~podium.errors.InvalidInputError` for a bad limit."""
        ...

    def list(self) -> builtins.list[PipelineInfo]:
        """Every pipeline the project has run, by name, with its latest run and status."""
        ...

    def logs(self, run_id: str, *, step: str | None = None) -> str:
        """What each step of the run printed (stdout and stderr, and the traceback of a
        failure), under a ``== step (status) ==`` header; only ``step`` when given.
        Raises :class:`~podium.errors.NotFoundError` for an unknown run or step."""
        ...

    def schedule(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        cron: str,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Schedule:
        """Run ``pipeline`` with ``params`` at every time the five-field ``cron`` names
        (UTC), started by ``podium up`` (which imports it by ``module:qualname``).

        A server started after a due time runs that run once when it starts; with several
        servers on one database exactly one of them starts each run. Raises
        :class:`~podium.errors.InvalidInputError` for a bad cron, params that do not fit
        the pipeline or are not JSON, an unknown runner, or a pipeline that cannot be
        imported (one defined in ``__main__`` or a notebook).
        """
        ...

    def trigger(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        on: str,
        params: Mapping[str, Any] | None = None,
        where: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Trigger:
        """Run ``pipeline`` once for every platform event of type ``on`` (``alert.fired``,
        ``model.stage_changed``, ... any of ``podium.events.EVENT_TYPES``) recorded from
        now on whose payload matches ``where`` (``{"rule": "churn-drift"}``; a dotted key
        reads nested objects), started by ``podium up``. The run is tagged
        ``podium.trigger`` and ``podium.event_id``. Raises
        :class:`~podium.errors.InvalidInputError` for an unknown event type and as
        :meth:`schedule` does.
        """
        ...

    def schedules(self) -> builtins.list[Schedule]:
        """The project's schedules, oldest first."""
        ...

    def triggers(self) -> builtins.list[Trigger]:
        """The project's event triggers, oldest first."""
        ...

    def unschedule(self, schedule_id: str) -> None:
        """Delete the schedule or trigger ``schedule_id`` (runs it started stay). Raises
        :class:`~podium.errors.NotFoundError` when the project has none with that id."""
        ...
