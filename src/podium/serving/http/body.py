"""The ``POST /v1/predictions`` body: parsed once, checked by hand, answered in one shape.

Request: ``{"model_id": NAME, "features": {...}}`` for one row, or
``{"model_id": NAME, "instances": [{...}, ...]}`` for a batch (at most
:data:`MAX_INSTANCES` rows). Any other member is refused, naming it.

Answer for one row (DESIGN.md section 7)::

    {"prediction": ..., "probability": 0.15, "probabilities": {"0": 0.85, "1": 0.15},
     "model_version": "3", "latency_ms": 4.1, "request_id": "...", "served_by": "primary",
     "cached": false}

``probabilities`` only for classifiers; ``probability`` is the positive class of a binary
classifier (else the top class), ``null`` for regressors. A batch answers
``{"predictions": [...], "latency_ms", "request_id"}`` with one answer per row (without
their own latency and request id).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson

from podium.errors import InvalidInputError
from podium.serving.requests.loaded import Output

__all__ = [
    "MAX_INSTANCES",
    "Envelope",
    "answer_body",
    "check_envelope",
    "dump_json",
    "numeric_vector",
    "parse_json",
]

MAX_INSTANCES = 10_000
_BODY_KEYS = frozenset({"model_id", "features", "instances"})

Envelope = tuple[str, dict[str, Any] | None, list[dict[str, Any]] | None]
"""``(model_id, features, instances)``; exactly one of the last two is set."""


def parse_json(
    raw: bytes, *, remedy: str = 'send {"model_id": "...", "features": {...}} as application/json'
) -> Any:
    """The JSON document of a request body; a 400 naming ``body`` when it is not JSON.

    ``NaN``, ``Infinity`` and ``1e999`` are read (as Python's ``json`` does) so that the
    feature check can name the feature that holds them.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # orjson refuses NaN and Infinity; the standard parser reads them
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"the request body is not valid JSON: {exc}",
            field="body",
            remedy=remedy,
        ) from None


def dump_json(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON (NaN and infinities become ``null``)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        # A value orjson cannot encode (an integer over 64 bits, a custom number type):
        # the standard encoder, as before orjson.
        return json.dumps(body, separators=(",", ":")).encode()


def model_id_of(body: object) -> str:
    """The deployment a body names; 400 unless it is an object with a ``model_id``."""
    if not isinstance(body, dict):
        raise InvalidInputError(
            f"the request body must be a JSON object; got {type(body).__name__} instead",
            field="body",
            remedy='send {"model_id": "...", "features": {...}}',
        )
    model_id = body.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidInputError(
            "the request needs 'model_id', the name of a deployment",
            field="model_id",
            remedy='send {"model_id": "customer-churn", "features": {...}}',
        )
    return model_id


def check_envelope(body: dict[str, Any]) -> Envelope:
    """``(model_id, features, instances)`` of a body whose ``model_id`` was checked."""
    if len(body) != 2 or not _BODY_KEYS.issuperset(body):
        _check_keys(body)
    features = body.get("features")
    if features is not None:
        if not isinstance(features, dict):
            raise InvalidInputError(
                "'features' must be a JSON object of feature names to values",
                field="features",
                remedy='send e.g. {"tenure_months": 24}',
            )
        return body["model_id"], features, None
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError(
            "'instances' must be a non-empty JSON array of feature objects",
            field="instances",
            remedy='send {"model_id": "...", "instances": [{...}, {...}]}',
        )
    if len(instances) > MAX_INSTANCES:
        raise InvalidInputError(
            f"at most {MAX_INSTANCES} instances per request; got {len(instances)}",
            field="instances",
            remedy="split the batch into several requests",
        )
    for index, row in enumerate(instances):
        if not isinstance(row, dict):
            raise InvalidInputError(
                f"instance {index} must be a JSON object; got {type(row).__name__}",
                field=f"instances[{index}]",
                remedy='send e.g. [{"tenure_months": 24}]',
            )
    return body["model_id"], None, instances


def _check_keys(body: Mapping[str, Any]) -> None:
    for key in body:
        if key not in _BODY_KEYS:
            raise InvalidInputError(
                f"unknown field {key!r} in the request body",
                field=str(key),
                remedy="send only model_id and features (or instances)",
            )
    if ("features" in body) == ("instances" in body):
        raise InvalidInputError(
            "send exactly one of 'features' (one row) or 'instances' (a batch)",
            field="features",
            remedy='send {"model_id": "...", "features": {...}}',
        )


def answer_body(output: Output, version: str, served_by: str) -> dict[str, Any]:
    """The answer to one row, without ``latency_ms`` and ``request_id`` (added last)."""
    body: dict[str, Any] = {
        "prediction": output.get("prediction"),
        "probability": output.get("probability"),
    }
    if "probabilities" in output:
        body["probabilities"] = output["probabilities"]
    body["model_version"] = version
    body["served_by"] = served_by
    body["cached"] = False
    return body


def numeric_vector(row: Mapping[str, Any]) -> list[float] | None:
    """The row as floats for the similarity cache; ``None`` when a value is not a number."""
    values: list[float] = []
    for value in row.values():
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if not math.isfinite(value):
            return None
        values.append(float(value))
    return values
