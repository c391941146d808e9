"""The tracking interface: the embedded service and the HTTP client both implement it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from podium.tracking.types import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    Run,
    RunComparison,
    RunPage,
    RunStatus,
)

if TYPE_CHECKING:
    from podium.tracking.run import ActiveRun

__all__ = ["Tracking", "TrackingBackend"]


class TrackingBackend(Protocol):
    """Everything tracking stores, one call per operation (no hidden state)."""

    def create_experiment(self, name: str, *, description: str = "") -> Experiment: ...

    def get_experiment(self, name: str) -> Experiment: ...

    def list_experiments(self) -> list[Experiment]: ...

    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def end_run(self, run_id: str, *, status: RunStatus = "FINISHED") -> Run: ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    def log_metric_points(self, run_id: str, points: Sequence[MetricPoint]) -> None: ...

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...

    def log_inputs(self, run_id: str, refs: Sequence[str]) -> None: ...

    def put_artifact(self, run_id: str, path: str, data: bytes) -> ArtifactInfo: ...

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]: ...

    def read_artifact(self, run_id: str, path: str) -> bytes: ...

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]: ...

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage: ...

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison: ...


class Tracking(TrackingBackend, Protocol):
    """What ``p.tracking`` offers, embedded or remote: the backend plus ``start_run``."""

    def start_run(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent: ActiveRun | str | None = None,
        capture_env: bool = True,
    ) -> ActiveRun: ...
