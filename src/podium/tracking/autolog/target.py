"""Where a fit logs, per thread: the run it attaches to, or a run of its own.

The outermost patched fit of a thread decides; fits nested inside it (a Pipeline's
steps, a search's candidates, xgboost's ``train`` under ``XGBClassifier.fit``) call
straight through, so one fit logs one model at most. The run is, in order:

1. the innermost ``with p.tracking.start_run(...) as run:`` block open in this thread;
2. the tracked run of the pipeline step running in this thread;
3. else a new run of its own in the experiment ``podium.autolog`` was given, ended
   FINISHED after the fit (FAILED when the fit raised).

Runs of their own are written in as few calls as the backend allows: embedded, one write
to open (params included) and one to close (metrics and tags included).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.errors import ConflictError, PodiumError
from podium.pipelines.context import current_step
from podium.store.base import now_ms
from podium.tracking.autolog.state import AutologSettings
from podium.tracking.run import ActiveRun
from podium.tracking.types import MetricPoint, RunStatus

if TYPE_CHECKING:
    from podium.platform import Platform
    from podium.tracking.protocol import TrackingBackend

__all__ = [
    "AutologWarning",
    "FitRun",
    "entered_runs",
    "fitting",
    "guarded",
    "inside_fit",
    "open_fit_run",
    "open_run",
]

_DEPTH: ContextVar[int] = ContextVar("podium_autolog_depth", default=0)
_ENTERED: ContextVar[tuple[ActiveRun, ...]] = ContextVar("podium_autolog_runs", default=())


class AutologWarning(UserWarning):
    """Autolog could not record something; the fit itself went on unharmed."""


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Turn a podium error while logging ``what`` into a warning: autologging never
    breaks the user's fit."""
    try:
        yield
    except PodiumError as exc:
        warnings.warn(f"podium autolog could not {what}: {exc}", AutologWarning, stacklevel=4)


@contextmanager
def fitting() -> Iterator[bool]:
    """Mark a fit in progress in this thread; yields whether it is the outermost one."""
    depth = _DEPTH.get()
    token = _DEPTH.set(depth + 1)
    try:
        yield depth == 0
    finally:
        _DEPTH.reset(token)


def inside_fit() -> bool:
    """Whether a patched fit is running in this thread."""
    return _DEPTH.get() > 0


def entered_runs() -> tuple[ActiveRun, ...]:
    """The runs whose ``with`` block is open in this thread, innermost last."""
    return _ENTERED.get()


def push_run(run: ActiveRun) -> None:
    """Record that ``run``'s ``with`` block was entered in this thread."""
    _ENTERED.set((*_ENTERED.get(), run))


def pop_run(run: ActiveRun) -> None:
    """Record that ``run``'s ``with`` block was left."""
    _ENTERED.set(tuple(r for r in _ENTERED.get() if r is not run))


@dataclass
class FitRun:
    """One run a fit logs to, with its writes batched when the run is its own."""

    tracking: TrackingBackend
    run_id: str
    name: str
    experiment: str
    owned: bool
    platform: Platform | None
    _points: list[MetricPoint] = field(default_factory=list)
    _tags: dict[str, str] = field(default_factory=dict)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params now; on a run the user opened, keep the ones it already has."""
        if not params:
            return
        with guarded("log params"):
            try:
                self.tracking.log_params(self.run_id, params)
            except ConflictError:  # a second fit in the same run: its first params stay
                known = self.tracking.get_run(self.run_id).params
                fresh = {k: v for k, v in params.items() if k not in known}
                if fresh:
                    self.tracking.log_params(self.run_id, fresh)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int = 0) -> None:
        """Queue metrics at ``step`` (written by :meth:`finish`)."""
        ts = now_ms()
        self._points.extend(
            MetricPoint(key=k, value=float(v), step=step, timestamp=ts) for k, v in metrics.items()
        )

    def log_series(self, series: Mapping[str, Sequence[float]]) -> None:
        """Queue per-iteration metrics: value ``i`` of each series at step ``i``."""
        ts = now_ms()
        for key, values in series.items():
            self._points.extend(
                MetricPoint(key=key, value=float(v), step=i, timestamp=ts)
                for i, v in enumerate(values)
            )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Queue tags (written by :meth:`finish`)."""
        self._tags.update(tags)

    def log_inputs(self, refs: Sequence[str]) -> None:
        """Record the lake table versions the fit read."""
        if refs:
            with guarded(f"record the inputs {list(refs)}"):
                self.tracking.log_inputs(self.run_id, refs)

    def put_artifact(self, path: str, data: bytes) -> None:
        """Store ``data`` as the run's file ``path``."""
        with guarded(f"store {path}"):
            self.tracking.put_artifact(self.run_id, path, data)

    def finish(self, status: RunStatus = "FINISHED") -> None:
        """Write what was queued; end the run when it is autolog's own."""
        points, tags = self._points, self._tags
        self._points, self._tags = [], {}
        with guarded("write metrics and tags"):
            complete = getattr(self.tracking, "complete_run", None)
            if self.owned and complete is not None:
                complete(self.run_id, status=status, tags=tags, points=points)
                return
            if points:
                self.tracking.log_metric_points(self.run_id, points)
            if tags:
                self.tracking.set_tags(self.run_id, tags)
            if self.owned:
                self.tracking.end_run(self.run_id, status=status)


def open_run(
    tracking: TrackingBackend,
    experiment: str,
    *,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
    parent_run_id: str | None = None,
    platform: Platform | None = None,
) -> FitRun:
    """A new run owned by autolog: one write embedded (``begin_run``), else two."""
    begin = getattr(tracking, "begin_run", None)
    if begin is not None:
        run = begin(
            experiment, name=name, parent_run_id=parent_run_id, tags=dict(tags), params=params
        )
    else:
        run = tracking.create_run(
            experiment, name=name, parent_run_id=parent_run_id, tags=dict(tags)
        )
        if params:
            tracking.log_params(run.id, params)
    return FitRun(tracking, run.id, run.name, run.experiment, True, platform)


def open_fit_run(
    settings: AutologSettings,
    *,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
) -> FitRun | None:
    """The run the outermost fit of this thread logs to (None when none can be had)."""
    entered = entered_runs()
    fit: FitRun | None
    if entered:
        active = entered[-1]
        backend: TrackingBackend = active._backend  # the same area: its tracking backend
        fit = FitRun(backend, active.id, active.name, active.experiment, False, None)
    else:
        fit = _step_run() or _new_run(settings, name=name, params=params, tags=tags)
        if fit is None:
            return None
        if fit.owned:
            return fit
    fit.log_params(params)
    fit.set_tags(tags)
    return fit


def _step_run() -> FitRun | None:
    try:
        step = current_step()
    except ConflictError:  # not inside a pipeline step
        return None
    platform: Platform = step.platform
    tracking = platform.tracking
    with guarded("find the pipeline step's run"):
        run = tracking.get_run(step.run_id)
        return FitRun(tracking, run.id, run.name, run.experiment, False, platform)
    return None


def _new_run(
    settings: AutologSettings,
    *,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
) -> FitRun | None:
    with guarded("start a run"):
        platform = settings.platform()
        return open_run(
            platform.tracking,
            settings.experiment,
            name=name,
            params=params,
            tags=tags,
            platform=platform,
        )
    return None
