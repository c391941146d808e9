"""Running a serving replica: the prediction routes of one deployment, in a lean process.

``podium serve`` checks its arguments with the full command line, then replaces its own
process with ``python -m podium.api.replica_server`` (same process id), so the
replica's memory holds the serving runtime and its model, not the platform's imports:
the command line alone loads every area. :func:`create_serving_app` is the ASGI app:
``POST /v1/predictions`` answered by :class:`~podium.api.prediction_front.PredictionFront`,
and the other prediction routes (``/v2/...``, ``/metrics``, ``GET /v1/deployments/{name}``,
``/healthz``, ``/readyz``) by a FastAPI app behind it, with the platform's keys and body limit.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from podium import __version__
from podium.access.keys import KeyService
from podium.access.roles import Principal
from podium.access.tls import ServerTls, server_tls
from podium.api.auth import AuthMiddleware
from podium.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from podium.api.prediction_front import PredictionFront
from podium.api.problems import install_problem_handlers
from podium.api.routes.deployments import status_router
from podium.api.security_headers import StrictTransport, install_security_headers
from podium.api.stopping import GRACEFUL_SHUTDOWN_SECONDS, sigterm_as_interrupt
from podium.config import Settings
from podium.errors import NotFoundError, PodiumError
from podium.replica import open_replica
from podium.serving.grpc import with_grpc
from podium.serving.http.app import PUBLIC_PATHS, install_serving
from podium.serving.http.workers import (
    WorkerPool,
    exit_with_supervisor,
    reserve_port,
    reuse_port_socket,
)
from podium.serving.requests.runtime import ServingRuntime

__all__ = ["create_serving_app", "main", "run_replica", "runtime_for_replica"]


def create_serving_app(
    runtime: ServingRuntime, *, keys: KeyService, max_body_bytes: int
) -> PredictionFront:
    """The prediction routes of ``runtime`` behind ``keys`` and the body limit."""
    app = FastAPI(
        title=f"podium serve ({runtime.project})",
        version=__version__,
        description="Prediction routes of one deployment; keys of its project, any role.",
    )
    install_problem_handlers(app)
    runtime_for = runtime_for_replica(runtime)
    install_serving(app, runtime_for)
    app.include_router(status_router)  # GET /v1/deployments/{name}: this replica's view
    public = {"/healthz", "/readyz", *PUBLIC_PATHS}
    app.add_route("/healthz", _healthz, methods=["GET"])
    # The replica listens only once its deployment is loaded and warm (open_replica).
    app.add_route("/readyz", _readyz, methods=["GET"])
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(AuthMiddleware, keys=keys, public_paths=public)
    app.add_middleware(RequestIdMiddleware)
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    install_security_headers(app, docs_paths=[path for path in docs if path])
    # Predictions skip the FastAPI stack: the same contract at a fraction of the cost.
    return PredictionFront(app, keys=keys, runtime_for=runtime_for, max_bytes=max_body_bytes)


def runtime_for_replica(runtime: ServingRuntime) -> Callable[[Principal], ServingRuntime]:
    """``runtime`` for a caller of its project; another project's key is a 404."""

    def runtime_for(caller: Principal) -> ServingRuntime:
        if caller.project != runtime.project:
            raise NotFoundError(
                f"this server serves project {runtime.project!r} only",
                remedy="use a key of that project",
            )
        return runtime

    return runtime_for


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _readyz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


