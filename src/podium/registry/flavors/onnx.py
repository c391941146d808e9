"""The ``onnx`` flavor: ONNX graphs run with onnxruntime (the ``onnx`` extra).

``load`` returns an :class:`OnnxModel` with ``predict`` and ``predict_proba`` over a
numeric DataFrame, shaped like scikit-learn's: a graph converted by skl2onnx with zipmap
disabled outputs ``label`` (1-D) and ``probabilities`` (n x classes); a regressor outputs
one (n x 1) ``variable``, returned 1-D.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError, MissingDependencyError

__all__ = ["OnnxFlavor", "OnnxModel"]

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}


class OnnxFlavor:
    """Saves ONNX graphs (a ``ModelProto`` or its bytes); loads them into onnxruntime."""

    name = "onnx"

    def handles(self, model: object) -> bool:
        """An ``onnx.ModelProto``, recognised without importing onnx."""
        kind = type(model)
        return kind.__name__ == "ModelProto" and kind.__module__.split(".")[0] == "onnx"

    def save(self, model: Any) -> bytes:
        """The serialized graph; bytes are returned as they are."""
        if isinstance(model, bytes):
            return model
        if isinstance(model, OnnxModel):
            return model.data
        data: bytes = model.SerializeToString()
        return data

    def load(self, data: bytes) -> OnnxModel:
        """An onnxruntime session over ``data``, on the CPU."""
        try:
            import onnxruntime  # type: ignore[import-untyped, unused-ignore]
        except ImportError as exc:
            raise MissingDependencyError("onnxruntime", extra="onnx") from exc
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        return OnnxModel(session, data=data, classes=_class_labels(data))


class OnnxModel:
    """An onnxruntime session answering ``predict``/``predict_proba`` like scikit-learn.

    Keeps the graph's bytes (``data``) so saving a loaded model gives them back unchanged.
    """

    def __init__(self, session: Any, *, data: bytes, classes: list[Any] | None = None) -> None:
        self.session = session
        self.data = data
        if classes is not None:
            self.classes_ = classes  # what scikit-learn calls them; PodiumModel reads it
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise InvalidInputError(
                f"the ONNX graph has {len(inputs)} inputs; podium serves graphs with one "
                "input tensor of all columns",
                remedy="convert the model with one input, as 'podium models optimize' does",
            )
        self._input = inputs[0].name
        self._dtype = _FLOAT_TYPES.get(inputs[0].type, np.float32)
        self._outputs = [output.name for output in session.get_outputs()]

    @property
    def supports_predict_proba(self) -> bool:
        """Whether the graph outputs class probabilities."""
        return "probabilities" in self._outputs

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Labels for a classifier, values for a regressor, one per row."""
        name = "label" if "label" in self._outputs else self._outputs[0]
        (result,) = self.session.run([name], self._feed(frame))
        return np.asarray(result).reshape(len(frame), -1).squeeze(axis=1)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class probabilities, one row per input row, columns in class order."""
        if not self.supports_predict_proba:
            raise InvalidInputError(
                "this ONNX model has no 'probabilities' output",
                remedy="call predict instead; probabilities need a classifier converted "
                "with zipmap disabled",
            )
        (result,) = self.session.run(["probabilities"], self._feed(frame))
        return np.asarray(result)

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
        return {self._input: frame.to_numpy(dtype=self._dtype)}


def _class_labels(data: bytes) -> list[Any] | None:
    """The class labels a converted classifier's graph declares, in probability order.

    skl2onnx writes them as the ``classlabels_ints`` (or ``_int64s``) or ``_strings``
    attribute of the classifier node; a regressor's graph has neither.
    """
    try:
        import onnx
    except ImportError:
        return None
    for node in onnx.load_model_from_string(data).graph.node:
        for attribute in node.attribute:
            if attribute.name in ("classlabels_ints", "classlabels_int64s") and attribute.ints:
                return [int(value) for value in attribute.ints]
            if attribute.name == "classlabels_strings" and attribute.strings:
                return [value.decode() for value in attribute.strings]
    return None
