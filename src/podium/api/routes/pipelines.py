"""``/v1/pipelines``: run, resume and inspect the project's pipelines; schedules, triggers.

The server runs a pipeline it can import: the request names it by ``module:qualname``
and gives JSON params. A run (or resume) is checked, recorded and started, and the answer
is ``202 Accepted`` with the ``running`` run and its ``Location``: no request waits for a
step, whatever it takes. Clients poll ``GET /v1/pipelines/runs/{id}`` until the status is
``succeeded`` or ``failed``, then read the return value from ``.../output``. The routes
are the remote side of ``p.pipelines`` (:class:`podium.pipelines.protocol.Pipelines`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import Field

from podium.access.roles import Principal
from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of, set_audit_target
from podium.errors import NotFoundError
from podium.pipelines.protocol import Pipelines
from podium.pipelines.schedules import Schedule, Trigger
from podium.pipelines.service import PipelineService
from podium.pipelines.types import PipelineInfo, PipelineRun

__all__ = ["OUTPUT_FORMAT_HEADER", "OUTPUT_SHA256_HEADER", "router"]

OUTPUT_FORMAT_HEADER = "x-podium-output-format"
"""How the bytes of ``.../output`` are encoded: ``pickle``, ``parquet-pandas`` or
``parquet-arrow`` (see :mod:`podium.pipelines.outputs`)."""
OUTPUT_SHA256_HEADER = "x-podium-sha256"
"""The sha256 of the bytes of ``.../output`` (the run's ``output_digest``)."""

router = APIRouter(prefix="/v1", tags=["pipelines"])


class RunIn(RequestBody):
    target: str = Field(description="The pipeline as 'module:qualname', importable on the server.")
    params: dict[str, Any] = Field(default_factory=dict)
    runner: str = "local"


class ResumeIn(RequestBody):
    runner: str | None = None


class ScheduleIn(RequestBody):
    target: str = Field(description="The pipeline as 'module:qualname', importable on the server.")
    cron: str = Field(description="Five cron fields, evaluated in UTC, e.g. '0 3 * * *'.")
    params: dict[str, Any] = Field(default_factory=dict)
    runner: str = "local"


class TriggerIn(RequestBody):
    target: str = Field(description="The pipeline as 'module:qualname', importable on the server.")
    on: str = Field(description="The event type, e.g. 'alert.fired'.")
    where: dict[str, Any] = Field(
        default_factory=dict, description="Payload values the event must have."
    )
    params: dict[str, Any] = Field(default_factory=dict)
    runner: str = "local"


def _pipelines(request: Request, who: Principal) -> Pipelines:
    return platform_of(request, who).pipelines


@router.get("/pipelines")
def list_pipelines(request: Request, who: Reader) -> list[PipelineInfo]:
    """Every pipeline the project has run, with its latest run."""
    return _pipelines(request, who).list()


@router.get("/pipelines/runs")
def list_pipeline_runs(
    request: Request,
    who: Reader,
    pipeline: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[PipelineRun]:
    """The newest runs, of one pipeline or of all."""
    return _pipelines(request, who).runs(pipeline, limit=limit)


@router.post("/pipelines/runs", status_code=202)
def run_pipeline(body: RunIn, request: Request, response: Response, who: Writer) -> PipelineRun:
    """Start the pipeline at ``target`` with ``params``: answers with the running run
    (its ``Location``); poll it until it ends."""
    run = _pipelines(request, who).run(
        body.target, params=body.params, runner=body.runner, wait=False
    )
    set_audit_target(request, f"/v1/pipelines/runs/{run.id}")
    response.headers["location"] = f"/v1/pipelines/runs/{run.id}"
    return run


@router.get("/pipelines/schedules")
def list_pipeline_schedules(request: Request, who: Reader) -> list[Schedule]:
    """The project's pipeline schedules."""
    return _pipelines(request, who).schedules()


@router.post("/pipelines/schedules", status_code=201)
def create_pipeline_schedule(body: ScheduleIn, request: Request, who: Writer) -> Schedule:
    """Run a pipeline on a cron schedule (UTC), started by the server."""
    found = _pipelines(request, who).schedule(
        body.target, cron=body.cron, params=body.params, runner=body.runner
    )
    set_audit_target(request, f"/v1/pipelines/schedules/{found.id}")
    return found


@router.get("/pipelines/triggers")
def list_pipeline_triggers(request: Request, who: Reader) -> list[Trigger]:
    """The project's pipeline event triggers."""
    return _pipelines(request, who).triggers()


@router.post("/pipelines/triggers", status_code=201)
def create_pipeline_trigger(body: TriggerIn, request: Request, who: Writer) -> Trigger:
    """Run a pipeline on every matching platform event, started by the server."""
    found = _pipelines(request, who).trigger(
        body.target, on=body.on, params=body.params, where=body.where, runner=body.runner
    )
    set_audit_target(request, f"/v1/pipelines/triggers/{found.id}")
    return found


@router.delete("/pipelines/schedules/{schedule_id}", status_code=204)
@router.delete("/pipelines/triggers/{schedule_id}", status_code=204)
def delete_pipeline_schedule(schedule_id: str, request: Request, who: Writer) -> None:
    """Delete a schedule or a trigger."""
    set_audit_target(request, f"/v1/pipelines/schedules/{schedule_id}")
    _pipelines(request, who).unschedule(schedule_id)


@router.get("/pipelines/runs/{run_id}")
def get_pipeline_run(run_id: str, request: Request, who: Reader) -> PipelineRun:
    return _pipelines(request, who).get(run_id)


@router.post("/pipelines/runs/{run_id}/resume", status_code=202)
def resume_pipeline_run(
    run_id: str, request: Request, response: Response, who: Writer, body: ResumeIn | None = None
) -> PipelineRun:
    """Continue a failed run: reuse its succeeded steps, rerun the rest. Answers with the
    run running again; poll it until it ends."""
    set_audit_target(request, f"/v1/pipelines/runs/{run_id}")
    run = _pipelines(request, who).resume(run_id, runner=body.runner if body else None, wait=False)
    response.headers["location"] = f"/v1/pipelines/runs/{run.id}"
    return run


@router.get(
    "/pipelines/runs/{run_id}/output",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def pipeline_run_output(run_id: str, request: Request, who: Reader) -> Response:
    """The succeeded run's return value, as stored: the bytes, their encoding
    (``x-podium-output-format``) and sha256 (``x-podium-sha256``)."""
    pipelines = _pipelines(request, who)
    if not isinstance(pipelines, PipelineService):  # the server's platform is embedded
        raise NotFoundError("this server keeps no pipeline outputs")
    data, encoding, digest = pipelines.stored_output(run_id)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={OUTPUT_FORMAT_HEADER: encoding, OUTPUT_SHA256_HEADER: digest},
    )


@router.get("/pipelines/runs/{run_id}/logs", response_class=PlainTextResponse)
def pipeline_run_logs(
    run_id: str, request: Request, who: Reader, step: str | None = None
) -> PlainTextResponse:
    """What the run's steps printed, as text."""
    return PlainTextResponse(_pipelines(request, who).logs(run_id, step=step))
