"""``podium serve DEPLOYMENT``: a serving-only process for one deployment.

It answers only the prediction routes (``/v1/predictions``, ``/v2/...``, ``/metrics``,
``GET /v1/deployments/{name}``) of one deployment, with the same API keys as the platform
server, and follows changes to the deployment (rollouts, registry promotions) by polling
its generation once a second, so several replicas behind a load balancer stay
consistent without talking to each other. The metadata database and artifact store must
be the ones the platform uses (same ``PODIUM_DATABASE_URL`` and ``PODIUM_STORAGE_URL``).
Its inference log is parked in the spool and committed to ``monitoring.inference_log``
by the platform (``podium up``, or any SDK process that reads the log).

The command checks everything it can with the whole command line loaded, then replaces
its process with a lean one (:mod:`podium.api.replica_server`, same process id) that
imports only what serving needs.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from podium.access.roles import Role
from podium.access.tls import server_tls
from podium.cli.context import cli_state
from podium.cli.up import (
    GrpcPortOption,
    HostOption,
    TlsCertOption,
    TlsKeyOption,
    TlsOption,
    check_port_free,
)
from podium.errors import InvalidInputError

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(help="The deployment to serve.")],
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    host: HostOption = None,
    grpc_port: GrpcPortOption = None,
    tls: TlsOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Processes sharing the port (SO_REUSEPORT), each a full replica; "
            "a dead one is restarted.",
        ),
    ] = 1,
) -> None:
    """Serve only the prediction routes of DEPLOYMENT (stateless; run several replicas).

    With --tls auto (or --tls-cert/--tls-key) it serves HTTPS only.
    """
    state = cli_state(ctx)
    host = host or state.settings.host
    secured = server_tls(state.settings.home, mode=tls, cert=tls_cert, key=tls_key, host=host)
    check_port_free(host, port)
    if grpc_port is not None:
        check_port_free(host, grpc_port, option="--grpc-port")
    if grpc_port is not None and workers > 1:
        raise InvalidInputError(
            "--grpc-port is served by one process; it cannot be combined with --workers",
            field="workers",
            remedy="run the gRPC replica with --workers 1, and HTTP replicas with --workers",
        )
    installation = state.installation()  # migrates the database when it is behind
    project_name = state.project_name
    installation.projects.get(project_name)
    platform = installation.platform_for_existing(
        project_name, user="podium:serve", role=Role.READER
    )
    platform.deployments.get(deployment)  # a missing one is an error here, in one line
    scheme = "https" if secured else "http"
    typer.echo(
        f"serving deployment {deployment!r} of project {project_name!r} on {scheme}://{host}:{port}"
    )
    if workers > 1:
        typer.echo(f"{workers} worker processes share the port; SIGTERM stops them all")
    arguments = [deployment, "--project", project_name, "--host", host, "--port", str(port)]
    if grpc_port is not None:
        arguments += ["--grpc-port", str(grpc_port)]
    if workers > 1:
        arguments += ["--workers", str(workers)]
    if secured is not None:  # resolved here: the replica only reads the files
        arguments += ["--tls-cert", str(secured.cert), "--tls-key", str(secured.key)]
    state.close()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(sys.executable, [sys.executable, "-m", "podium.api.replica_server", *arguments])
    from podium.api.replica_server import main  # elsewhere, in this process

    raise typer.Exit(main(arguments))
