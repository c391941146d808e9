"""The gRPC server beside the HTTP one, on the same event loop, for ``--grpc-port``.

The serving runtime batches requests on one event loop, so the gRPC server runs on the
loop of the HTTP server: :class:`WithGrpc` wraps the ASGI app and starts the gRPC server
when the app starts (ASGI lifespan) and stops it when the app stops. A port that cannot
be bound fails the start, naming the port. Messages are limited to the HTTP body limit
(a bigger one is ``RESOURCE_EXHAUSTED``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as Protobuf
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.errors import InvalidInputError
from podium.serving.grpc import grpc_predict_v2_pb2 as pb
from podium.serving.grpc.service import InferenceService

__all__ = ["SERVICE", "GrpcServer", "WithGrpc", "handler"]

SERVICE = "inference.GRPCInferenceService"
"""The service's full name: the same as Triton's and KServe's, so their clients call it."""

_REQUESTS: dict[str, type[Protobuf]] = {
    "ServerLive": pb.ServerLiveRequest,
    "ServerReady": pb.ServerReadyRequest,
    "ModelReady": pb.ModelReadyRequest,
    "ServerMetadata": pb.ServerMetadataRequest,
    "ModelMetadata": pb.ModelMetadataRequest,
    "ModelInfer": pb.ModelInferRequest,
}

Call = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Protobuf]]


def handler(service: InferenceService) -> grpc.GenericRpcHandler:
    """The service's methods; each parses its request itself, so a malformed message is
    ``INVALID_ARGUMENT`` naming the message type (grpc's own parsing would say
    ``INTERNAL``)."""

    def method(call: Call, request_type: type[Protobuf]) -> grpc.RpcMethodHandler:
        async def parse_then_call(
            raw: bytes, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Protobuf:
            try:
                request = request_type.FromString(raw)
            except DecodeError:
                name = request_type.DESCRIPTOR.full_name
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"the request is not a valid {name} message (check the client's "
                    "grpc_predict_v2.proto against podium's)",
                )
            return await call(request, context)

        return grpc.unary_unary_rpc_method_handler(
            parse_then_call, response_serializer=lambda answer: answer.SerializeToString()
        )

    return grpc.method_handlers_generic_handler(
        SERVICE, {name: method(getattr(service, name), t) for name, t in _REQUESTS.items()}
    )


class GrpcServer:
    """``GRPCInferenceService`` on ``host:port``; start and stop it on a running loop."""

    def __init__(
        self,
        service: InferenceService,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        tls: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.service = service
        self.tls = tls
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        """Listen; raises InvalidInputError when the port cannot be bound."""
        limit = self.max_message_bytes
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                # Answers are a few tensors per row; leave them room over the request limit.
                ("grpc.max_send_message_length", max(limit * 4, 4 * 1024 * 1024)),
                ("grpc.so_reuseport", 0),
            ]
        )
        server.add_generic_rpc_handlers((handler(self.service),))
        try:
            address = f"{self.host}:{self.port}"
            if self.tls is None:
                bound = server.add_insecure_port(address)
            else:
                credentials = grpc.ssl_server_credentials([self.tls])
                bound = server.add_secure_port(address, credentials)
        except RuntimeError:
            bound = 0
        if bound == 0:
            raise InvalidInputError(
                f"cannot listen for gRPC on {self.host}:{self.port}",
                field="grpc_port",
                remedy="pass another --grpc-port, or stop what is listening there",
            )
        await server.start()
        self._server = server

    async def stop(self, grace: float = 2.0) -> None:
        """Stop listening; calls in flight get ``grace`` seconds to finish."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None


class WithGrpc:
    """An ASGI app that also runs ``grpc`` for as long as the app runs (its lifespan)."""

    def __init__(self, app: ASGIApp, grpc_server: GrpcServer) -> None:
        self.app = app
        self.grpc = grpc_server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def receive_and_stop() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.grpc.stop()
            return message

        async def start_then_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                try:
                    await self.grpc.start()
                except InvalidInputError as exc:
                    await send({"type": "lifespan.startup.failed", "message": exc.message})
                    return
            await send(message)

        await self.app(scope, receive_and_stop, start_then_send)
