"""The FastAPI app factory: every router, the problem+json errors, ids and limits."""

from __future__ import annotations

from fastapi import FastAPI

from podium import __version__
from podium.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from podium.api.problems import install_problem_handlers
from podium.api.routes import access, health, tracking
from podium.platform import Installation

__all__ = ["create_app"]


def create_app(installation: Installation) -> FastAPI:
    """The podium API for ``installation``; serve it with uvicorn (``podium up`` does)."""
    app = FastAPI(
        title="podium",
        version=__version__,
        description="The podium platform API. Every route but /healthz and /readyz needs "
        "'Authorization: Bearer <key>'. Errors are application/problem+json (RFC 9457).",
    )
    app.state.installation = installation
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(access.router)
    app.include_router(tracking.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=installation.settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
