"""What tracking hands back: experiments, runs, metric points, pages and comparisons."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ArtifactInfo",
    "Experiment",
    "MetricPoint",
    "Run",
    "RunComparison",
    "RunPage",
    "RunStatus",
]

RunStatus = Literal["RUNNING", "FINISHED", "FAILED", "KILLED"]


class Experiment(BaseModel):
    """A named group of runs in a project."""

    id: str
    name: str
    description: str = ""
    created_at: int = Field(description="milliseconds since the epoch")


class MetricPoint(BaseModel):
    """One logged value of a metric."""

    key: str
    value: float
    step: int = 0
    timestamp: int = Field(description="milliseconds since the epoch")


class ArtifactInfo(BaseModel):
    """A file logged to a run: its path inside the run, size and content hash."""

    path: str
    size: int
    digest: str


class Run(BaseModel):
    """A run with everything logged to it (metrics are the latest value per key)."""

    id: str
    experiment_id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    parent_run_id: str | None = None
    user: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_ms(self) -> int | None:
        """How long the run took, once it has ended."""
        return None if self.end_time is None else self.end_time - self.start_time

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id!r}, name={self.name!r}, status={self.status!r}, "
            f"{len(self.params)} params, {len(self.metrics)} metrics)"
        )

    def _repr_html_(self) -> str:
        from podium.notebook.tracking import run_html

        return run_html(self)


class RunPage(BaseModel):
    """One page of a search; pass ``next_page_token`` back for the next one."""

    runs: list[Run]
    next_page_token: str | None = None

    def __repr__(self) -> str:
        return f"RunPage({len(self.runs)} runs, next_page_token={self.next_page_token!r})"

    def _repr_html_(self) -> str:
        from podium.notebook.tracking import run_page_html

        return run_page_html(self)


class RunComparison(BaseModel):
    """Runs side by side: every param and metric key, and which params differ."""

    runs: list[Run]
    param_keys: list[str]
    metric_keys: list[str]
    differing_params: list[str]
