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
import time
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from podium import __version__
from podium.access.keys import KeyService
from podium.access.roles import Principal, Role
from podium.api.auth import AuthMiddleware
from podium.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
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


def create_serving_app(installation: Installation, runtime: ServingRuntime) -> FastAPI:
    """The prediction routes of ``runtime`` behind the platform's keys and body limit."""
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=installation.settings.max_body_bytes)
    app.add_middleware(_RecentKeys, keys=installation.keys, public_paths=public)
    app.add_middleware(RequestIdMiddleware)
    return app


class _RecentKeys:
    """AuthMiddleware with a one-second memory of the keys it accepted.

    The platform's key check runs in a worker thread (its cache hit is cheap, the thread
    hop is not, at thousands of requests a second); a key seen in the last second skips
    it. A revoked key is refused at most one second later than on the platform server.
    """

    def __init__(self, app: ASGIApp, *, keys: KeyService, public_paths: set[str]) -> None:
        self._auth = AuthMiddleware(app, keys=keys, public_paths=public_paths)
        self._app = app
        self._public = frozenset(public_paths)
        self._seen: dict[bytes, tuple[float, Principal]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self._public:
            header, names_project = _auth_headers(scope)
            seen = self._seen.get(header)
            if seen is not None and seen[0] > time.monotonic() and not names_project:
                scope.setdefault("state", {})["principal"] = seen[1]
                await self._app(scope, receive, send)
                return
            await self._auth(scope, receive, send)
            principal = scope.get("state", {}).get("principal")
            if isinstance(principal, Principal) and len(self._seen) < 10_000:
                self._seen[header] = (time.monotonic() + 1.0, principal)
            return
        await self._app(scope, receive, send)


def _auth_headers(scope: Scope) -> tuple[bytes, bool]:
    """The ``Authorization`` header's value, and whether ``X-Podium-Project`` is set."""
    authorization, names_project = b"", False
    for name, value in scope["headers"]:  # one pass; ASGI header names are lower case
        if name == b"authorization":
            authorization = value
        elif name == b"x-podium-project":
            names_project = True
    return authorization, names_project


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
