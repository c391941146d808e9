"""A model version loaded for serving: rows of checked features in, outputs out.

:class:`LoadedModel` wraps a :class:`~podium.registry.flavors.PodiumModel` with the
fastest call its flavor allows. A scikit-learn estimator fitted on an array, or an ONNX
graph, whose inputs are all numeric gets one float array built straight from the rows
(no DataFrame, no second validation); anything else goes through ``PodiumModel``. Each
output is a dict: ``prediction``, ``probability`` (the positive class of a binary
classifier, else the top class) and ``probabilities`` (class → probability) for
classifiers.

A version whose artifact cannot be loaded (a pyfunc whose module is missing where it is
served, damaged bytes, an incompatible library) is served as an :class:`UnloadableModel`:
every call fails with the load error, so its fallback chain treats it as a failing link
(the next link answers, the breaker counts it) instead of the request failing with a 500.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias

import numpy as np

from podium.errors import BackendUnavailableError, InvalidInputError
from podium.registry.flavors import PodiumModel
from podium.registry.signature import Signature
from podium.serving.requests.validation import RowValidator

__all__ = [
    "LoadedModel",
    "Output",
    "ServedModel",
    "UnloadableModel",
    "check_model_outputs",
    "example_row",
]

Output = dict[str, Any]
"""One answer: ``prediction``, ``probability`` and, for classifiers, ``probabilities``."""


class LoadedModel:
    """One model version, ready to answer batches of checked rows."""

    def __init__(
        self,
        model: PodiumModel,
        *,
        name: str,
        version: int,
        allowed_extra: Collection[str] = (),
    ) -> None:
        self.model = model
        self.name = name
        self.version = version
        self.validator = RowValidator(model.signature, allowed_extra=allowed_extra)
        self.classes: list[Any] | None = model.classes
        self.proba = model.supports_predict_proba and self.classes is not None
        self._labels = [_plain(c) for c in self.classes] if self.classes is not None else []
        self._keys = [str(c) for c in self._labels]
        self._array_call = self._fast_path()
        self.warmed = False
        """Whether :meth:`warm` has run (a first prediction made before any request)."""

    @property
    def fast(self) -> bool:
        """Whether predictions take the array fast path (no DataFrame, no user code)."""
        return self._array_call is not None

    @property
    def ref(self) -> str:
        """``name/version``."""
        return f"{self.name}/{self.version}"

    @property
    def signature(self) -> Signature:
        """The input (and output) columns the model was registered with."""
        return self.model.signature

    @property
    def load_error(self) -> None:
        """Always ``None``: this model is loaded (see :class:`UnloadableModel`)."""
        return None

    def warm(self) -> None:
        """Predict once on :func:`example_row`, so the first request pays no first-call
        costs (lazy imports, allocations); raises what that prediction raises."""
        self.predict([self.validator.check(example_row(self.signature))])
        self.warmed = True

    def predict(self, rows: list[dict[str, Any]]) -> list[Output]:
        """One output per row (rows already checked by :attr:`validator`)."""
        if self._array_call is not None:
            names = self.validator.names
            matrix = np.array([[row[n] for n in names] for row in rows], dtype=np.float64)
            labels, probabilities = self._array_call(matrix)
        else:
            labels = np.asarray(self.model.predict(rows))
            probabilities = np.asarray(self.model.predict_proba(rows)) if self.proba else None
        return self._outputs(labels, probabilities)

    def _outputs(self, labels: Any, probabilities: Any) -> list[Output]:
        outputs: list[Output] = []
        labels = [_plain(v) for v in labels.tolist()] if isinstance(labels, np.ndarray) else labels
        if probabilities is None:
            for label in labels:
                outputs.append({"prediction": label, "probability": None})
            return outputs
        keys = self._keys
        positive = 1 if len(keys) == 2 else None
        rows = probabilities.tolist()
        for index, (label, probs) in enumerate(zip(labels, rows, strict=True)):
            if positive is not None:
                probability = probs[positive]
            else:
                probability = probs[int(np.argmax(probabilities[index]))]
            outputs.append(
                {
                    "prediction": label,
                    "probability": probability,
                    "probabilities": dict(zip(keys, probs, strict=True)),
                }
            )
        return outputs

    def _fast_path(self) -> Any:
        if not self.validator.numeric:
            return None
        inner = self.model.model
        if self.model.flavor == "sklearn" and not hasattr(inner, "feature_names_in_"):
            # scikit-learn is loaded already (the model is one); importing it here keeps
            # `import podium` free of it.
            from sklearn import config_context

            predict = inner.predict
            predict_proba = inner.predict_proba if self.proba else None

            def sklearn_call(matrix: np.ndarray[Any, Any]) -> tuple[Any, Any]:
                # The rows were checked finite already; scikit-learn need not check again.
                with config_context(assume_finite=True):
                    if predict_proba is None:
                        return np.asarray(predict(matrix)), None
                    probs = np.asarray(predict_proba(matrix))
                # The label is the most probable class, as predict would say, in one call.
                plain = self._labels
                return [plain[i] for i in probs.argmax(axis=1).tolist()], probs

            return sklearn_call
        matrix_columns = getattr(inner, "matrix_columns", None)
        if self.model.flavor in ("xgboost", "lightgbm") and callable(matrix_columns):
            # Boosted trees take the checked rows as a matrix, when the signature's columns
            # are the model's own, in its order: no DataFrame per request.
            if matrix_columns() not in (None, list(self.validator.names)):
                return None
            predict_matrix = inner.predict_matrix
            proba_matrix = inner.predict_proba_matrix if self.proba else None

            def boosted_call(matrix: np.ndarray[Any, Any]) -> tuple[Any, Any]:
                if proba_matrix is None:
                    return np.asarray(predict_matrix(matrix)), None
                probs = np.asarray(proba_matrix(matrix))
                plain = self._labels
                return [plain[i] for i in probs.argmax(axis=1).tolist()], probs

            return boosted_call
        session = getattr(inner, "session", None)
        if self.model.flavor == "onnx" and session is not None:
            (feed,) = session.get_inputs()
            dtype = np.float64 if feed.type == "tensor(double)" else np.float32
            outputs = [out.name for out in session.get_outputs()]
            label_name = "label" if "label" in outputs else outputs[0]
            wanted = [label_name] + (["probabilities"] if "probabilities" in outputs else [])

            def onnx_call(matrix: np.ndarray[Any, Any]) -> tuple[Any, Any]:
                result = session.run(wanted, {feed.name: matrix.astype(dtype)})
                labels = np.asarray(result[0]).reshape(len(matrix), -1)[:, 0]
                probs = np.asarray(result[1]) if len(result) > 1 and self.proba else None
                return labels, probs

            return onnx_call
        return None


class UnloadableModel:
    """A model version that failed to load: every prediction raises the load error.

    ``error`` is why it failed (the exception's type and message). It is never cached by
    the runtime, so the next reload of its deployment tries to load it again.
    """

    fast = False
    warmed = False

    def __init__(self, *, name: str, version: int, signature: Signature, error: str) -> None:
        self.name = name
        self.version = version
        self.signature = signature
        self.load_error: str = error

    @property
    def ref(self) -> str:
        """``name/version``."""
        return f"{self.name}/{self.version}"

    def predict(self, rows: list[dict[str, Any]]) -> list[Output]:
        """Raise :class:`BackendUnavailableError` (the model is not loaded)."""
        raise BackendUnavailableError(
            f"model {self.ref} could not be loaded: {self.load_error}",
            code="model-not-loadable",
            remedy=(
                "make the model loadable where it is served (a pyfunc model's class must "
                "be importable there), then update the deployment or restart the server"
            ),
        )

    def warm(self) -> None:
        """Nothing to warm: the model is not loaded."""


ServedModel: TypeAlias = LoadedModel | UnloadableModel
"""What a served version holds: the loaded model, or why it could not be loaded."""

_EXAMPLE_VALUES: dict[str, Any] = {
    "int64": 0,
    "float64": 0.0,
    "bool": False,
    "string": "",
    "datetime": datetime(2000, 1, 1, tzinfo=UTC).isoformat(),
}


def example_row(signature: Signature) -> dict[str, Any]:
    """A row every column of ``signature`` accepts (zeros, ``false``, empty strings):
    what a model is warmed with before its first request."""
    return {spec.name: _EXAMPLE_VALUES[spec.type] for spec in signature.inputs}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_model_outputs(outputs: Sequence[Any], n: int) -> None:
    """Raise unless there are ``n`` outputs with a usable prediction and finite numbers.

    The validator of model links in a fallback chain: a model returning ``None``, NaN, an
    infinity or a probability outside [0, 1] is treated as a failure.
    """
    if len(outputs) != n:
        raise _garbage(f"the model returned {len(outputs)} outputs for {n} rows")
    for index, output in enumerate(outputs):
        prediction = output.get("prediction") if isinstance(output, dict) else None
        if prediction is None or isinstance(prediction, list | dict):
            raise _garbage(f"output {index} has no usable prediction: {prediction!r}")
        if isinstance(prediction, numbers.Real) and not math.isfinite(float(prediction)):
            raise _garbage(f"output {index} predicts {prediction!r}")
        probability = output.get("probability")
        values = [probability] if probability is not None else []
        values.extend((output.get("probabilities") or {}).values())
        for value in values:
            if not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
                raise _garbage(f"output {index} has the probability {value!r}")


def _garbage(message: str) -> InvalidInputError:
    return InvalidInputError(
        message,
        code="invalid-model-output",
        remedy="fix the model so it returns one finite prediction per row",
    )
