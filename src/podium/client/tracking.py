"""Tracking over HTTP: the same interface as the embedded TrackingService."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, segment, url_path
from podium.store.paths import safe_relative_path
from podium.tracking.run import StartsRuns
from podium.tracking.types import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    Run,
    RunComparison,
    RunPage,
    RunStatus,
)

__all__ = ["HttpTracking"]

_EXPERIMENTS = TypeAdapter(list[Experiment])
_POINTS = TypeAdapter(list[MetricPoint])
_ARTIFACTS = TypeAdapter(list[ArtifactInfo])


def _artifact_url(run_id: str, path: str) -> str:
    # Checked here as the server checks it, so a bad path fails the same way as embedded
    # and never turns into another URL ("a/../../x" would otherwise be resolved).
    return url_path("/v1/runs/{}/artifacts/", run_id) + "/".join(
        segment(part) for part in safe_relative_path(path).split("/")
    )


class HttpTracking(StartsRuns):
    """Experiment tracking against a podium server."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def create_experiment(self, name: str, *, description: str = "") -> Experiment:
        body = {"name": name, "description": description}
        return Experiment.model_validate(self._api.json("POST", "/v1/experiments", json=body))

    def get_experiment(self, name: str) -> Experiment:
        return Experiment.model_validate(
            self._api.json("GET", url_path("/v1/experiments/{}", name))
        )

    def list_experiments(self) -> list[Experiment]:
        return _EXPERIMENTS.validate_python(self._api.json("GET", "/v1/experiments"))

    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        environment: Mapping[str, Any] | None = None,
    ) -> Run:
        body = {
            "experiment": experiment,
            "name": name,
            "parent_run_id": parent_run_id,
            "tags": dict(tags or {}),
            "environment": dict(environment or {}),
        }
        return Run.model_validate(self._api.json("POST", "/v1/runs", json=body))

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate(self._api.json("GET", url_path("/v1/runs/{}", run_id)))

    def end_run(self, run_id: str, *, status: RunStatus = "FINISHED") -> Run:
        data = self._api.json("POST", url_path("/v1/runs/{}/end", run_id), json={"status": status})
        return Run.model_validate(data)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        body = {"params": {k: v if isinstance(v, str) else str(v) for k, v in params.items()}}
        self._api.request("POST", url_path("/v1/runs/{}/params", run_id), json=body)

    def log_metric_points(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        body = {"metrics": [p.model_dump() for p in points]}
        self._api.request("POST", url_path("/v1/runs/{}/metrics", run_id), json=body)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        body = {"tags": {k: v if isinstance(v, str) else str(v) for k, v in tags.items()}}
        self._api.request("POST", url_path("/v1/runs/{}/tags", run_id), json=body)

    def log_inputs(self, run_id: str, refs: Sequence[str]) -> None:
        self._api.request("POST", url_path("/v1/runs/{}/inputs", run_id), json={"refs": list(refs)})

    def put_artifact(self, run_id: str, path: str, data: bytes) -> ArtifactInfo:
        url = _artifact_url(run_id, path)
        return ArtifactInfo.model_validate(self._api.json("PUT", url, content=data))

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        return _ARTIFACTS.validate_python(
            self._api.json("GET", url_path("/v1/runs/{}/artifacts", run_id))
        )

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return self._api.request("GET", _artifact_url(run_id, path)).content

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        url = url_path("/v1/runs/{}/metrics/{}/history", run_id, key)
        return _POINTS.validate_python(self._api.json("GET", url))

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        names = [experiments] if isinstance(experiments, str) else list(experiments or [])
        body = {
            "experiments": names,
            "filter": filter,
            "order_by": list(order_by or []),
            "max_results": max_results,
            "page_token": page_token,
        }
        return RunPage.model_validate(self._api.json("POST", "/v1/runs/search", json=body))

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        body = {"run_ids": list(run_ids)}
        return RunComparison.model_validate(self._api.json("POST", "/v1/runs/compare", json=body))
