"""Vectorised predictions on Arrow record batches, with the model loaded once.

The model is what the registry loads for serving (:meth:`Registry.load`: the artifact's
sha256 verified, the native flavor, or ONNX for a version registered as ONNX). Numeric
inputs to a scikit-learn estimator fitted on an array, or to an ONNX graph, become one
float64 matrix straight from the Arrow columns (no DataFrame); anything else goes through
the model's signature check as a DataFrame. Like ``/v1/predictions``, a binary
classifier's ``probability`` is the positive class's and a multi-class one's the top
class's; a regressor has none. The label of a classifier is its most probable class, as
serving answers it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.registry.flavors import PodiumModel

__all__ = ["Scorer"]

_NUMERIC = ("int64", "float64", "bool")


class Scorer:
    """One loaded model version, scoring batches: ``(prediction, probability)`` arrays."""

    def __init__(self, model: PodiumModel, *, ref: str) -> None:
        self.model = model
        self.ref = ref
        self.inputs = [spec.name for spec in model.signature.inputs]
        self.classes: list[Any] | None = model.classes
        self.proba = bool(model.supports_predict_proba and self.classes)
        numeric = bool(self.inputs) and all(
            spec.type in _NUMERIC for spec in model.signature.inputs
        )
        self._matrix_call = _matrix_call(model, self.proba) if numeric else None

    @classmethod
    def from_bytes(
        cls, data: bytes, *, flavor: str, signature: dict[str, Any] | None, ref: str
    ) -> Scorer:
        """A scorer of artifact ``data`` (its sha256 verified by the caller): Ray workers
        load the model this way, once each."""
        from podium.registry.signature import Signature

        parsed = Signature.model_validate(signature or {"inputs": []})
        return cls(PodiumModel.from_bytes(data, flavor=flavor, signature=parsed), ref=ref)

    def score(self, batch: pa.RecordBatch) -> tuple[pa.Array, pa.Array]:
        """The prediction and the probability of every row of ``batch``."""
        if self._matrix_call is not None:
            labels, probabilities = self._matrix_call(self._matrix(batch))
        else:
            frame = batch.select(self.inputs).to_pandas()
            labels = np.asarray(self.model.predict(frame))
            probabilities = np.asarray(self.model.predict_proba(frame)) if self.proba else None
        if probabilities is None:
            return pa.array(labels), pa.nulls(batch.num_rows, pa.float64())
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape[1] == 2:
            probability = probabilities[:, 1]
        else:
            probability = probabilities.max(axis=1)
        return pa.array(labels), pa.array(probability)

    def _matrix(self, batch: pa.RecordBatch) -> np.ndarray[Any, Any]:
        matrix = np.empty((batch.num_rows, len(self.inputs)), dtype=np.float64)
        for position, name in enumerate(self.inputs):
            column = batch.column(name)
            if column.null_count:
                raise InvalidInputError(
                    f"column '{name}' has {column.null_count} null values; model {self.ref} "
                    "needs a value in every row",
                    field=name,
                    remedy="fill or drop the null values in the source table first",
                )
            matrix[:, position] = column.to_numpy(zero_copy_only=False)
        return matrix


def _matrix_call(model: PodiumModel, proba: bool) -> Any:
    inner = model.model
    if model.flavor == "sklearn" and not hasattr(inner, "feature_names_in_"):
        from sklearn import config_context  # loaded already: the model is one

        classes = np.asarray(model.classes) if proba else None

        def sklearn_call(matrix: np.ndarray[Any, Any]) -> tuple[Any, Any]:
            with config_context(assume_finite=False):
                if classes is None:
                    return np.asarray(inner.predict(matrix)), None
                probabilities = np.asarray(inner.predict_proba(matrix))
            return classes[probabilities.argmax(axis=1)], probabilities

        return sklearn_call
    session = getattr(inner, "session", None)
    if model.flavor == "onnx" and session is not None:
        (feed,) = session.get_inputs()
        dtype = np.float64 if feed.type == "tensor(double)" else np.float32
        outputs = [out.name for out in session.get_outputs()]
        label_name = "label" if "label" in outputs else outputs[0]
        wanted = [label_name] + (["probabilities"] if "probabilities" in outputs else [])

        def onnx_call(matrix: np.ndarray[Any, Any]) -> tuple[Any, Any]:
            result = session.run(wanted, {feed.name: matrix.astype(dtype)})
            labels = np.asarray(result[0]).reshape(len(matrix), -1)[:, 0]
            probabilities = np.asarray(result[1]) if len(result) > 1 and proba else None
            return labels, probabilities

        return onnx_call
    return None
