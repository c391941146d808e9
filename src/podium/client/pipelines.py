"""Pipelines over HTTP: the same interface as the embedded service (``p.pipelines``).

The server runs the pipeline, so ``run`` sends the pipeline's ``module:qualname`` (the
server imports it) and its params as JSON; the run comes back without ``output``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.pipelines.definitions import Pipeline
from podium.pipelines.schedules import Schedule, Trigger
from podium.pipelines.types import PipelineInfo, PipelineRun

__all__ = ["HttpPipelines"]

_RUNS = TypeAdapter(list[PipelineRun])
_PIPELINES = TypeAdapter(list[PipelineInfo])
_SCHEDULES = TypeAdapter(list[Schedule])
_TRIGGERS = TypeAdapter(list[Trigger])


class HttpPipelines:
    """A project's pipelines on a podium server (running one needs the writer role)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def run(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
        on_step: Callable[[str, str], None] | None = None,
    ) -> PipelineRun:
        target = pipeline.target if isinstance(pipeline, Pipeline) else pipeline
        body = {"target": target, "params": dict(params or {}), "runner": runner}
        return _reported(
            PipelineRun.model_validate(self._api.json("POST", "/v1/pipelines/runs", json=body)),
            on_step,
        )

    def resume(
        self,
        run_id: str,
        *,
        runner: str | None = None,
        on_step: Callable[[str, str], None] | None = None,
    ) -> PipelineRun:
        path = url_path("/v1/pipelines/runs/{}/resume", run_id)
        found = self._api.json("POST", path, json={"runner": runner})
        return _reported(PipelineRun.model_validate(found), on_step)

    def get(self, run_id: str) -> PipelineRun:
        found = self._api.json("GET", url_path("/v1/pipelines/runs/{}", run_id))
        return PipelineRun.model_validate(found)

    def runs(self, pipeline: str | None = None, *, limit: int = 20) -> builtins.list[PipelineRun]:
        query: dict[str, Any] = {"limit": limit}
        if pipeline is not None:
            query["pipeline"] = pipeline
        return _RUNS.validate_python(self._api.json("GET", "/v1/pipelines/runs", params=query))

    def list(self) -> builtins.list[PipelineInfo]:
        return _PIPELINES.validate_python(self._api.json("GET", "/v1/pipelines"))

    def logs(self, run_id: str, *, step: str | None = None) -> str:
        query = {} if step is None else {"step": step}
        path = url_path("/v1/pipelines/runs/{}/logs", run_id)
        return self._api.request("GET", path, params=query).text

    def schedule(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        cron: str,
        params: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Schedule:
        target = pipeline.target if isinstance(pipeline, Pipeline) else pipeline
        body = {"target": target, "cron": cron, "params": dict(params or {}), "runner": runner}
        return Schedule.model_validate(self._api.json("POST", "/v1/pipelines/schedules", json=body))

    def trigger(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        on: str,
        params: Mapping[str, Any] | None = None,
        where: Mapping[str, Any] | None = None,
        runner: str = "local",
    ) -> Trigger:
        target = pipeline.target if isinstance(pipeline, Pipeline) else pipeline
        body = {
            "target": target,
            "on": on,
            "params": dict(params or {}),
            "where": dict(where or {}),
            "runner": runner,
        }
        return Trigger.model_validate(self._api.json("POST", "/v1/pipelines/triggers", json=body))

    def schedules(self) -> builtins.list[Schedule]:
        return _SCHEDULES.validate_python(self._api.json("GET", "/v1/pipelines/schedules"))

    def triggers(self) -> builtins.list[Trigger]:
        return _TRIGGERS.validate_python(self._api.json("GET", "/v1/pipelines/triggers"))

    def unschedule(self, schedule_id: str) -> None:
        self._api.request("DELETE", url_path("/v1/pipelines/schedules/{}", schedule_id))


def _reported(run: PipelineRun, on_step: Callable[[str, str], None] | None) -> PipelineRun:
    """Tell ``on_step`` how each step ended (over HTTP: once the run is over)."""
    if on_step is not None:
        for step in run.steps:
            on_step(step.name, step.status)
    return run
