"""``GRPCInferenceService``: the Open Inference Protocol over gRPC, on the REST code path.

Every call but ``ServerLive``, ``ServerReady`` and ``ServerMetadata`` needs the metadata
``authorization: Bearer <key>`` of the deployment's project (any role). Errors are gRPC
statuses whose details carry podium's message and remedy: a missing or unknown key is
``UNAUTHENTICATED``, a role that may not predict or a scoped key naming another
deployment (``predict:DEPLOYMENT``) ``PERMISSION_DENIED``, a key over its rate limit or
its project over its quota ``RESOURCE_EXHAUSTED`` with trailing metadata ``retry-after``
(seconds; the same buckets as HTTP, shared through Redis when configured), an unknown
deployment (or another project's) ``NOT_FOUND``, bad tensors ``INVALID_ARGUMENT``; only a
bug is ``INTERNAL``. Tensors are decoded and predicted by :mod:`podium.serving.http.oip`,
as for REST, so both protocols answer the same; answers travel as
``raw_output_contents``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any, NoReturn

import grpc

from podium import __version__
from podium.access.keys import KeyService
from podium.access.roles import Principal, Role
from podium.access.scopes import check_prediction
from podium.errors import InvalidInputError, PodiumError, RateLimitedError
from podium.serving.grpc import grpc_predict_v2_pb2 as pb
from podium.serving.http.oip import (
    EXTENSIONS,
    InferRequest,
    RequestedOutput,
    Tensor,
    checked_datatype,
    checked_shape,
    infer,
    metadata,
    version_state,
)
from podium.serving.http.oip_raw import decode_raw, encode_raw
from podium.serving.requests.runtime import ServingRuntime

__all__ = ["STATUS_OF", "InferenceService"]

log = logging.getLogger("podium.serving.grpc")

STATUS_OF = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}
"""The gRPC status of a podium error's HTTP status (anything else is ``INTERNAL``)."""

# Which typed field of InferTensorContents holds a datatype's values.
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}

_REMEMBERED = 10_000  # keys remembered at most (a bound, not a cache policy)

RuntimeFor = Callable[[Principal], ServingRuntime]


class InferenceService:
    """The servicer of one server: its keys, and the runtime serving a caller's project.

    A key accepted in the last ``remember_seconds`` is not checked again (as
    ``podium serve``'s prediction front does), so a revoked key is refused at most that
    much later.
    """

    def __init__(
        self,
        keys: KeyService,
        runtime_for: RuntimeFor,
        *,
        ready: Callable[[], bool] = lambda: True,
        remember_seconds: float = 1.0,
    ) -> None:
        self._keys = keys
        self._runtime_for = runtime_for
        self._ready = ready
        self._runtimes: dict[str, ServingRuntime] = {}
        self._remember = remember_seconds
        self._accepted: dict[str, tuple[float, Principal]] = {}

    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ServerLiveResponse:
        """Whether the server runs."""
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ServerReadyResponse:
        """Whether the server takes requests (false while it warms deployments up)."""
        return pb.ServerReadyResponse(ready=self._ready())

    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ServerMetadataResponse:
        """The server's name, version and protocol extensions."""
        return pb.ServerMetadataResponse(name="podium", version=__version__, extensions=EXTENSIONS)

    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ModelReadyResponse:
        """Ready when the deployment is loaded (and serves ``version``, when named)."""
        try:
            runtime = await self._runtime(context, request.name)
            state = await runtime.astate(request.name)
            version_state(state, request.version or None)
        except PodiumError as exc:
            await _abort(context, exc)
        return pb.ModelReadyResponse(ready=True)

    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ModelMetadataResponse:
        """Name, versions, and the input and output tensors of a deployment."""
        try:
            runtime = await self._runtime(context, request.name)
            state = await runtime.astate(request.name)
            served = version_state(state, request.version or None)
        except PodiumError as exc:
            await _abort(context, exc)
        found = metadata(request.name, sorted(state.paths), state.paths[served].model.signature)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=found["name"],
            versions=found["versions"],
            platform=found["platform"],
            inputs=[tensor(**spec) for spec in found["inputs"]],
            outputs=[tensor(**spec) for spec in found["outputs"]],
        )

    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ModelInferResponse:
        """Predict, exactly as ``POST /v2/models/{name}/infer`` does."""
        try:
            runtime = await self._runtime(context, request.model_name)
            result = await infer(
                runtime,
                request.model_name,
                request_of(request),
                version=request.model_version or None,
            )
        except PodiumError as exc:
            await _abort(context, exc)
        return pb.ModelInferResponse(
            model_name=result.model_name,
            model_version=result.model_version,
            id=result.id or "",
            outputs=[
                pb.ModelInferResponse.InferOutputTensor(
                    name=t.name, datatype=t.datatype, shape=t.shape
                )
                for t in result.outputs
            ],
            raw_output_contents=[encode_raw(t.datatype, t.values) for t in result.outputs],
        )

    async def _runtime(
        self, context: grpc.aio.ServicerContext[Any, Any], deployment: str
    ) -> ServingRuntime:
        """The caller's project's runtime, once its key is verified, admitted by its rate
        limit and its project's quota (as over HTTP), and allowed by its scopes to use
        ``deployment`` (a ``predict:`` scope names it)."""
        authorization = ""
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                authorization = value
        scheme, _, secret = authorization.partition(" ")
        given = secret.strip() if scheme.lower() == "bearer" else None
        loop = asyncio.get_running_loop()
        remembered = self._accepted.get(given or "")
        if remembered is not None and remembered[0] > time.monotonic():
            principal = remembered[1]
        else:
            # KeyService caches a verified key too, but reaching it costs a thread hop
            # (a new key costs a database read).
            principal = await loop.run_in_executor(None, self._keys.authenticate, given)
            if given and len(self._accepted) < _REMEMBERED:
                self._accepted[given] = (time.monotonic() + self._remember, principal)
        principal.require(Role.READER, action="predicting")
        check_prediction(principal.scopes, deployment)
        self._keys.admit(principal)  # in memory, or one Redis call for shared limits
        found = self._runtimes.get(principal.project)
        if found is None:
            found = await loop.run_in_executor(None, self._runtime_for, principal)
            self._runtimes[principal.project] = found
        return found


