"""``/v1/experiments`` and ``/v1/runs``: experiment tracking over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of, set_audit_target
from podium.tracking.types import (
    ArtifactInfo,
    Experiment,
    MetricPoint,
    Run,
    RunComparison,
    RunPage,
    RunStatus,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["tracking"])


class ExperimentIn(RequestBody):
    name: str
    description: str = ""


class RunIn(RequestBody):
    experiment: str
    name: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, Any] = Field(default_factory=dict)


class EndIn(RequestBody):
    status: RunStatus = "FINISHED"


# Params and tags are stored as strings; a JSON number or boolean is taken as its text,
# anything nested is refused rather than stored as a Python repr.
Scalar = str | int | float | bool


class ParamsIn(RequestBody):
    params: dict[str, Scalar]


class MetricIn(RequestBody):
    """A metric point as sent: strict, so ``true`` or ``"0.5"`` is refused as embedded."""

    key: str
    value: float = Field(strict=True)
    step: int = Field(default=0, strict=True)
    timestamp: int = Field(strict=True, description="milliseconds since the epoch")


class MetricsIn(RequestBody):
    metrics: list[MetricIn] = Field(max_length=100_000)


class TagsIn(RequestBody):
    tags: dict[str, Scalar]


class InputsIn(RequestBody):
    refs: list[str]


class SearchIn(RequestBody):
    experiments: list[str] = Field(default_factory=list)
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    max_results: int = 100
    page_token: str | None = None


class CompareIn(RequestBody):
    run_ids: list[str]


@router.post("/experiments", status_code=201)
def create_experiment(body: ExperimentIn, request: Request, who: Writer) -> Experiment:
    return platform_of(request, who).tracking.create_experiment(
        body.name, description=body.description
    )


@router.get("/experiments")
def list_experiments(request: Request, who: Reader) -> list[Experiment]:
    return platform_of(request, who).tracking.list_experiments()


@router.get("/experiments/{name}")
def get_experiment(name: str, request: Request, who: Reader) -> Experiment:
    return platform_of(request, who).tracking.get_experiment(name)


@router.post("/runs", status_code=201)
def create_run(body: RunIn, request: Request, who: Writer) -> Run:
    run = platform_of(request, who).tracking.create_run(
        body.experiment,
        name=body.name,
        parent_run_id=body.parent_run_id,
        tags=body.tags,
        environment=body.environment,
    )
    set_audit_target(request, f"/v1/runs/{run.id}")
    return run


@router.post("/runs/search")
def search_runs(body: SearchIn, request: Request, who: Reader) -> RunPage:
    return platform_of(request, who).tracking.search_runs(
        body.experiments,
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        page_token=body.page_token,
    )


@router.post("/runs/compare")
def compare_runs(body: CompareIn, request: Request, who: Reader) -> RunComparison:
    return platform_of(request, who).tracking.compare_runs(body.run_ids)


@router.get("/runs/{run_id}")
def get_run(run_id: str, request: Request, who: Reader) -> Run:
    return platform_of(request, who).tracking.get_run(run_id)


@router.post("/runs/{run_id}/end")
def end_run(run_id: str, body: EndIn, request: Request, who: Writer) -> Run:
    return platform_of(request, who).tracking.end_run(run_id, status=body.status)


@router.post("/runs/{run_id}/params", status_code=204)
def log_params(run_id: str, body: ParamsIn, request: Request, who: Writer) -> None:
    platform_of(request, who).tracking.log_params(run_id, body.params)


@router.post("/runs/{run_id}/metrics", status_code=204)
def log_metrics(run_id: str, body: MetricsIn, request: Request, who: Writer) -> None:
    points = [MetricPoint.model_validate(p.model_dump()) for p in body.metrics]
    platform_of(request, who).tracking.log_metric_points(run_id, points)


# ``key:path``: metric keys may hold '/' (``loss/train``), which arrives decoded.
@router.get("/runs/{run_id}/metrics/{key:path}/history")
def metric_history(run_id: str, key: str, request: Request, who: Reader) -> list[MetricPoint]:
    return platform_of(request, who).tracking.metric_history(run_id, key)


@router.post("/runs/{run_id}/tags", status_code=204)
def set_tags(run_id: str, body: TagsIn, request: Request, who: Writer) -> None:
    platform_of(request, who).tracking.set_tags(run_id, body.tags)


@router.post("/runs/{run_id}/inputs", status_code=204)
def log_inputs(run_id: str, body: InputsIn, request: Request, who: Writer) -> None:
    platform_of(request, who).tracking.log_inputs(run_id, body.refs)


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, request: Request, who: Reader) -> list[ArtifactInfo]:
    return platform_of(request, who).tracking.list_artifacts(run_id)


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}
    },
)
async def put_artifact(run_id: str, path: str, request: Request, who: Writer) -> ArtifactInfo:
    data = await request.body()
    platform = await run_in_threadpool(platform_of, request, who)  # may read the database
    return await run_in_threadpool(platform.tracking.put_artifact, run_id, path, data)


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": _BINARY}}},
)
def read_artifact(run_id: str, path: str, request: Request, who: Reader) -> Response:
    data = platform_of(request, who).tracking.read_artifact(run_id, path)
    return Response(data, media_type="application/octet-stream")
