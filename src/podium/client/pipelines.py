"""Pipelines over HTTP: the same interface as the embedded service (``p.pipelines``).

The server runs the pipeline, so ``run`` sends the pipeline's ``module:qualname`` (the
server imports it) and its params as JSON. The server answers at once with the running
run; the client polls it (every 50 ms at first, backing off to once a second), so a step
that takes longer than the HTTP timeout never breaks the call, then fetches the return
value and checks its sha256 against the run's ``output_digest`` before decoding it.
"""

from __future__ import annotations

import builtins
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.errors import IntegrityError
from podium.pipelines.definitions import Pipeline
from podium.pipelines.outputs import decode
from podium.pipelines.schedules import Schedule, Trigger
from podium.pipelines.types import PipelineInfo, PipelineRun

__all__ = ["HttpPipelines"]

_RUNS = TypeAdapter(list[PipelineRun])
_PIPELINES = TypeAdapter(list[PipelineInfo])
_SCHEDULES = TypeAdapter(list[Schedule])
_TRIGGERS = TypeAdapter(list[Trigger])
_FIRST_POLL = 0.05
_LAST_POLL = 1.0
_ENDED = frozenset({"succeeded", "cached", "failed", "skipped"})
_FORMAT_HEADER = "x-podium-output-format"


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
        wait: bool = True,
    ) -> PipelineRun:
        target = pipeline.target if isinstance(pipeline, Pipeline) else pipeline
        body = {"target": target, "params": dict(params or {}), "runner": runner}
        started = PipelineRun.model_validate(
            self._api.json("POST", "/v1/pipelines/runs", json=body)
        )
        return self._followed(started, on_step) if wait else started

    def resume(
        self,
        run_id: str,
        *,
        runner: str | None = None,
        on_step: Callable[[str, str], None] | None = None,
        wait: bool = True,
    ) -> PipelineRun:
        path = url_path("/v1/pipelines/runs/{}/resume", run_id)
        started = PipelineRun.model_validate(self._api.json("POST", path, json={"runner": runner}))
        return self._followed(started, on_step) if wait else started

    def get(self, run_id: str) -> PipelineRun:
        return self._with_output(self._status(run_id))

    def _status(self, run_id: str) -> PipelineRun:
        found = self._api.json("GET", url_path("/v1/pipelines/runs/{}", run_id))
        return PipelineRun.model_validate(found)

    def _followed(
        self, run: PipelineRun, on_step: Callable[[str, str], None] | None
    ) -> PipelineRun:
        """Poll ``run`` until it ends, telling ``on_step`` of each step as it ends."""
        told: set[str] = set()
        delay = _FIRST_POLL
        while True:
            for step in run.steps:
                if step.status in _ENDED and step.name not in told:
                    told.add(step.name)
                    if on_step is not None:
                        on_step(step.name, step.status)
            if run.status != "running":
                return self._with_output(run)
            time.sleep(delay)
            delay = min(delay * 1.5, _LAST_POLL)
            run = self._status(run.id)

    def _with_output(self, run: PipelineRun) -> PipelineRun:
        """``run`` with its ``output`` fetched from the server, once it succeeded."""
        if run.status != "succeeded" or run.output_digest is None:
            return run
        answer = self._api.request("GET", url_path("/v1/pipelines/runs/{}/output", run.id))
        data = answer.content
        if hashlib.sha256(data).hexdigest() != run.output_digest:
            raise IntegrityError(
                f"the output of pipeline run {run.id} does not match its sha256 "
                f"{run.output_digest}",
                remedy="retry; if it persists, the stored output was altered",
            )
        run.output = decode(data, answer.headers.get(_FORMAT_HEADER, "pickle"))
        return run

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