def run_replica(
    settings: Settings,
    project: str,
    deployment: str,
    host: str,
    port: int,
    grpc_port: int | None = None,
    *,
    reuse_port: bool = False,
    tls: ServerTls | None = None,
) -> None:
    """Serve ``deployment`` of ``project`` on ``host:port`` until interrupted (and the
    Open Inference Protocol over gRPC on ``grpc_port``, when given). With ``reuse_port``
    it is one worker of several sharing the port (:mod:`podium.serving.http.workers`). With
    ``tls``, both listen with TLS only and every HTTP answer carries
    ``Strict-Transport-Security``."""
    replica = open_replica(settings, project, deployment)
    replica.start()
    # The inference log's writer thread holds the GIL for stretches while it encodes a
    # batch; a shorter switch interval keeps those stretches out of request latency.
    sys.setswitchinterval(0.0005)
    # Everything loaded so far (the services, the model) lives as long as the process:
    # keep it out of the garbage collector's full passes, which would pause requests.
    gc.collect()
    gc.freeze()
    # Fewer young-generation passes: a request allocates a few hundred short-lived objects.
    gc.set_threshold(20_000, 20, 20)
    app: Any = create_serving_app(
        replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
    )
    if grpc_port is not None:
        app = with_grpc(
            app,
            keys=replica.keys,
            runtime_for=runtime_for_replica(replica.runtime),
            host=host,
            port=grpc_port,
            max_message_bytes=replica.max_body_bytes,
            tls=None if tls is None else tls.pem_pair(),
        )
    if tls is not None:
        app = StrictTransport(app)
    try:
        # Ctrl-C and SIGTERM both end here, after a graceful shutdown; then close() parks
        # the last inference records.
        with contextlib.suppress(KeyboardInterrupt), sigterm_as_interrupt():
            ssl_certfile = None if tls is None else str(tls.cert)
            ssl_keyfile = None if tls is None else str(tls.key)
            if reuse_port:  # bound once the model is warm, like a single replica's port
                sockets = [reuse_port_socket(host, port)]
                config = uvicorn.Config(
                    app,
                    log_level="warning",
                    access_log=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                    ssl_certfile=ssl_certfile,
                    ssl_keyfile=ssl_keyfile,
                )
                uvicorn.Server(config).run(sockets=sockets)
            else:
                uvicorn.run(
                    app,
                    host=host,
                    port=port,
                    log_level="warning",
                    access_log=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                    ssl_certfile=ssl_certfile,
                    ssl_keyfile=ssl_keyfile,
                )
    finally:
        replica.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m podium.api.replica_server DEPLOYMENT --project P --host H --port N``.

    Settings come from the environment (``PODIUM_*``), as for every podium process.
    """
    parser = argparse.ArgumentParser(prog="podium serve", description=__doc__)
    parser.add_argument("deployment")
    parser.add_argument("--project", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--grpc-port", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-of", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tls-cert", type=Path, default=None)
    parser.add_argument("--tls-key", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.workers > 1:
        return run_workers(args.workers, args.host, args.port, argv or sys.argv[1:])
    if args.worker_of is not None:
        exit_with_supervisor(args.worker_of)
    try:
        # `podium serve` resolved --tls auto to files; both are checked to load together.
        tls = server_tls(Path(), mode=None, cert=args.tls_cert, key=args.tls_key, host=args.host)
        run_replica(
            Settings(),
            args.project,
            args.deployment,
            args.host,
            args.port,
            args.grpc_port,
            reuse_port=args.worker_of is not None,
            tls=tls,
        )
    except PodiumError as exc:  # the one-line error of the command line
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.remedy:
            print(f"hint: {exc.remedy}", file=sys.stderr)
        return 1
    if args.worker_of is None:
        print("stopped")
    return 0


def run_workers(workers: int, host: str, port: int, argv: list[str]) -> int:
    """Supervise ``workers`` replicas sharing ``host:port``, each started with ``argv``
    (this command's arguments) as one worker, until SIGTERM or SIGINT."""
    try:
        reserved = reserve_port(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        print("hint: pick a free port with --port", file=sys.stderr)
        return 1
    worker_argv = [*_without_workers(argv), "--worker-of", str(os.getpid())]
    pool = WorkerPool(
        lambda index: [sys.executable, "-m", "podium.api.replica_server", *worker_argv],
        workers=workers,
    )
    try:
        healthy = pool.run()
    finally:
        reserved.close()
    if not healthy:
        print("error: the workers keep exiting as they start; see their errors above",
              file=sys.stderr)  # fmt: skip
        print("hint: run with --workers 1 to see the one failure", file=sys.stderr)
        return 1
    print("stopped")
    return 0


def _without_workers(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            kept.append(arg)
    return kept


if __name__ == "__main__":
    raise SystemExit(main())
