"""The Open Inference Protocol over gRPC: ``GRPCInferenceService`` on ``--grpc-port``.

:func:`with_grpc` is the one door: it wraps a server's ASGI app so that the gRPC server
runs beside it, on its event loop (see :mod:`podium.serving.grpc.server`). ``grpcio``
and ``protobuf`` are the ``grpc`` extra, imported only here, when a port is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.access.keys import KeyService
from podium.access.roles import Principal
from podium.errors import MissingDependencyError
from podium.serving.requests.runtime import ServingRuntime

__all__ = ["with_grpc"]


def with_grpc(
    app: Any,
    *,
    keys: KeyService,
    runtime_for: Callable[[Principal], ServingRuntime],
    host: str,
    port: int,
    max_message_bytes: int,
    ready: Callable[[], bool] = lambda: True,
    tls: tuple[bytes, bytes] | None = None,
) -> Any:
    """``app`` (ASGI) that also serves OIP gRPC on ``host:port`` while it runs.

    ``tls`` (a PEM private key and certificate chain) makes the port TLS-only.

    ``runtime_for`` is the runtime serving a caller's project (as for REST); ``ready``
    answers ``ServerReady``. Raises MissingDependencyError naming the ``grpc`` extra when
    ``grpcio`` is not installed.
    """
    try:  # the grpc extra: imported only when a port is asked for
        from podium.serving.grpc.server import GrpcServer, WithGrpc
        from podium.serving.grpc.service import InferenceService
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "grpcio", extra="grpc") from None
    service = InferenceService(keys, runtime_for, ready=ready)
    server = GrpcServer(service, host=host, port=port, max_message_bytes=max_message_bytes, tls=tls)
    return WithGrpc(app, server)
