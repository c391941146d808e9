"""The Open Inference Protocol (KServe v2) bodies, translated to and from podium rows.

A v2 ``infer`` request carries input tensors. podium accepts either one tensor per
feature (``name`` is the feature, ``shape`` ``[N]`` or ``[N, 1]``) or one 2-D tensor
``[N, F]`` whose columns are the model's inputs in signature order. The response holds
``predict`` (``[N]``), ``probability`` (``[N]``, classifiers) and ``probabilities``
(``[N, C]``, classifiers) output tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from podium.errors import InvalidInputError
from podium.registry.signature import Signature

__all__ = ["infer_response", "metadata", "rows_from_infer"]

_DATATYPES = {"int64": "INT64", "float64": "FP64", "bool": "BOOL", "string": "BYTES"}
_ACCEPTED = frozenset(
    {"BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
    | {"FP16", "FP32", "FP64", "BYTES"}
)


def rows_from_infer(body: object, names: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of feature dicts a v2 ``infer`` body describes."""
    if not isinstance(body, Mapping) or not isinstance(body.get("inputs"), list):
        raise InvalidInputError(
            "a v2 infer body is a JSON object with an 'inputs' array of tensors",
            field="inputs",
            remedy='send {"inputs": [{"name": ..., "shape": [N], "datatype": ..., "data": []}]}',
        )
    tensors = body["inputs"]
    if not tensors:
        raise _bad("inputs", "'inputs' is empty")
    checked = [_tensor(t, f"inputs[{i}]") for i, t in enumerate(tensors)]
    if len(checked) == 1 and len(checked[0][1]) == 2 and checked[0][0] not in names:
        _, shape, data = checked[0]
        count, width = shape
        if width != len(names):
            raise _bad(
                "inputs[0].shape",
                f"a [N, F] tensor needs F = {len(names)} columns ({', '.join(names)}); got {width}",
            )
        return [
            dict(zip(names, data[r * width : (r + 1) * width], strict=True)) for r in range(count)
        ]
    counts = {shape[0] for _, shape, _ in checked}
    if len(counts) != 1:
        raise _bad("inputs", "every input tensor must have the same number of rows")
    (count,) = counts
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for name, shape, data in checked:
        if len(shape) == 2 and shape[1] != 1:
            raise _bad(name, f"the tensor of one feature must be [N] or [N, 1]; got {shape}")
        for row, value in zip(rows, data, strict=True):
            row[name] = value
    return rows


def _tensor(tensor: object, where: str) -> tuple[str, list[int], list[Any]]:
    if not isinstance(tensor, Mapping):
        raise _bad(where, f"{where} must be a tensor object")
    name, shape, datatype, data = (tensor.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise _bad(f"{where}.name", "every tensor needs a 'name'")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise _bad(name, f"'shape' must be [N] or [N, F] of non-negative integers; got {shape!r}")
    if datatype not in _ACCEPTED:
        raise _bad(name, f"'datatype' must be one of {', '.join(sorted(_ACCEPTED))}")
    flat = _flatten(data)
    if flat is None or len(flat) != math.prod(shape):
        raise _bad(name, f"'data' must hold {math.prod(shape)} values for shape {shape}")
    if datatype.startswith(("INT", "UINT")):
        flat = [int(v) if isinstance(v, float) and v.is_integer() else v for v in flat]
    return name, list(shape), flat


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


def infer_response(
    name: str, version: str, answers: Sequence[Mapping[str, Any]], request_id: str | None
) -> dict[str, Any]:
    """The v2 response body for one answer per row."""
    count = len(answers)
    predictions = [a.get("prediction") for a in answers]
    outputs: list[dict[str, Any]] = [
        {
            "name": "predict",
            "shape": [count],
            "datatype": _datatype_of(predictions),
            "data": predictions,
        }
    ]
    if answers and answers[0].get("probability") is not None:
        probabilities = [a.get("probability") for a in answers]
        outputs.append(
            {"name": "probability", "shape": [count], "datatype": "FP64", "data": probabilities}
        )
    classes = answers[0].get("probabilities") if answers else None
    if isinstance(classes, Mapping):
        width = len(classes)
        data = [value for a in answers for value in (a.get("probabilities") or {}).values()]
        outputs.append(
            {"name": "probabilities", "shape": [count, width], "datatype": "FP64", "data": data}
        )
    body: dict[str, Any] = {"model_name": name, "model_version": version, "outputs": outputs}
    if request_id is not None:
        body["id"] = request_id
    return body


def metadata(name: str, versions: Sequence[str], signature: Signature) -> dict[str, Any]:
    """The v2 model metadata: name, versions, and the input and output tensors."""
    return {
        "name": name,
        "versions": list(versions),
        "platform": "podium",
        "inputs": [
            {"name": spec.name, "datatype": _DATATYPES.get(spec.type, "BYTES"), "shape": [-1]}
            for spec in signature.inputs
        ],
        "outputs": [
            {"name": "predict", "datatype": "BYTES", "shape": [-1]},
            {"name": "probability", "datatype": "FP64", "shape": [-1]},
        ],
    }


def _datatype_of(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def _bad(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(
        message,
        field=field,
        remedy="see https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/",
    )
