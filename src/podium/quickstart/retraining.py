"""The quickstart's retraining pipeline, and the drift alert trigger that starts it.

:data:`retrain` (``churn-retraining``) reads the curated training table at the version
the run pinned, fits one model of the grid (by default the quickstart's best run's
candidate) on the same training split as the grid, and passes it through the validation
gate (:func:`~podium.pipelines.steps.validate_and_propose`) on the held-out split: when
it scores at least as well as production it is registered as the next version of
``customer-churn`` and its move to production is requested, a request that stays pending
until an admin approves it.

:func:`ensure_trigger` makes the drift alert start it (``alert.fired`` events of one
rule); :func:`scan_triggers_once` runs one round of the scan ``podium up`` runs every
second, in this process, and waits (bounded) for the run it started.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

import podium
from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.pipelines.context import current_platform
from podium.pipelines.scheduler import PipelineScheduler
from podium.pipelines.schedules import Activation, ScheduleBook, Trigger
from podium.pipelines.steps import GateResult, validate_and_propose
from podium.pipelines.types import PipelineRun
from podium.platform import Installation, Platform
from podium.quickstart import MODEL
from podium.quickstart.features import TRAINING_TABLE
from podium.quickstart.training import GRID, as_frame, split

if TYPE_CHECKING:
    from podium.pipelines.service import PipelineService

__all__ = [
    "PIPELINE",
    "Retraining",
    "ensure_trigger",
    "retrain",
    "scan_triggers_once",
]

PIPELINE = "churn-retraining"
DEFAULT_CANDIDATE = "gbm-100x2"
_CANDIDATES = {candidate.name: candidate for candidate in GRID}


@podium.step
def load_training_set(table: str) -> pd.DataFrame:
    """The training table at the version the run pinned (a new write reruns this)."""
    version = getattr(table, "version", None)
    frame: pd.DataFrame = current_platform().data.read(table, version=version).to_pandas()
    return frame


@podium.step
def fit(frame: pd.DataFrame, candidate: str = DEFAULT_CANDIDATE) -> Any:
    """One model of the grid, fitted on the grid's training split of ``frame``."""
    chosen = _CANDIDATES.get(candidate)
    if chosen is None:
        raise InvalidInputError(
            f"the 'candidate' parameter of {PIPELINE} must name a model of the quickstart's "
            f"grid; got {candidate!r} instead",
            field="candidate",
            remedy=f"pass one of {', '.join(_CANDIDATES)}",
        )
    data = split(frame)
    model = chosen.build()
    model.fit(as_frame(data.x_train), data.y_train)
    return model


@podium.step(cache=False)
def gate(model: Any, frame: pd.DataFrame) -> GateResult:
    """Compare with production on the held-out split; propose for production if as good."""
    data = split(frame)
    return validate_and_propose(
        model, name=MODEL, X=as_frame(data.x_test), y=data.y_test, metric="auc"
    )


@podium.pipeline(PIPELINE)
def retrain(candidate: str = DEFAULT_CANDIDATE) -> Any:
    """Read the training table, fit ``candidate``, validate it and propose it."""
    frame = load_training_set(TRAINING_TABLE)
    return gate(fit(frame, candidate=candidate), frame)


def ensure_trigger(platform: Platform, *, rule: str, candidate: str) -> Trigger:
    """The trigger that runs :data:`retrain` on each ``alert.fired`` of ``rule``.

    A trigger of a previous quickstart with the same rule is kept when it fits
    ``candidate`` too, and replaced otherwise, so one alert starts one run.
    """
    pipelines = platform.pipelines
    where = {"rule": rule}
    params = {"candidate": candidate}
    kept: Trigger | None = None
    for existing in pipelines.triggers():
        if existing.target != retrain.target or existing.on != "alert.fired":
            continue
        if existing.where != where:
            continue
        if kept is None and existing.params == params:
            kept = existing
        else:
            pipelines.unschedule(existing.id)
    if kept is not None:
        return kept
    return pipelines.trigger(retrain, on="alert.fired", where=where, params=params)


@dataclass(frozen=True)
class Retraining:
    """What one scan round started for a trigger: its activation and run (``None``
    when it started none, e.g. because no new alert fired)."""

    activation: Activation | None
    run: PipelineRun | None

    @property
    def gate(self) -> GateResult | None:
        """The validation gate's result (the run's output), when the run succeeded."""
        output = None if self.run is None else self.run.output
        return output if isinstance(output, GateResult) else None


def scan_triggers_once(
    installation: Installation, platform: Platform, trigger: Trigger, *, timeout: float = 120.0
) -> Retraining:
    """One round of ``podium up``'s scheduler, here, and the run it started for ``trigger``.

    The round claims what is due (with leases, so a server running on the same database
    does not start it again) and starts it in a worker thread; this waits up to
    ``timeout`` seconds for those runs to end.
    """
    scheduler = PipelineScheduler(
        installation.db,
        lambda name: cast(
            "PipelineService",
            installation.platform_for_existing(
                name, user="podium:scheduler", role=Role.WRITER
            ).pipelines,
        ),
        workers=1,
    )
    book = ScheduleBook(installation.db, installation.projects.get(platform.project))
    before = {a.occurrence for a in book.activations(trigger.id, limit=1)}
    worker = threading.Thread(
        target=scheduler.tick, kwargs={"wait": True}, name="podium-quickstart-scan", daemon=True
    )
    worker.start()
    worker.join(timeout)
    scheduler.stop(timeout=0)
    activation = next(
        (a for a in book.activations(trigger.id, limit=1) if a.occurrence not in before), None
    )
    run = None
    if activation is not None and activation.run_id is not None:
        run = platform.pipelines.get(activation.run_id)
    return Retraining(activation=activation, run=run)
