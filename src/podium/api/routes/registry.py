"""``/v1/models`` and ``/v1/transition-requests``: the model registry over HTTP.

A client registers a model by uploading the bytes its flavor wrote (the SDK serializes
and infers the signature locally), and loads one by downloading the verified bytes of an
exact version. Model names follow :data:`~podium.registry.refs.MODEL_NAME_PATTERN`; a bad
one is a 400 naming the pattern. Refs in paths are ``name/3``, ``name@production``,
``name@champion`` or ``name``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from zipfile import BadZipFile

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from podium.api.bodies import RequestBody
from podium.api.deps import Admin, Reader, Writer, installation, platform_of, set_audit_target
from podium.data.catalog.models import MAX_DEPTH
from podium.errors import InvalidInputError, MissingDependencyError, PodiumError
from podium.registry.flavors import PodiumModel, get_flavor
from podium.registry.refs import check_model_name, check_version
from podium.registry.signature import Signature, check_signature
from podium.registry.types import ModelLineage, ModelVersion, RegisteredModel, TransitionRequest

__all__ = ["ARTIFACT_HEADERS", "router"]

router = APIRouter(prefix="/v1", tags=["registry"])

ARTIFACT_HEADERS = {
    "flavor": "x-podium-flavor",
    "ref": "x-podium-model-version",
    "sha256": "x-podium-sha256",
}
"""The headers of an artifact download: its flavor, exact ``name/version`` and sha256."""

# Flavors the server deserializes from an upload: skops loads only trusted scikit-learn
# types, ONNX is a graph, XGBoost JSON and LightGBM text are data. A pyfunc upload is a
# pickle, which would run the uploader's code on the server before it is even
# registered, so it is refused here.
# A torch upload is a TorchScript archive: code TorchScript compiles, tensors it unpickles.
_UPLOADABLE = ("sklearn", "onnx", "xgboost", "lightgbm", "torch")


class AliasIn(RequestBody):
    version: int = Field(strict=True)


class TransitionIn(RequestBody):
    version: int = Field(strict=True)
    stage: str
    comment: str = ""


class DecisionIn(RequestBody):
    comment: str = ""


def _json_param(text: str | None, field: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInputError(
            f"the '{field}' parameter must be JSON; got {text[:80]!r} instead",
            field=field,
            remedy=f"send '{field}' as a JSON document (URL-encoded)",
        ) from None


def _decoded(data: bytes, flavor: str) -> Any:
    """The model object of an upload, loaded only by a flavor that runs no uploaded code."""
    if flavor not in _UPLOADABLE:
        raise InvalidInputError(
            f"the flavor of an uploaded model must be one of {', '.join(_UPLOADABLE)}; "
            f"got {flavor!r} instead",
            field="flavor",
            remedy="register pyfunc models embedded (podium.connect() without a URL); the "
            "server does not unpickle uploads",
        )
    if not data:
        raise InvalidInputError(
            "the request body is empty; it must hold the model file",
            field="body",
            remedy="send the bytes the model's flavor saved as the body",
        )
    try:
        if flavor == "onnx":
            return _onnx_graph(data)
        return PodiumModel.from_bytes(data, flavor=flavor, signature=Signature(inputs=[])).model
    except PodiumError:
        raise
    except (BadZipFile, ValueError, KeyError, RuntimeError, OSError) as exc:
        # The flavors raise what their libraries raise on a corrupt file; an upload is input.
        raise InvalidInputError(
            f"the request body is not a readable {flavor} model file ({type(exc).__name__})",
            field="body",
            remedy=f"send the bytes the {flavor} flavor saved, unchanged",
        ) from exc


def _onnx_graph(data: bytes) -> Any:
    """An ``onnx.ModelProto`` of ``data`` (the ``onnx`` extra), refusing what is not one."""
    get_flavor("onnx").load(data)  # onnxruntime refuses a malformed graph here
    try:
        import onnx  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise MissingDependencyError("onnx", extra="onnx") from exc
    return onnx.load_model_from_string(data)


# -- models and versions ---------------------------------------------------------------


@router.get("/models")
def list_models(request: Request, who: Reader) -> list[RegisteredModel]:
    return platform_of(request, who).registry.list_models()


@router.get("/models/{name}")
def get_model(name: str, request: Request, who: Reader) -> RegisteredModel:
    return platform_of(request, who).registry.get_model(name)


@router.get("/models/{name}/versions")
def list_versions(name: str, request: Request, who: Reader) -> list[ModelVersion]:
    return platform_of(request, who).registry.list_versions(name)


@router.post(
    "/models/{name}/versions",
    status_code=201,
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {}}}},
)
async def register_version(
    name: str,
    request: Request,
    who: Writer,
    flavor: str,
    signature: str,
    run_id: str | None = None,
    description: str = "",
    tags: str | None = None,
    derived_from: str | None = None,
) -> ModelVersion:
    """Register the body (the model file its flavor saved) as the next version of ``name``.

    ``signature`` and ``tags`` are JSON documents; the SDK infers the signature from the
    input example before it uploads.
    """
    check_model_name(name)
    parsed = check_signature(_json_param(signature, "signature"))
    tag_map = _json_param(tags, "tags")
    body = await request.body()
    model = await run_in_threadpool(_decoded, body, flavor)
    registry = (await run_in_threadpool(platform_of, request, who)).registry
    version = await run_in_threadpool(
        lambda: registry.register(
            name,
            model,
            run_id=run_id,
            signature=parsed,
            description=description,
            tags=tag_map,
            derived_from=derived_from,
        )
    )
    set_audit_target(request, f"/v1/models/{version.name}/versions/{version.version}")
    return version


@router.get("/models/{name}/versions/{version}")
def get_version(name: str, version: int, request: Request, who: Reader) -> ModelVersion:
    check_model_name(name)
    return platform_of(request, who).registry.get_version(f"{name}/{check_version(version)}")


@router.put("/models/{name}/aliases/{alias}")
def set_alias(name: str, alias: str, body: AliasIn, request: Request, who: Writer) -> ModelVersion:
    return platform_of(request, who).registry.set_alias(name, alias, body.version)


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, request: Request, who: Writer) -> Response:
    platform_of(request, who).registry.delete_alias(name, alias)
    return Response(status_code=204)


@router.put("/models/{name}/policy")
def set_policy(name: str, body: dict[str, Any], request: Request, who: Admin) -> RegisteredModel:
    return platform_of(request, who).registry.set_policy(name, body)


@router.get("/models/{ref:path}/version")
def resolve_version(ref: str, request: Request, who: Reader) -> ModelVersion:
    """The version ``ref`` names (``name@production`` → its exact version)."""
    return platform_of(request, who).registry.get_version(ref)


@router.get(
    "/models/{ref:path}/artifact",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(ref: str, request: Request, who: Reader) -> Response:
    """The model file of ``ref``, checked against its sha256 before it is sent."""
    version = platform_of(request, who).registry.get_version(ref)
    store = installation(request).storage.child(f"projects/{who.project}")
    data = store.get(version.artifact_digest)  # verifies the sha256
    headers = {
        ARTIFACT_HEADERS["flavor"]: version.flavor,
        ARTIFACT_HEADERS["ref"]: version.ref,
        ARTIFACT_HEADERS["sha256"]: version.artifact_digest,
    }
    return Response(data, media_type="application/octet-stream", headers=headers)


@router.get("/models/{ref:path}/lineage")
def lineage(
    ref: str,
    request: Request,
    who: Reader,
    depth: Annotated[int, Query(ge=0, le=MAX_DEPTH)] = MAX_DEPTH,
) -> ModelLineage:
    """The lineage graph around the version ``ref`` names: what it was trained from, down
    to the raw tables, and what serves it, ``depth`` edges each way."""
    return platform_of(request, who).registry.lineage(ref, depth=depth)


# -- stage transitions -------------------------------------------------------------------


@router.post("/models/{name}/transitions", status_code=201)
def request_transition(
    name: str, body: TransitionIn, request: Request, who: Writer
) -> TransitionRequest:
    registry = platform_of(request, who).registry
    made = registry.request_transition(name, body.version, body.stage, comment=body.comment)
    set_audit_target(request, f"/v1/transition-requests/{made.id}")
    return made


@router.get("/transition-requests")
def list_requests(
    request: Request,
    who: Reader,
    name: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
) -> list[TransitionRequest]:
    return platform_of(request, who).registry.list_requests(name, status=status)


@router.get("/transition-requests/{request_id}")
def get_request(request_id: str, request: Request, who: Reader) -> TransitionRequest:
    return platform_of(request, who).registry.get_request(request_id)


@router.post("/transition-requests/{request_id}/approve")
def approve(
    request_id: str, request: Request, who: Writer, body: DecisionIn | None = None
) -> TransitionRequest:
    comment = body.comment if body else ""
    return platform_of(request, who).registry.approve(request_id, comment=comment)


@router.post("/transition-requests/{request_id}/reject")
def reject(
    request_id: str, request: Request, who: Writer, body: DecisionIn | None = None
) -> TransitionRequest:
    comment = body.comment if body else ""
    return platform_of(request, who).registry.reject(request_id, comment=comment)
