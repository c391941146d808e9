"""``/v1/deployments``: every deployment route, to list, read, create and roll out.

:data:`router` holds the routes of the platform API, which go through ``p.deployments``;
:data:`status_router` holds ``GET /v1/deployments/{name}``, the stored deployment plus
its live status in the serving runtime that answers the request, which ``podium serve``
replicas mount too (they have the runtime, not the platform). Reading needs the reader
role; every change needs the writer role and is audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from podium.api.bodies import RequestBody
from podium.api.deps import Reader, Writer, platform_of, set_audit_target
from podium.serving.control.review_types import Review, ReviewStatus
from podium.serving.control.spec import Deployment, DeploymentChange
from podium.serving.control.status import deployment_status
from podium.serving.http.app import runtime_of
from podium.serving.http.body import dump_json

__all__ = ["router", "status_router"]

router = APIRouter(prefix="/v1", tags=["deployments"])
status_router = APIRouter(prefix="/v1", tags=["deployments"])


class CreateIn(RequestBody):
    name: str | None = None
    model: str
    fallback: dict[str, Any] | None = None
    timeout_ms: float = 1000.0
    breaker: dict[str, Any] | None = None
    cache: dict[str, Any] | None = None
    batching: dict[str, Any] | None = None
    features: list[str] = Field(default_factory=list)
    entity_keys: list[str] = Field(default_factory=list)
    log_inferences: bool = True
    aliases: list[str] = Field(default_factory=list)


class UpdateIn(RequestBody):
    model: str | None = None
    fallback: dict[str, Any] | None = None
    timeout_ms: float | None = None
    breaker: dict[str, Any] | None = None
    cache: dict[str, Any] | None = None
    batching: dict[str, Any] | None = None
    features: list[str] | None = None
    entity_keys: list[str] | None = None
    log_inferences: bool | None = None
    aliases: list[str] | None = None


class CanaryIn(RequestBody):
    version: int | str
    weight: float | None = None
    sticky_key: str | None = None
    steps: list[float] | None = None
    step_seconds: float = 60.0
    limits: dict[str, Any] | None = None
    auto: bool = True


class StepIn(RequestBody):
    weight: float | None = None
    reason: str = ""


class ReasonIn(RequestBody):
    reason: str = ""


class VersionIn(RequestBody):
    version: int | str | None


class StageIn(RequestBody):
    version: int | str


@router.get("/deployments")
def list_deployments(request: Request, who: Reader) -> list[Deployment]:
    return platform_of(request, who).deployments.list()


@status_router.get("/deployments/{name}", summary="Get a deployment and its live status")
async def get_deployment(name: str, request: Request) -> Response:
    """The stored deployment (spec, traffic, generation) and, under ``status``, what this
    server has loaded: versions, circuit breakers, shadow agreement, cache, canary verdict."""
    runtime = await runtime_of(request)  # checks the caller's key: any role of the project
    status = await run_in_threadpool(deployment_status, runtime, name)
    return Response(dump_json(status), media_type="application/json")


@router.post("/deployments", status_code=201)
def create_deployment(body: CreateIn, request: Request, who: Writer) -> Deployment:
    created = platform_of(request, who).deployments.create(
        body.name,
        model=body.model,
        fallback=body.fallback,
        timeout_ms=body.timeout_ms,
        breaker=body.breaker,
        cache=body.cache,
        batching=body.batching,
        features=body.features,
        entity_keys=body.entity_keys,
        log_inferences=body.log_inferences,
        aliases=body.aliases,
    )
    set_audit_target(request, f"deployment:{created.name}")
    return created


@router.patch("/deployments/{name}")
def update_deployment(name: str, body: UpdateIn, request: Request, who: Writer) -> Deployment:
    changes = body.model_dump(exclude_none=True)
    return platform_of(request, who).deployments.update(name, **changes)


@router.delete("/deployments/{name}", status_code=204)
def delete_deployment(name: str, request: Request, who: Writer) -> Response:
    platform_of(request, who).deployments.delete(name)
    return Response(status_code=204)


@router.get("/deployments/{name}/history")
def deployment_history(name: str, request: Request, who: Reader) -> list[DeploymentChange]:
    return platform_of(request, who).deployments.history(name)


class ReviewAnswerIn(RequestBody):
    label: bool | int | float | str


@router.get("/deployments/{name}/reviews")
def deployment_reviews(
    name: str,
    request: Request,
    who: Reader,
    status: ReviewStatus = "open",
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[Review]:
    return platform_of(request, who).deployments.reviews(name, status=status, limit=limit)


@router.post("/deployments/{name}/reviews/{review_id}")
def answer_review(
    name: str, review_id: str, body: ReviewAnswerIn, request: Request, who: Writer
) -> Review:
    return platform_of(request, who).deployments.answer_review(name, review_id, label=body.label)


@router.post("/deployments/{name}/canary")
def start_canary(name: str, body: CanaryIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.canary(
        name,
        body.version,
        weight=body.weight,
        sticky_key=body.sticky_key,
        steps=body.steps,
        step_seconds=body.step_seconds,
        limits=body.limits,
        auto=body.auto,
    )


@router.post("/deployments/{name}/step")
def step_canary(name: str, body: StepIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.step(name, weight=body.weight, reason=body.reason)


@router.post("/deployments/{name}/promote")
def promote(name: str, body: ReasonIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.promote(name, reason=body.reason)


@router.post("/deployments/{name}/rollback")
def rollback(name: str, body: ReasonIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.rollback(name, reason=body.reason)


@router.post("/deployments/{name}/shadow")
def shadow(name: str, body: VersionIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.shadow(name, body.version)


@router.post("/deployments/{name}/stage")
def stage(name: str, body: StageIn, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.stage(name, body.version)


@router.post("/deployments/{name}/switch")
def switch(name: str, request: Request, who: Writer) -> Deployment:
    return platform_of(request, who).deployments.switch(name)


@router.post("/deployments/{name}/sync")
def sync_deployment(name: str, request: Request, who: Writer) -> Deployment:
    """Follow the model ref now: make the version its stage or alias names stable."""
    return platform_of(request, who).deployments.sync(name)
