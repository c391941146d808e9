"""``podium serve DEPLOYMENT``: a serving-only process for one deployment.

It answers only the prediction routes (``/v1/predictions``, ``/v2/...``, ``/metrics``,
``GET /v1/deployments/{name}``) of one deployment, with the same API keys as the platform
server, and follows changes to the deployment (rollouts, registry promotions) by polling
its generation once a second, so several replicas behind a load balancer stay
consistent without talking to each other. The metadata database and artifact store must
be the ones the platform uses (same ``PODIUM_DATABASE_URL`` and ``PODIUM_STORAGE_URL``).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from podium import __version__
from podium.access.roles import Principal, Role
from podium.api.auth import AuthMiddleware
from podium.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from podium.api.prediction_front import PredictionFront
from podium.api.problems import install_problem_handlers
from podium.cli.context import ProjectOption, cli_state
from podium.cli.up import HostOption, check_port_free
from podium.errors import NotFoundError
from podium.platform import Installation
from podium.serving.app import PUBLIC_PATHS, install_serving
from podium.serving.deployments import Deployments
from podium.serving.events import GenerationWatcher
from podium.serving.runtime import ServingRuntime, open_runtime

__all__ = ["create_serving_app", "serve", "serving_runtime"]


def serving_runtime(installation: Installation, project: str, name: str) -> ServingRuntime:
    """A runtime that serves only deployment ``name`` of ``project``, loaded now."""
    platform = installation.platform_for_existing(project, user="podium:serve", role=Role.WRITER)
    assert isinstance(platform.deployments, Deployments)
    runtime = open_runtime(
        project,
        deployments=platform.deployments,
        registry=platform.registry,
        data=platform.data,
        features=platform.features,
        only=name,
    )
    runtime.state(name)  # fail at start, not on the first request
    return runtime


def create_serving_app(installation: Installation, runtime: ServingRuntime) -> PredictionFront:
    """The prediction routes of ``runtime`` behind the platform's keys and body limit.

    ``POST /v1/predictions`` is answered by :class:`PredictionFront`, the other routes by
    a FastAPI app behind it."""
    app = FastAPI(
        title=f"podium serve ({runtime.project})",
        version=__version__,
        description="Prediction routes of one deployment; keys of its project, any role.",
    )
    install_problem_handlers(app)

    def runtime_for(caller: Principal) -> ServingRuntime:
        if caller.project != runtime.project:
            raise NotFoundError(
                f"this server serves project {runtime.project!r} only",
                remedy="use a key of that project",
            )
        return runtime

    install_serving(app, runtime_for)
    public = {"/healthz", *PUBLIC_PATHS}
    app.add_route("/healthz", _healthz, methods=["GET"])
    max_bytes = installation.settings.max_body_bytes
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_bytes)
    app.add_middleware(AuthMiddleware, keys=installation.keys, public_paths=public)
    app.add_middleware(RequestIdMiddleware)
    # Predictions skip the FastAPI stack: the same contract at a fraction of the cost.
    return PredictionFront(
        app, keys=installation.keys, runtime_for=runtime_for, max_bytes=max_bytes
    )


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def serve(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(help="The deployment to serve.")],
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    host: HostOption = None,
    project: ProjectOption = None,
) -> None:
    """Serve only the prediction routes of DEPLOYMENT (stateless; run several replicas)."""
    state = cli_state(ctx)
    host = host or state.settings.host
    check_port_free(host, port)
    installation = state.installation()
    project_name = project or state.settings.project
    installation.projects.get(project_name)
    runtime = serving_runtime(installation, project_name, deployment)
    watcher = GenerationWatcher(runtime, runtime.deployments, deployment)
    watcher.start()
    # The inference log's writer thread holds the GIL for stretches while it encodes a
    # batch; a shorter switch interval keeps those stretches out of request latency.
    sys.setswitchinterval(0.0005)
    # Everything loaded so far (the platform, the model) lives as long as the process:
    # keep it out of the garbage collector's full passes, which would pause requests.
    gc.collect()
    gc.freeze()
    # Fewer young-generation passes: a request allocates a few hundred short-lived objects.
    gc.set_threshold(20_000, 20, 20)
    typer.echo(
        f"serving deployment {deployment!r} of project {project_name!r} on http://{host}:{port}"
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.run(
                create_serving_app(installation, runtime),
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
            )
    finally:
        watcher.stop()
        runtime.close()
    typer.echo("stopped")
