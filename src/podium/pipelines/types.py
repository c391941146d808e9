"""What the pipelines area returns: runs, their steps, and the pipelines a project ran."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["PipelineInfo", "PipelineRun", "PipelineStatus", "StepRun"]

PipelineStatus = Literal["running", "succeeded", "failed"]


class StepRun(BaseModel):
    """One step of a pipeline run.

    ``status`` is ``succeeded``, ``cached`` (the output of an earlier identical step was
    reused), ``failed`` or ``skipped`` (a step it needs did not succeed); ``pending`` or
    ``running`` while the run goes on. ``run_id`` is its tracked child run (none when it
    was skipped, or reused by a resume from the run it first ran in).
    """

    name: str
    step: str
    status: str
    run_id: str | None = None
    duration_ms: int | None = None
    attempts: int = 0
    cache_key: str | None = None
    output_digest: str | None = None
    inputs: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def duration(self) -> float | None:
        """How long the step ran, in seconds (None before it ended)."""
        return None if self.duration_ms is None else self.duration_ms / 1000

    @property
    def cached(self) -> bool:
        """Whether the step reused a cached output instead of running."""
        return self.status == "cached"


class PipelineRun(BaseModel):
    """A run of a pipeline: a tracked run (``id``) with one child run per step.

    ``output`` is the pipeline function's return value, with each step output loaded;
    it is there on what ``run``, ``resume`` and ``get`` return once the run succeeded
    (over HTTP too: the client fetches it from the server), not in ``runs()`` listings
    (``output_digest`` says where it is stored).
    """

    id: str
    pipeline: str
    target: str
    status: PipelineStatus
    runner: str
    params: dict[str, str] = Field(default_factory=dict)
    steps: list[StepRun] = Field(default_factory=list)
    error: str | None = None
    output_digest: str | None = None
    created_by: str = ""
    started_at: datetime
    ended_at: datetime | None = None
    output: Any = Field(default=None, exclude=True)

    @property
    def duration(self) -> float | None:
        """How long the run took, in seconds (None while it runs)."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def step(self, name: str) -> StepRun:
        """The step called ``name``; KeyError naming the steps when there is none."""
        for found in self.steps:
            if found.name == name:
                return found
        raise KeyError(f"no step {name!r} in this run; its steps: {[s.name for s in self.steps]}")


class PipelineInfo(BaseModel):
    """A pipeline the project has run: its name, definition and latest run."""

    name: str
    target: str
    runs: int
    last_run_id: str
    last_status: str
    last_started_at: datetime
