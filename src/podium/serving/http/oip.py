"""The Open Inference Protocol (KServe v2) requests, translated to and from podium rows.

One path for REST (JSON or binary tensors) and gRPC, so both answer the same: a request
becomes an :class:`InferRequest` of :class:`Tensor` objects, :func:`infer` turns them into
rows, predicts through the serving runtime (the same path as ``/v1/predictions``) and
gives back output tensors.

An ``infer`` request carries either one tensor per feature (``name`` is the feature,
``shape`` ``[N]`` or ``[N, 1]``) or one 2-D tensor ``[N, F]`` whose columns are the
model's inputs in signature order. The answer holds ``predict`` (``[N]``), and for
classifiers ``probability`` (``[N]``) and ``probabilities`` (``[N, C]``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podium import __version__
from podium.errors import InvalidInputError, NotFoundError
from podium.registry.signature import Signature
from podium.serving.http.oip_raw import DATATYPES, decode_raw, unknown_datatype
from podium.serving.requests.runtime import ServingRuntime
from podium.serving.requests.state import DeploymentState

__all__ = [
    "EXTENSIONS",
    "OUTPUTS",
    "InferRequest",
    "InferResult",
    "RequestedOutput",
    "Tensor",
    "infer",
    "metadata",
    "request_from_json",
    "rows_from_tensors",
    "server_metadata",
    "version_state",
]

EXTENSIONS = ["binary_tensor_data"]
"""The OIP extensions podium implements (``GET /v2`` lists them)."""

OUTPUTS = ("predict", "probability", "probabilities")
"""Every output tensor a deployment may answer (``probability*`` for classifiers only)."""

_REMEDY = "see https://github.com/kserve/open-inference-protocol"
_METADATA_TYPES = {"int64": "INT64", "float64": "FP64", "bool": "BOOL", "string": "BYTES"}


@dataclass(frozen=True)
class Tensor:
    """One tensor: its name, datatype, shape and flat row-major values."""

    name: str
    datatype: str
    shape: list[int]
    values: list[Any]


@dataclass(frozen=True)
class RequestedOutput:
    """An output the caller asked for, and whether it wants it as raw bytes."""

    name: str
    binary: bool = False


@dataclass(frozen=True)
class InferRequest:
    """A decoded ``infer`` request; ``outputs`` ``None`` means every output."""

    inputs: list[Tensor]
    id: str | None = None
    outputs: list[RequestedOutput] | None = None
    binary_output: bool = False


@dataclass(frozen=True)
class InferResult:
    """The answer: the version that answered and the output tensors."""

    model_name: str
    model_version: str
    outputs: list[Tensor]
    id: str | None = None
    binary: set[str] = field(default_factory=set)
    """Names of the outputs the caller wants as raw bytes."""


def bad(field: str, message: str) -> InvalidInputError:
    """A 400 naming ``field`` with a pointer to the protocol."""
    return InvalidInputError(message, field=field, remedy=_REMEDY)


def checked_shape(name: str, shape: object) -> list[int]:
    """``shape`` when it is ``[N]`` or ``[N, F]`` of non-negative integers."""
    if (
        not isinstance(shape, Sequence)
        or isinstance(shape, str | bytes)
        or not 1 <= len(shape) <= 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise bad(
            name,
            f"tensor {name!r}: 'shape' must be [N] or [N, F] of non-negative "
            f"integers; got {shape!r}",
        )
    return list(shape)


def checked_datatype(name: str, datatype: object) -> str:
    """``datatype`` when podium reads it."""
    if datatype not in DATATYPES:
        raise unknown_datatype(name, datatype)
    assert isinstance(datatype, str)
    return datatype


def request_from_json(body: object, binary: bytes = b"") -> InferRequest:
    """The request a v2 JSON body describes; ``binary`` holds the raw tensors that follow
    the JSON header (inputs with ``parameters.binary_data_size``), in input order."""
    if not isinstance(body, Mapping) or not isinstance(body.get("inputs"), list):
        raise InvalidInputError(
            "a v2 infer body is a JSON object with an 'inputs' array of tensors",
            field="inputs",
            remedy='send {"inputs": [{"name": ..., "shape": [N], "datatype": ..., "data": []}]}',
        )
    if not body["inputs"]:
        raise bad("inputs", "'inputs' is empty")
    offset = 0
    inputs: list[Tensor] = []
    for i, tensor in enumerate(body["inputs"]):
        where = f"inputs[{i}]"
        if not isinstance(tensor, Mapping):
            raise bad(where, f"{where} must be a tensor object")
        name = tensor.get("name")
        if not isinstance(name, str) or not name:
            raise bad(f"{where}.name", "every tensor needs a 'name'")
        shape = checked_shape(name, tensor.get("shape"))
        datatype = checked_datatype(name, tensor.get("datatype"))
        size = _parameters(tensor, name).get("binary_data_size")
        if size is None:
            inputs.append(
                Tensor(
                    name, datatype, shape, _json_values(name, datatype, shape, tensor.get("data"))
                )
            )
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise bad(name, f"tensor {name!r}: 'binary_data_size' must be a byte count")
        if offset + size > len(binary):
            raise bad(
                name,
                f"tensor {name!r}: binary_data_size {size} runs past the "
                f"{len(binary)} bytes after the JSON header",
            )
        values = decode_raw(name, datatype, shape, binary[offset : offset + size])
        offset += size
        inputs.append(Tensor(name, datatype, shape, values))
    if offset != len(binary):
        raise bad(
            "body",
            f"{len(binary) - offset} bytes after the JSON header belong to no "
            "input; check 'binary_data_size' and Inference-Header-Content-Length",
        )
    parameters = _parameters(body, "parameters")
    request_id = body.get("id")
    return InferRequest(
        inputs=inputs,
        id=request_id if isinstance(request_id, str) else None,
        outputs=_requested_outputs(body.get("outputs")),
        binary_output=parameters.get("binary_data_output") is True,
    )


def _parameters(holder: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    parameters = holder.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise bad(where, f"{where}: 'parameters' must be an object")
    return parameters


def _json_values(name: str, datatype: str, shape: list[int], data: object) -> list[Any]:
    flat = _flatten(data)
    if flat is None or len(flat) != math.prod(shape):
        raise bad(
            name, f"tensor {name!r}: 'data' must hold {math.prod(shape)} values for shape {shape}"
        )
    if datatype.startswith(("INT", "UINT")):
        flat = [int(v) if isinstance(v, float) and v.is_integer() else v for v in flat]
    return flat


def _flatten(data: object) -> list[Any] | None:
    if not isinstance(data, list):
        return None
    flat: list[Any] = []
    for item in data:
        if isinstance(item, list):
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def _requested_outputs(outputs: object) -> list[RequestedOutput] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise bad("outputs", "'outputs' must be an array of {\"name\": ...} objects")
    requested = []
    for i, output in enumerate(outputs):
        if not isinstance(output, Mapping) or not isinstance(output.get("name"), str):
            raise bad(f"outputs[{i}]", f"outputs[{i}] must be an object with a 'name'")
        binary = _parameters(output, f"outputs[{i}]").get("binary_data") is True
        requested.append(RequestedOutput(output["name"], binary))
    return requested


def rows_from_tensors(tensors: Sequence[Tensor], names: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of feature dicts the input tensors describe."""
    if len(tensors) == 1 and len(tensors[0].shape) == 2 and tensors[0].name not in names:
        count, width = tensors[0].shape
        if width != len(names):
            raise bad(
                "inputs[0].shape",
                f"a [N, F] tensor needs F = {len(names)} columns ({', '.join(names)}); got {width}",
            )
        data = tensors[0].values
        return [
            dict(zip(names, data[r * width : (r + 1) * width], strict=True)) for r in range(count)
        ]
    counts = {tensor.shape[0] for tensor in tensors}
    if len(counts) != 1:
        raise bad("inputs", "every input tensor must have the same number of rows")
    (count,) = counts
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for tensor in tensors:
        if len(tensor.shape) == 2 and tensor.shape[1] != 1:
            raise bad(
                tensor.name, f"the tensor of one feature must be [N] or [N, 1]; got {tensor.shape}"
            )
        for row, value in zip(rows, tensor.values, strict=True):
            row[tensor.name] = value
    return rows


