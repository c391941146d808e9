"""What :meth:`Platform.tune <podium.platform.Platform.tune>` hands back: a study and its trials."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Direction", "Study", "StudyTrial", "TrialState"]

Direction = Literal["maximize", "minimize"]
TrialState = Literal["complete", "pruned", "failed", "running"]


class StudyTrial(BaseModel):
    """One trial of a study: its tracked run, how it ended, its value and params."""

    number: int
    run_id: str | None = Field(description="the trial's tracked run (a child of the study's)")
    state: TrialState
    value: float | None = Field(
        description="the study's metric (complete) or its last reported value (pruned)"
    )
    params: dict[str, Any]
    error: str | None = Field(default=None, description="why a failed trial failed")


class Study(BaseModel):
    """A hyperparameter search: the best trial, and every trial as a tracked run.

    ``best_params`` and ``best_value`` are those of the tracked run ``best_run_id``, the
    best complete trial by ``metric`` in ``direction``.
    """

    name: str
    experiment: str
    metric: str
    direction: Direction
    run_id: str = Field(description="the study's tracked run; every trial is a child of it")
    best_params: dict[str, Any]
    best_value: float
    best_run_id: str
    trials: list[StudyTrial]

    def top(self, n: int = 5) -> list[StudyTrial]:
        """The ``n`` best complete trials, best first."""
        complete = [t for t in self.trials if t.state == "complete" and t.value is not None]
        complete.sort(key=lambda t: t.value or 0.0, reverse=self.direction == "maximize")
        return complete[:n]

    def count(self, state: TrialState) -> int:
        """How many trials ended in ``state``."""
        return sum(1 for trial in self.trials if trial.state == state)
