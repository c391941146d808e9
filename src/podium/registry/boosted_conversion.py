"""Conversion of boosted trees to ONNX: XGBoost and LightGBM models through onnxmltools.

:func:`boosted_to_onnx` is :func:`podium.registry.conversion.to_onnx` for the ``xgboost``
and ``lightgbm`` flavors, with the same graph contract: one float input named ``input``
holding every signature column in order; classifiers output ``label`` and
``probabilities``, regressors one ``variable``. Needs the ``onnx`` extra (onnxmltools).

Only models saved from the scikit-learn wrappers convert: a plain booster's ``predict``
returns whatever its objective makes (probabilities for ``binary:logistic``), which a
graph that outputs labels would never agree with.
"""

from __future__ import annotations

import json
from typing import Any

from podium.errors import InvalidInputError, MissingDependencyError
from podium.registry.flavors.lightgbm import LightGBMModel
from podium.registry.flavors.xgboost import XGBoostFlavor, XGBoostModel
from podium.registry.signature import Signature

__all__ = ["BOOSTED_FLAVORS", "boosted_to_onnx"]

BOOSTED_FLAVORS = ("xgboost", "lightgbm")
_NUMERIC = {"int64", "float64", "bool"}


def boosted_to_onnx(model: Any, signature: Signature, *, flavor: str) -> bytes:
    """The loaded ``xgboost`` or ``lightgbm`` ``model`` as ONNX bytes (float32, no zipmap)."""
    other = [spec for spec in signature.inputs if spec.type not in _NUMERIC]
    if other:
        columns = ", ".join(f"'{spec.name}' ({spec.type})" for spec in other)
        raise InvalidInputError(
            f"ONNX conversion needs numeric inputs; the columns {columns} are not",
            field="signature",
            remedy=f"encode those columns as numbers before training, or serve the {flavor} "
            "version",
        )
    onnxmltools, tensor_type = _onnxmltools()
    initial_types = [("input", tensor_type([None, len(signature.inputs)]))]
    if flavor == "xgboost":
        graph = onnxmltools.convert_xgboost(_unnamed(model), initial_types=initial_types)
    else:
        booster, classes = _lightgbm_parts(model)
        graph = onnxmltools.convert_lightgbm(booster, initial_types=initial_types, zipmap=False)
        if classes is not None:
            _relabel(graph, classes)
    data: bytes = graph.SerializeToString()
    return data


def _unnamed(model: Any) -> Any:
    """``model`` reloaded without feature names: onnxmltools reads only ``f0``, ``f1``, ..."""
    if not isinstance(model, XGBoostModel) or model.is_booster:
        raise _booster_refused("xgboost", "XGBClassifier or XGBRegressor")
    flavor = XGBoostFlavor()
    document = json.loads(flavor.save(model))
    document["learner"]["feature_names"] = []
    document["learner"]["feature_types"] = []
    return flavor.load(json.dumps(document).encode()).model


def _lightgbm_parts(model: LightGBMModel) -> tuple[Any, list[int] | None]:
    """The booster and, for a classifier, its integer class labels."""
    if model.estimator not in ("LGBMClassifier", "LGBMRegressor"):
        raise _booster_refused("lightgbm", "LGBMClassifier or LGBMRegressor")
    if model.classes_ is None:
        return model.booster, None
    if not all(isinstance(label, int) and not isinstance(label, bool) for label in model.classes_):
        raise InvalidInputError(
            f"ONNX conversion of a LightGBM classifier needs integer class labels; got "
            f"{model.classes_[:5]!r}",
            field="model",
            remedy="train on integer-encoded labels to optimize it, or serve the lightgbm version",
        )
    return model.booster, list(model.classes_)


def _relabel(graph: Any, classes: list[int]) -> None:
    """Write the classifier's own labels into the graph, which numbers classes 0..k-1."""
    for node in graph.graph.node:
        for attribute in node.attribute:
            if attribute.name == "classlabels_int64s":
                del attribute.ints[:]
                attribute.ints.extend(classes)


def _booster_refused(flavor: str, wrappers: str) -> InvalidInputError:
    return InvalidInputError(
        f"only {flavor} models saved from the scikit-learn wrappers ({wrappers}) can be "
        "converted to ONNX; a plain booster's output depends on its objective",
        field="ref",
        remedy=f"register the model as an {wrappers.split()[0]}, or serve the booster as it is",
    )


def _onnxmltools() -> tuple[Any, Any]:
    try:
        import onnxmltools  # type: ignore[import-untyped, unused-ignore]
        from onnxmltools.convert.common.data_types import (  # type: ignore[import-untyped, unused-ignore]
            FloatTensorType,
        )
    except ImportError as exc:
        raise MissingDependencyError("onnxmltools", extra="onnx") from exc
    return onnxmltools, FloatTensorType