def version_state(state: DeploymentState, version: str | None) -> str:
    """The version that answers a request for ``version`` (``None``: the deployment's
    routing). A pinned version must be the one the deployment serves alone."""
    if version is None or version == "":
        return state.policy.stable
    if version not in state.paths:
        raise NotFoundError(
            f"deployment {state.name!r} serves no version {version!r} "
            f"(it serves {', '.join(sorted(state.paths))})",
            remedy=f"use one of its versions, or /v2/models/{state.name}/infer",
        )
    return version


async def infer(
    runtime: ServingRuntime,
    name: str,
    request: InferRequest,
    *,
    version: str | None = None,
    request_id: str | None = None,
) -> InferResult:
    """Predict ``request`` with deployment ``name``, as ``/v1/predictions`` would."""
    state = await runtime.astate(name)
    pinned = version_state(state, version)
    if version and (state.policy.canary is not None or pinned != state.policy.stable):
        raise InvalidInputError(
            f"deployment {name!r} splits traffic between versions; a request cannot pick one",
            field="version",
            remedy=f"call /v2/models/{name}/infer (the deployment's routing decides), or "
            "deploy the version you want on its own",
        )
    unknown = [o.name for o in request.outputs or () if o.name not in OUTPUTS]
    if unknown:
        raise _no_output(unknown, OUTPUTS)
    rows = rows_from_tensors(request.inputs, state.paths[state.policy.stable].validator.names)
    rid = request.id or request_id
    if len(rows) == 1:  # one row takes the single-row path: no task per row to gather
        answers = [await runtime.predict({"model_id": name, "features": rows[0]}, request_id=rid)]
    else:
        batch = await runtime.predict({"model_id": name, "instances": rows}, request_id=rid)
        answers = batch["predictions"]
    answered = answers[0]["model_version"] if answers else state.policy.stable
    outputs = output_tensors(answers)
    binary = {t.name for t in outputs} if request.binary_output else set()
    if request.outputs is not None:
        by_name = {t.name: t for t in outputs}
        missing = [o.name for o in request.outputs if o.name not in by_name]
        if missing:
            raise _no_output(missing, list(by_name))
        outputs = [by_name[o.name] for o in request.outputs]
        binary = {o.name for o in request.outputs if o.binary or request.binary_output}
    return InferResult(name, str(answered), outputs, request.id, binary)


