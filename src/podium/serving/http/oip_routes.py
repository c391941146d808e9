"""The Open Inference Protocol v2 model routes over REST, JSON or binary tensors.

==================================================  ==================================
``GET  /v2``                                        server metadata (no key)
``GET  /v2/models/{name}[/versions/{v}]``           model metadata
``GET  /v2/models/{name}[/versions/{v}]/ready``     model readiness
``POST /v2/models/{name}[/versions/{v}]/infer``     inference
==================================================  ==================================

The binary tensor data extension: with an ``Inference-Header-Content-Length: N``
header, the first ``N`` bytes of the body are the JSON request and the rest the raw
tensors of the inputs that carry ``parameters.binary_data_size``, in input order. Outputs
asked for with ``parameters.binary_data`` (or every output with the request parameter
``binary_data_output``) come back the same way. Errors on ``/v2`` are ``{"error": ...}``
bodies (beside the problem+json members), as v2 clients read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from podium.errors import InvalidInputError
from podium.serving.http.body import dump_json, parse_json
from podium.serving.http.oip import (
    InferRequest,
    InferResult,
    infer,
    metadata,
    request_from_json,
    server_metadata,
    version_state,
)
from podium.serving.http.oip_raw import encode_raw
from podium.serving.requests.runtime import ServingRuntime

__all__ = [
    "HEADER_LENGTH",
    "PUBLIC_PATHS",
    "RuntimeOf",
    "install_oip",
    "parse_infer_body",
    "render_result",
    "router",
]

HEADER_LENGTH = "inference-header-content-length"
"""The binary extension's header: the byte length of the JSON part of a body."""

PUBLIC_PATHS = frozenset({"/v2"})
"""OIP routes that answer without a key."""

router = APIRouter(tags=["predictions"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(dump_json(body), status_code=status, media_type="application/json")


def parse_infer_body(raw: bytes, header_length: str | None) -> InferRequest:
    """The request of a REST ``infer`` body, JSON or JSON header plus raw tensors."""
    remedy = "send a v2 infer request as application/json"
    if header_length is None:
        return request_from_json(parse_json(raw, remedy=remedy))
    length = header_length.strip()
    if not length.isdigit() or int(length) > len(raw):
        raise InvalidInputError(
            f"Inference-Header-Content-Length must be a byte count of at most the body's "
            f"{len(raw)} bytes; got {header_length!r}",
            field="Inference-Header-Content-Length",
            remedy="set it to the length of the JSON part of the body",
        )
    cut = int(length)
    return request_from_json(parse_json(raw[:cut], remedy=remedy), raw[cut:])


def render_result(result: InferResult) -> Response:
    """The REST answer: JSON, or a JSON header and raw outputs when any is binary."""
    outputs: list[dict[str, Any]] = []
    raw: list[bytes] = []
    for tensor in result.outputs:
        output: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": tensor.shape,
        }
        if tensor.name in result.binary:
            data = encode_raw(tensor.datatype, tensor.values)
            output["parameters"] = {"binary_data_size": len(data)}
            raw.append(data)
        else:
            output["data"] = tensor.values
        outputs.append(output)
    body: dict[str, Any] = {
        "model_name": result.model_name,
        "model_version": result.model_version,
        "outputs": outputs,
    }
    if result.id is not None:
        body["id"] = result.id
    header = dump_json(body)
    if not raw:
        return Response(header, media_type="application/json")
    return Response(
        b"".join([header, *raw]),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )


RuntimeOf = Callable[[Request], Awaitable[ServingRuntime]]
"""The runtime serving a request's caller (checks the caller's key)."""


def install_oip(app: FastAPI, runtime_of: RuntimeOf) -> None:
    """Add the v2 model routes to ``app``, served by ``runtime_of(request)``."""
    app.state.oip_runtime_of = runtime_of
    app.include_router(router)
    # Inference also as plain Starlette routes, matched first: FastAPI's dependency and
    # response machinery costs more than the rest of a prediction (as /v1/predictions).
    for path in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        app.router.routes.insert(0, Route(path, _plain_infer, methods=["POST"]))


async def _plain_infer(request: Request) -> Response:
    params = request.path_params
    return await _infer(params["name"], params.get("version"), request)


async def _runtime(request: Request) -> ServingRuntime:
    runtime_of: RuntimeOf = request.app.state.oip_runtime_of
    return await runtime_of(request)


@router.get("/v2", summary="OIP server metadata")
async def server(request: Request) -> Response:
    """The server's name, version and the protocol extensions it implements."""
    return _json(server_metadata())


@router.get("/v2/models/{name}", summary="OIP model metadata")
async def model_metadata(name: str, request: Request) -> Response:
    """Name, versions, and the input and output tensors of deployment ``name``."""
    return await _metadata(name, None, request)


@router.get("/v2/models/{name}/versions/{version}", summary="OIP model version metadata")
async def version_metadata(name: str, version: str, request: Request) -> Response:
    """The metadata of one version of deployment ``name``; 404 when it serves no such one."""
    return await _metadata(name, version, request)


async def _metadata(name: str, version: str | None, request: Request) -> Response:
    state = await (await _runtime(request)).astate(name)
    served = version_state(state, version)
    return _json(metadata(name, sorted(state.paths), state.paths[served].model.signature))


@router.get("/v2/models/{name}/ready", summary="OIP model readiness")
async def model_ready(name: str, request: Request) -> Response:
    """200 when deployment ``name`` is loaded and answers."""
    await (await _runtime(request)).astate(name)
    return _json({"name": name, "ready": True})


@router.get("/v2/models/{name}/versions/{version}/ready", summary="OIP model version readiness")
async def version_ready(name: str, version: str, request: Request) -> Response:
    """200 when deployment ``name`` serves ``version``; 404 when it does not."""
    state = await (await _runtime(request)).astate(name)
    version_state(state, version)
    return _json({"name": name, "version": version, "ready": True})


@router.post("/v2/models/{name}/infer", summary="OIP inference")
async def model_infer(name: str, request: Request) -> Response:
    """Predict with Open Inference Protocol tensors, JSON or binary (Triton, KServe clients)."""
    return await _infer(name, None, request)


@router.post("/v2/models/{name}/versions/{version}/infer", summary="OIP version inference")
async def version_infer(name: str, version: str, request: Request) -> Response:
    """Predict with ``version`` of deployment ``name``, when it serves that version alone."""
    return await _infer(name, version, request)


async def _infer(name: str, version: str | None, request: Request) -> Response:
    runtime = await _runtime(request)
    try:
        raw = await request.body()
    except ClientDisconnect:
        # The client left mid-body (a load generator stopping, a timeout): nobody reads
        # this answer, and it is no server error.
        return Response(status_code=499)
    parsed = parse_infer_body(raw, request.headers.get(HEADER_LENGTH))
    result = await infer(
        runtime,
        name,
        parsed,
        version=version,
        request_id=request.scope.get("state", {}).get("request_id"),
    )
    return render_result(result)
