"""One tuning trial as a tracked run: what the objective is handed, and how a trial ends.

A trial is a child run of its study's run, named ``<study>-<number>``, with the sampled
params logged and tags ``podium.study``, ``podium.trial.number`` and
``podium.trial.state`` (``complete``, ``pruned`` or ``failed``). The objective may take a
second argument, a :class:`TuningTrial`::

    def objective(params, trial):
        model = ...
        for epoch in range(10):
            ...
            trial.report(val_auc, step=epoch)    # logged; raises TrialPruned when pruned
        return {"auc": val_auc, "loss": val_loss}

How the trial ends:

* it returns a number, or a dict of metrics holding the study's metric: every metric is
  logged (the study's metric after the last reported step, so it is the run's latest
  value) and the run ends FINISHED;
* the pruner stops it (:meth:`TuningTrial.report` raised :class:`TrialPruned`): the run
  ends KILLED, tagged ``podium.trial.state=pruned``;
* it raises anything else, or returns something else: the run ends FAILED with the error
  in the tag ``podium.trial.error``, and the study goes on.

This module does not import Optuna: a :class:`TrialLink` carries reports to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from podium.tracking.protocol import Tracking
    from podium.tracking.run import ActiveRun

__all__ = [
    "TrialJob",
    "TrialLink",
    "TrialOutcome",
    "TrialPruned",
    "TuningTrial",
    "execute_trial",
    "metric_values",
]

STUDY_TAG = "podium.study"
NUMBER_TAG = "podium.trial.number"
STATE_TAG = "podium.trial.state"
ERROR_TAG = "podium.trial.error"
_MAX_ERROR = 1000


class TrialPruned(Exception):
    """Raised by :meth:`TuningTrial.report` when the pruner stops the trial; let it
    propagate out of the objective (the run then ends KILLED, marked pruned)."""


class TrialLink(Protocol):
    """What a trial tells the search and asks it (Optuna's trial, kept out of this module)."""

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value of the study's metric."""
        ...

    def should_prune(self) -> bool:
        """Whether the pruner stops the trial now."""
        ...

    def set_run_id(self, run_id: str) -> None:
        """Remember the trial's tracked run."""
        ...


@dataclass(frozen=True)
class TrialJob:
    """Everything a process needs to run one trial (picklable)."""

    number: int
    trial_id: int
    params: dict[str, Any]
    experiment: str
    study: str
    study_run_id: str
    metric: str
    with_trial: bool


@dataclass(frozen=True)
class TrialOutcome:
    """How one trial ended."""

    number: int
    state: Literal["complete", "pruned", "failed"]
    value: float | None
    metrics: dict[str, float]
    run_id: str | None
    error: str | None = None


class TuningTrial:
    """The objective's view of its trial: its number, params, run, and pruning."""

    def __init__(self, job: TrialJob, run: ActiveRun, link: TrialLink) -> None:
        self._job = job
        self._link = link
        self.run = run
        """The trial's tracked run: log more metrics, tags or artifacts to it."""
        self.last_step: int | None = None
        self.last_value: float | None = None

    @property
    def number(self) -> int:
        """The trial's number in its study (0, 1, ...)."""
        return self._job.number

    @property
    def params(self) -> dict[str, Any]:
        """The params sampled for this trial."""
        return dict(self._job.params)

    @property
    def run_id(self) -> str:
        """The id of the trial's tracked run."""
        return self.run.id

    def report(self, value: float, step: int) -> None:
        """Log ``value`` of the study's metric at ``step`` and ask the pruner; raises
        :class:`TrialPruned` when it stops the trial (let it propagate)."""
        self.run.log_metric(self._job.metric, value, step=step)
        self._link.report(float(value), step)
        self.last_step = step if self.last_step is None else max(step, self.last_step)
        self.last_value = float(value)
        if self._link.should_prune():
            raise TrialPruned(f"trial {self.number} was pruned at step {step}")

    def should_prune(self) -> bool:
        """Whether the pruner would stop the trial now (``report`` already asks)."""
        return self._link.should_prune()


def metric_values(result: object, metric: str) -> dict[str, float]:
    """The metrics an objective returned (a number means ``{metric: number}``), checked;
    a TypeError or ValueError says what was wrong."""
    if isinstance(result, Mapping):
        values = dict(result)
        if metric not in values:
            raise ValueError(
                f"the objective returned metrics {sorted(map(str, values))} without the "
                f"study's metric {metric!r}"
            )
    elif isinstance(result, int | float) and not isinstance(result, bool):
        values = {metric: result}
    else:
        raise TypeError(
            f"the objective must return a number or a dict of metrics holding {metric!r}; "
            f"got {result!r} instead"
        )
    checked: dict[str, float] = {}
    for key, value in values.items():
        number_like = isinstance(value, int | float) and not isinstance(value, bool)
        if not (isinstance(key, str) and number_like and math.isfinite(value)):
            raise ValueError(
                f"the objective's metric {key!r} must be a finite number; got {value!r}"
            )
        checked[key] = float(value)
    return checked


def execute_trial(
    job: TrialJob,
    objective: Callable[..., Any],
    tracking: Tracking,
    link: TrialLink,
    *,
    pruned: tuple[type[BaseException], ...] = (),
) -> TrialOutcome:
    """Run ``objective`` for ``job`` as a child run of the study's run; how it ended.

    ``pruned`` are further exception types meaning "pruned" (Optuna's own TrialPruned).
    """
    run = _start(tracking, job)
    link.set_run_id(run.id)
    trial = TuningTrial(job, run, link)
    args = (dict(job.params), trial) if job.with_trial else (dict(job.params),)
    stopped: tuple[type[BaseException], ...] = (TrialPruned, *pruned)
    try:
        metrics = metric_values(objective(*args), job.metric)
    except stopped:
        run.end_with("KILLED", tags={STATE_TAG: "pruned"})
        return TrialOutcome(job.number, "pruned", trial.last_value, {}, run.id)
    except Exception as exc:  # the objective's failure is the trial's, recorded, not lost
        error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        run.end_with("FAILED", tags={STATE_TAG: "failed", ERROR_TAG: error})
        return TrialOutcome(job.number, "failed", None, {}, run.id, error)
    # After the reported steps, so the study's metric shows the trial's final value.
    step = 0 if trial.last_step is None else trial.last_step + 1
    run.end_with("FINISHED", metrics=metrics, step=step, tags={STATE_TAG: "complete"})
    return TrialOutcome(job.number, "complete", metrics[job.metric], metrics, run.id)


def _start(tracking: Tracking, job: TrialJob) -> ActiveRun:
    """The trial's run, with its params and tags: one write where tracking batches
    (embedded, ``begin_run``), else ``start_run``."""
    name = f"{job.study}-{job.number}"
    tags = {STUDY_TAG: job.study, NUMBER_TAG: str(job.number)}
    begin = getattr(tracking, "begin_run", None)
    if begin is None:
        return tracking.start_run(
            job.experiment,
            name=name,
            params=job.params,
            tags=tags,
            parent=job.study_run_id,
            capture_env=False,
        )
    from podium.tracking.run import ActiveRun

    run = begin(
        job.experiment, name=name, parent_run_id=job.study_run_id, tags=tags, params=job.params
    )
    interval = float(getattr(tracking, "metric_flush_interval", 0.5))
    return ActiveRun(tracking, run, flush_interval=interval)