def _no_output(names: Sequence[str], known: Sequence[str]) -> InvalidInputError:
    return bad(
        "outputs",
        f"no output named {', '.join(map(repr, names))}; this model has {', '.join(known)}",
    )


def output_tensors(answers: Sequence[Mapping[str, Any]]) -> list[Tensor]:
    """The ``predict``, ``probability`` and ``probabilities`` tensors of the answers."""
    count = len(answers)
    predictions = [a.get("prediction") for a in answers]
    outputs = [Tensor("predict", _datatype_of(predictions), [count], predictions)]
    if answers and answers[0].get("probability") is not None:
        probabilities = [a.get("probability") for a in answers]
        outputs.append(Tensor("probability", "FP64", [count], probabilities))
    classes = answers[0].get("probabilities") if answers else None
    if isinstance(classes, Mapping):
        data = [value for a in answers for value in (a.get("probabilities") or {}).values()]
        outputs.append(Tensor("probabilities", "FP64", [count, len(classes)], data))
    return outputs


def _datatype_of(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def metadata(name: str, versions: Sequence[str], signature: Signature) -> dict[str, Any]:
    """The v2 model metadata: name, versions, and the input and output tensors."""
    return {
        "name": name,
        "versions": list(versions),
        "platform": "podium",
        "inputs": [
            {"name": spec.name, "datatype": _METADATA_TYPES.get(spec.type, "BYTES"), "shape": [-1]}
            for spec in signature.inputs
        ],
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            {"name": "probability", "datatype": "FP64", "shape": [-1]},
        ],
    }


def server_metadata() -> dict[str, Any]:
    """``GET /v2``: the server's name, version and the extensions it implements."""
    return {"name": "podium", "version": __version__, "extensions": list(EXTENSIONS)}
