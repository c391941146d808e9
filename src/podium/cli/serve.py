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
from podium.cli.context import cli_state
from podium.cli.up import GrpcPortOption, HostOption, check_port_free

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(help="The deployment to serve.")],
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8080,
    host: HostOption = None,
    grpc_port: GrpcPortOption = None,
) -> None:
    """Serve only the prediction routes of DEPLOYMENT (stateless; run several replicas)."""
    state = cli_state(ctx)
    host = host or state.settings.host
    check_port_free(host, port)
    if grpc_port is not None:
        check_port_free(host, grpc_port, option="--grpc-port")
    installation = state.installation()  # migrates the database when it is behind
    project_name = state.project_name
    installation.projects.get(project_name)
    platform = installation.platform_for_existing(
        project_name, user="podium:serve", role=Role.READER
    )
    platform.deployments.get(deployment)  # a missing one is an error here, in one line
    typer.echo(
        f"serving deployment {deployment!r} of project {project_name!r} on http://{host}:{port}"
    )
    arguments = [deployment, "--project", project_name, "--host", host, "--port", str(port)]
    if grpc_port is not None:
        arguments += ["--grpc-port", str(grpc_port)]
    state.close()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(sys.executable, [sys.executable, "-m", "podium.api.replica_server", *arguments])
    from podium.api.replica_server import main  # elsewhere, in this process

    raise typer.Exit(main(arguments))
