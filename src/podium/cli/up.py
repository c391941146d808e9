"""``podium up``: serve the REST API of the installation under PODIUM_HOME."""

from __future__ import annotations

import contextlib
import socket
from typing import Annotated

import typer

from podium.api.server import serve
from podium.cli.context import cli_state
from podium.errors import InvalidInputError
from podium.platform import Installation

__all__ = ["HostOption", "PortOption", "check_port_free", "serve_until_stopped", "up"]

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on (default PODIUM_HOST, 127.0.0.1)."),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=1, max=65535, help="Port to listen on (default PODIUM_PORT, 8000)."),
]


def up(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the REST API until Ctrl-C.

    On first start it creates an admin key of the default project, prints it once and
    saves it to $PODIUM_HOME/credentials (readable by you only).
    """
    state = cli_state(ctx)
    host = host or state.settings.host
    port = port or state.settings.port
    check_port_free(host, port)
    serve_until_stopped(state.installation(), host=host, port=port)


def serve_until_stopped(installation: Installation, *, host: str, port: int) -> None:
    """Serve the API until Ctrl-C, which stops it gracefully (exit code 0)."""
    # uvicorn shuts down on SIGINT, then raises it again for the caller: that is the end.
    with contextlib.suppress(KeyboardInterrupt):
        serve(installation, host=host, port=port, announce=typer.echo)
    typer.echo("stopped")


def check_port_free(host: str, port: int) -> None:
    """Raise an InvalidInputError naming the fix when ``host:port`` cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InvalidInputError(
            f"the host {host!r} cannot be resolved",
            field="host",
            remedy="pass --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (everyone)",
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                field="port",
                remedy="pass another --port, or stop what is listening there",
            ) from None
