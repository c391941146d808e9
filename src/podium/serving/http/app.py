"""The prediction routes, for the platform server and for ``podium serve`` alike.

=======================================  ==========================================
``POST /v1/predictions``                 one row (``features``) or a batch
                                         (``instances``); the body of DESIGN.md §7
``GET  /v2/health/live``, ``/ready``     Open Inference Protocol health (no key)
``GET  /v2``, ``/v2/models/...``        the other OIP routes, JSON and binary tensors
                                         (:mod:`podium.serving.http.oip_routes`)
``GET  /metrics``                        Prometheus exposition of the caller's project
=======================================  ==========================================

Predicting is not a mutation: any valid key of the project (the reader role is enough)
may predict. The body is parsed once with ``orjson`` and checked by hand against the
cached signature; no pydantic model and no database round trip sits on this path.
:func:`install_serving` adds the routes to a FastAPI app whose ``state`` tells which
runtime serves a caller's project, and :func:`runtime_of` finds it for a request (the
deployment routes of :mod:`podium.api.routes.deployments` use it for a deployment's live
status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from podium.access.roles import Principal, Role
from podium.errors import AuthenticationError
from podium.serving.http.body import dump_json
from podium.serving.http.oip_routes import PUBLIC_PATHS as OIP_PUBLIC_PATHS
from podium.serving.http.oip_routes import install_oip
from podium.serving.requests.metrics import CONTENT_TYPE
from podium.serving.requests.runtime import ServingRuntime

__all__ = ["PUBLIC_PATHS", "RuntimeFor", "install_serving", "router", "runtime_of"]

RuntimeFor = Callable[[Principal], ServingRuntime]
"""The runtime serving a caller's project (raises NotFoundError when there is none)."""

PUBLIC_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", *OIP_PUBLIC_PATHS})
"""Routes that answer without a key (liveness and readiness probes)."""

router = APIRouter(tags=["predictions"])

_PREDICTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model_id"],
                    "properties": {
                        "model_id": {"type": "string", "description": "the deployment"},
                        "features": {"type": "object", "description": "one row"},
                        "instances": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "example": {"model_id": "customer-churn", "features": {"tenure_months": 24}},
            }
        },
    }
}


def install_serving(app: FastAPI, runtime_for: RuntimeFor) -> None:
    """Add the prediction routes to ``app``, served by ``runtime_for(caller)``."""
    app.state.serving_runtime_for = runtime_for
    app.include_router(router)
    install_oip(app, runtime_of)  # the v2 model routes (podium.serving.http.oip_routes)
    # The same endpoint as a plain Starlette route, matched first: FastAPI's dependency
    # and response machinery costs more than the rest of a prediction. The APIRouter
    # route above stays for /openapi.json.
    app.router.routes.insert(0, Route("/v1/predictions", predictions, methods=["POST"]))


def _json(body: Any, status: int = 200) -> Response:
    return Response(dump_json(body), status_code=status, media_type="application/json")


def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):  # fail closed if the middleware is missing
        raise AuthenticationError(
            "this request needs an API key", remedy="send 'Authorization: Bearer <key>'"
        )
    principal.require(Role.READER, action="predicting")
    return principal


async def runtime_of(request: Request) -> ServingRuntime:
    """The runtime serving the caller's project (built on the first request of it); the
    caller needs a key of the project, any role."""
    runtime_for: RuntimeFor = request.app.state.serving_runtime_for
    principal = _principal(request)
    runtimes: dict[str, ServingRuntime] = request.app.state.__dict__.setdefault(
        "_serving_runtimes", {}
    )
    found = runtimes.get(principal.project)
    if found is None:
        found = await run_in_threadpool(runtime_for, principal)
        runtimes[principal.project] = found
    return found


@router.post("/v1/predictions", openapi_extra=_PREDICTION_BODY, summary="Predict")
async def predictions(request: Request) -> Response:
    """Answer one row (``features``) or a batch (``instances``) from deployment ``model_id``."""
    runtime = await runtime_of(request)
    request_id = request.scope.get("state", {}).get("request_id")
    return _json(await runtime.handle(await request.body(), request_id=request_id))


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """The caller's project's serving metrics in the Prometheus text format."""
    runtime = await runtime_of(request)
    return Response(runtime.render_metrics(), media_type=CONTENT_TYPE)


@router.get("/v2/health/live", summary="OIP liveness")
async def live() -> dict[str, bool]:
    """Whether the server runs."""
    return {"live": True}


@router.get("/v2/health/ready", summary="OIP readiness")
async def ready(request: Request) -> Response:
    """Whether the server takes requests: 503 while it warms its deployments up."""
    warmup = getattr(request.app.state, "warmup", None)
    warming = warmup is not None and not warmup.ready
    return _json({"ready": not warming}, 503 if warming else 200)
