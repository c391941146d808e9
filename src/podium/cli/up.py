"""``podium up``: serve the REST API of the installation under PODIUM_HOME."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Annotated

import typer

from podium.access.tls import ServerTls, server_tls
from podium.api.security_headers import default_allowed_hosts, parse_allowed_hosts
from podium.api.server import serve
from podium.cli.context import cli_state
from podium.errors import InvalidInputError
from podium.platform import Installation
from podium.ui.login_links import issue_login_link, login_url

__all__ = [
    "AllowedHostsOption",
    "GrpcPortOption",
    "HostOption",
    "PortOption",
    "TlsCertOption",
    "TlsKeyOption",
    "TlsOption",
    "check_port_free",
    "serve_until_stopped",
    "up",
]

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Interface to listen on (default PODIUM_HOST, 127.0.0.1)."),
]
PortOption = Annotated[
    int | None,
    typer.Option("--port", min=1, max=65535, help="Port to listen on (default PODIUM_PORT, 8000)."),
]

GrpcPortOption = Annotated[
    int | None,
    typer.Option(
        "--grpc-port",
        min=1,
        max=65535,
        help="Also serve the Open Inference Protocol over gRPC on this port.",
    ),
]


AllowedHostsOption = Annotated[
    str | None,
    typer.Option(
        "--allowed-hosts",
        help="Comma-separated Host names to answer (.domain for a domain, * for any); "
        "default PODIUM_ALLOWED_HOSTS, else the loopback names (and the --host address).",
    ),
]


TlsOption = Annotated[
    str | None,
    typer.Option(
        "--tls",
        metavar="auto|off",
        help="auto: serve HTTPS with a certificate of a local CA made once under "
        "$PODIUM_HOME/tls (the SDK and CLI of this home trust it). Default off.",
    ),
]
TlsCertOption = Annotated[
    Path | None,
    typer.Option("--tls-cert", help="Serve HTTPS with this PEM certificate chain."),
]
TlsKeyOption = Annotated[
    Path | None,
    typer.Option("--tls-key", help="The PEM private key of --tls-cert."),
]


def up(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    grpc_port: GrpcPortOption = None,
    allowed_hosts: AllowedHostsOption = None,
    tls: TlsOption = None,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
) -> None:
    """Serve the REST API and the web UI (at /ui/) until Ctrl-C.

    On first start it creates an admin key of the default project, prints it once and
    saves it to $PODIUM_HOME/credentials (readable by you only). Every start prints a
    one-time link that logs a browser into the web UI (valid for an hour, once).
    With --tls auto (or --tls-cert/--tls-key) it serves HTTPS only.
    """
    state = cli_state(ctx)
    host = host or state.settings.host
    port = port or state.settings.port
    secured = server_tls(state.settings.home, mode=tls, cert=tls_cert, key=tls_key, host=host)
    check_port_free(host, port)
    if grpc_port is not None:
        check_port_free(host, grpc_port, option="--grpc-port")
    if allowed_hosts is not None:  # the server's Host allow-list reads the settings
        state.settings.allowed_hosts = ",".join(parse_allowed_hosts(allowed_hosts))
    serve_until_stopped(
        state.installation(), host=host, port=port, grpc_port=grpc_port, tls=secured
    )


def serve_until_stopped(
    installation: Installation,
    *,
    host: str,
    port: int,
    grpc_port: int | None = None,
    tls: ServerTls | None = None,
) -> None:
    """Serve the API until Ctrl-C, which stops it gracefully (exit code 0); print the web
    UI's one-time login link first.

    Without PODIUM_ALLOWED_HOSTS, the server answers the Host names that suit ``host``
    (:func:`~podium.api.security_headers.default_allowed_hosts`).
    """
    settings = installation.settings
    if settings.allowed_hosts is None:
        settings.allowed_hosts = ",".join(default_allowed_hosts(host))
    else:
        parse_allowed_hosts(settings.allowed_hosts)  # a bad value is an error before serving
    token = issue_login_link(settings.home, project=settings.project)
    # A server listening on every interface is still reachable on this machine's loopback.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    scheme = "https" if tls else "http"
    link = login_url(f"{scheme}://{shown}:{port}", token)
    typer.echo(f"Web UI: {link}  (one-time login link, valid for an hour)")
    # uvicorn shuts down on SIGINT, then raises it again for the caller: that is the end.
    with contextlib.suppress(KeyboardInterrupt):
        serve(
            installation,
            host=host,
            port=port,
            announce=typer.echo,
            grpc_port=grpc_port,
            tls=tls,
        )
    typer.echo("stopped")


def check_port_free(host: str, port: int, *, option: str = "--port") -> None:
    """Raise an InvalidInputError naming the fix (another ``option``) when ``host:port``
    cannot be listened on."""
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
                field=option.removeprefix("--").replace("-", "_"),
                remedy=f"pass another {option}, or stop what is listening there",
            ) from None
