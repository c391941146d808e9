"""The FastAPI app factory: every router, the problem+json errors, ids and limits."""

from __future__ import annotations

from fastapi import FastAPI

from podium import __version__
from podium.api.auth import AuthMiddleware
from podium.api.middleware import (
    BodyLimitMiddleware,
    RequestIdMiddleware,
    RouteLimits,
    ScopeMiddleware,
    TimeoutMiddleware,
)
from podium.api.mlflow import install_mlflow
from podium.api.openapi import install_openapi
from podium.api.problems import install_problem_handlers
from podium.api.routes import access, catalog, data, health, registry, tracking, webhooks
from podium.api.routes import batch as batch_routes
from podium.api.routes import deployments as deployment_routes
from podium.api.routes import features as feature_routes
from podium.api.routes import monitoring as monitoring_routes
from podium.api.routes import pii as pii_routes
from podium.api.routes import pipelines as pipeline_routes
from podium.api.routes import schemas as schema_routes
from podium.api.security_headers import (
    AllowedHosts,
    install_security_headers,
    parse_allowed_hosts,
)
from podium.platform import Installation
from podium.serving.http.app import PUBLIC_PATHS as SERVING_PUBLIC_PATHS
from podium.serving.http.app import install_serving
from podium.serving.requests.warmup import Warmup
from podium.ui.app import PREFIX as UI_PREFIX
from podium.ui.app import UiGateway, create_ui

__all__ = ["create_app"]


def create_app(installation: Installation, *, warmup: Warmup | None = None) -> FastAPI:
    """The podium API for ``installation``; serve it with uvicorn (``podium up`` does).

    With ``warmup``, ``/readyz`` and ``/v2/health/ready`` answer 503 until it is done.
    """
    app = FastAPI(
        title="podium",
        version=__version__,
        description="The podium platform API. Every route but /healthz, /readyz and these docs "
        "needs 'Authorization: Bearer <key>'. Errors are application/problem+json (RFC 9457).",
    )
    app.state.installation = installation
    app.state.warmup = warmup
    install_problem_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(access.router)
    app.include_router(tracking.router)
    app.include_router(data.router)
    app.include_router(pii_routes.router)
    app.include_router(catalog.router)
    app.include_router(registry.router)
    app.include_router(webhooks.router)
    app.include_router(feature_routes.router)
    app.include_router(deployment_routes.router)
    app.include_router(deployment_routes.status_router)
    app.include_router(monitoring_routes.router)
    app.include_router(pipeline_routes.router)
    app.include_router(batch_routes.router)
    app.include_router(schema_routes.router)
    install_mlflow(app)
    install_serving(app, lambda caller: installation.runtime(caller.project))
    # The last added runs first: request id, then authentication, then the body limit.
    # Inside authentication: what a scoped key may do, the body limit and the time limit
    # of each route (docs/adr/0036-key-lifecycle-quotas-route-limits.md).
    limits = RouteLimits.from_settings(installation.settings)
    app.add_middleware(ScopeMiddleware)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(TimeoutMiddleware, limits=limits)
    app.add_middleware(AuthMiddleware, keys=installation.keys, public_paths=_public_paths(app))
    # The web UI at /ui/ logs in with a session cookie, not a key: it goes round the key check.
    app.add_middleware(UiGateway, ui=create_ui(installation))
    app.add_middleware(AllowedHosts, hosts=_allowed_hosts(installation))
    app.add_middleware(RequestIdMiddleware)
    # Around everything, so every answer carries them, a refused Host or a 500 included.
    install_security_headers(app, docs_paths=_docs_paths(app), own_cache_prefix=UI_PREFIX)
    return app


def _allowed_hosts(installation: Installation) -> tuple[str, ...]:
    """PODIUM_ALLOWED_HOSTS when set, else any host.

    ``podium up`` always sets it (to the default for the address it listens on when
    unset); an app built here for another ASGI server, or in process, checks no Host
    unless told which to answer.
    """
    allowed = installation.settings.allowed_hosts
    return ("*",) if allowed is None else parse_allowed_hosts(allowed)


def _docs_paths(app: FastAPI) -> set[str]:
    """The HTML pages that load Swagger UI or ReDoc from their CDN."""
    pages = [app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url]
    return {path for path in pages if path}


def _public_paths(app: FastAPI) -> set[str]:
    """What answers without a key: health, and the description of the API itself."""
    docs = [app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url]
    return {"/healthz", "/readyz", *SERVING_PUBLIC_PATHS, *(path for path in docs if path)}