def request_of(message: pb.ModelInferRequest) -> InferRequest:
    """The :class:`InferRequest` a gRPC ``ModelInferRequest`` carries."""
    if not message.inputs:
        raise InvalidInputError(
            "'inputs' is empty", field="inputs", remedy="send one tensor per feature"
        )
    raw = message.raw_input_contents
    if raw and len(raw) != len(message.inputs):
        raise InvalidInputError(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs",
            field="raw_input_contents",
            remedy="send raw bytes for every input, in input order, or for none",
        )
    inputs = []
    for i, tensor in enumerate(message.inputs):
        name = tensor.name or f"inputs[{i}]"
        shape = checked_shape(name, list(tensor.shape))
        datatype = checked_datatype(name, tensor.datatype)
        if raw:
            values = decode_raw(name, datatype, shape, raw[i])
        else:
            values = _contents(name, datatype, shape, tensor.contents)
        inputs.append(Tensor(name, datatype, shape, values))
    outputs = [RequestedOutput(o.name) for o in message.outputs] or None
    return InferRequest(inputs=inputs, id=message.id or None, outputs=outputs)


def _contents(name: str, datatype: str, shape: list[int], contents: Any) -> list[Any]:
    holder = _CONTENTS.get(datatype)
    if holder is None:
        raise InvalidInputError(
            f"tensor {name!r}: {datatype} values travel only in raw_input_contents",
            field=name,
            remedy="send this tensor's bytes in raw_input_contents",
        )
    values = list(getattr(contents, holder))
    if len(values) != math.prod(shape):
        raise InvalidInputError(
            f"tensor {name!r}: contents.{holder} must hold {math.prod(shape)} values for shape "
            f"{shape}; got {len(values)}",
            field=name,
            remedy="send one value per element, or the bytes in raw_input_contents",
        )
    if datatype == "BYTES":
        try:
            return [value.decode() for value in values]
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"tensor {name!r}: BYTES elements must be UTF-8 text",
                field=name,
                remedy="send text features as UTF-8",
            ) from None
    return values


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: PodiumError) -> NoReturn:
    code = STATUS_OF.get(error.status, grpc.StatusCode.INTERNAL)
    if code == grpc.StatusCode.INTERNAL:
        log.error("gRPC call failed: %s", error)
    details = f"{error.message} ({error.remedy})" if error.remedy else error.message
    if isinstance(error, RateLimitedError):  # HTTP's Retry-After, as trailing metadata
        await context.abort(
            code, details, trailing_metadata=(("retry-after", str(error.retry_after)),)
        )
    await context.abort(code, details)
    raise AssertionError("unreachable: abort raises")  # pragma: no cover
