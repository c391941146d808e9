"""MLflow's REST API on ``podium up``, so MLflow clients log to podium unchanged.

``MLFLOW_TRACKING_URI=http://host:port`` and ``MLFLOW_TRACKING_TOKEN=<podium key>``: the
key arrives as ``Authorization: Bearer <key>``, its project scopes everything and its role
applies. Errors are MLflow's ``{"error_code", "message"}``. Routes live under
``/api/2.0/mlflow`` (and ``/ajax-api/2.0/mlflow``, which MLflow's web UI calls), the
artifact proxy under ``/api/2.0/mlflow-artifacts``. ADR 0028 records the design.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from podium.api.mlflow import artifacts, logged_models, registry, tracking
from podium.api.mlflow.errors import MlflowRoute

__all__ = ["PREFIXES", "install_mlflow"]

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
"""Where MLflow's tracking and registry routes are served."""

_fallback = APIRouter(route_class=MlflowRoute)


@_fallback.api_route("/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
def endpoint_not_found(rest: str, request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": f"podium does not serve the MLflow endpoint {request.method} "
            f"{request.url.path}; docs/coming-from-mlflow.md lists the ones it does",
        },
        status_code=404,
    )


def install_mlflow(app: FastAPI) -> None:
    """Add MLflow's routes to ``app`` (left out of /openapi.json: MLflow documents them)."""
    for prefix in PREFIXES:
        for router in (tracking.router, artifacts.router, logged_models.router, registry.router):
            app.include_router(router, prefix=prefix, include_in_schema=False)
    app.include_router(
        artifacts.proxy_router, prefix="/api/2.0/mlflow-artifacts", include_in_schema=False
    )
    for prefix in (*PREFIXES, "/api/2.0/mlflow-artifacts"):
        app.include_router(_fallback, prefix=prefix, include_in_schema=False)
