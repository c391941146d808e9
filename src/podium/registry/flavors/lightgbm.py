"""The ``lightgbm`` flavor: LightGBM models in LightGBM's own text format, never pickle.

The stored file is a small JSON document: the booster in LightGBM's text model format
(``booster.model_to_string()``, which any LightGBM opens with
``lightgbm.Booster(model_str=...)``) beside what the text format has no place for, the
scikit-learn wrapper's kind and its class labels::

    {"format": "podium.lightgbm", "format_version": 1,
     "estimator": "LGBMClassifier", "classes": ["no", "yes"], "model": "tree\\nversion=v4..."}

Loading parses JSON and LightGBM text only, so bytes that are not such a file (a pickle,
say) are refused with an :class:`InvalidInputError` and nothing in them runs.

A model comes back as a :class:`LightGBMModel`: ``predict`` and, for a classifier,
``predict_proba`` and ``classes_``, computed from the booster exactly as
``LGBMClassifier`` computes them; ``predict`` of a plain ``Booster`` returns what
``booster.predict(rows)`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError, MissingDependencyError

__all__ = ["LightGBMFlavor", "LightGBMModel"]

FORMAT = "podium.lightgbm"
FORMAT_VERSION = 1
_ESTIMATORS = ("LGBMClassifier", "LGBMRegressor", "LGBMRanker", "Booster")
PREDICT_THREADS = 1
"""Threads a loaded model predicts on: serving parallelises across requests, and OpenMP's
spinning threads slow every call down on a busy machine (ADR 0038)."""


class LightGBMFlavor:
    """Saves LightGBM scikit-learn wrappers and boosters as LightGBM text models."""

    name = "lightgbm"

    def handles(self, model: object) -> bool:
        """A LightGBM model (wrapper or ``Booster``), recognised without importing lightgbm."""
        if isinstance(model, LightGBMModel):
            return True
        return any(cls.__module__.split(".")[0] == "lightgbm" for cls in type(model).__mro__)

    def save(self, model: Any) -> bytes:
        """The model's text format and its wrapper kind and classes, as JSON."""
        if isinstance(model, LightGBMModel):
            estimator, classes, booster = model.estimator, model.classes_, model.booster
        else:
            estimator = _estimator_of(model)
            booster = model if estimator == "Booster" else model.booster_
            found = getattr(model, "classes_", None) if estimator == "LGBMClassifier" else None
            classes = None if found is None else [_plain(label) for label in found]
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": estimator,
            "classes": classes,
            "model": booster.model_to_string(),
        }
        return json.dumps(document).encode()

    def load(self, data: bytes) -> LightGBMModel:
        """The model back; anything but this flavor's JSON is refused before LightGBM runs."""
        document = _document(data)
        lightgbm = _lightgbm()
        try:
            booster = lightgbm.Booster(model_str=document["model"])
        except lightgbm.basic.LightGBMError as exc:
            raise _not_a_model(f"LightGBM cannot read its model: {exc}") from exc
        return LightGBMModel(booster, estimator=document["estimator"], classes=document["classes"])


class LightGBMModel:
    """A LightGBM booster answering like the scikit-learn wrapper it was saved from."""

    def __init__(
        self, booster: Any, *, estimator: str, classes: Sequence[Any] | None = None
    ) -> None:
        self.booster = booster
        self.estimator = estimator
        self.classes_: list[Any] | None = None if classes is None else list(classes)

    @property
    def supports_predict_proba(self) -> bool:
        """Whether the model is a classifier (one saved from ``LGBMClassifier``)."""
        return self.classes_ is not None

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class labels for a classifier; the booster's output otherwise."""
        if self.classes_ is None:
            return np.asarray(self.booster.predict(frame, num_threads=PREDICT_THREADS))
        best = np.argmax(self.predict_proba(frame), axis=1)
        labels: np.ndarray[Any, Any] = np.asarray(self.classes_)[best]
        return labels

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class probabilities, one column per class in :attr:`classes_` order."""
        if self.classes_ is None:
            raise InvalidInputError(
                f"this LightGBM model ({self.estimator}) has no predict_proba",
                remedy="call predict instead; predict_proba needs an LGBMClassifier",
            )
        result = np.asarray(self.booster.predict(frame, num_threads=PREDICT_THREADS))
        if result.ndim == 1:  # binary: the positive class only, as LGBMClassifier gets it
            return np.column_stack([1.0 - result, result])
        return result

    def matrix_columns(self) -> list[str]:
        """The columns :meth:`predict_matrix` expects, in the booster's order."""
        return list(self.booster.feature_name())

    def predict_matrix(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """:meth:`predict` for a numeric matrix already in :meth:`matrix_columns` order."""
        if self.classes_ is None:
            return np.asarray(self.booster.predict(matrix, num_threads=PREDICT_THREADS))
        best = np.argmax(self.predict_proba_matrix(matrix), axis=1)
        labels: np.ndarray[Any, Any] = np.asarray(self.classes_)[best]
        return labels

    def predict_proba_matrix(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """:meth:`predict_proba` for a numeric matrix in :meth:`matrix_columns` order."""
        if self.classes_ is None:
            return self.predict_proba(pd.DataFrame(matrix))  # raises the clear error
        result = np.asarray(self.booster.predict(matrix, num_threads=PREDICT_THREADS))
        if result.ndim == 1:  # binary: the positive class only, as LGBMClassifier gets it
            return np.column_stack([1.0 - result, result])
        return result

    def __repr__(self) -> str:
        return f"LightGBMModel(estimator={self.estimator!r}, trees={self.booster.num_trees()})"


def _estimator_of(model: Any) -> str:
    for cls in type(model).__mro__:
        if cls.__module__.split(".")[0] == "lightgbm" and cls.__name__ in _ESTIMATORS:
            return cls.__name__
    raise InvalidInputError(
        f"podium cannot save a LightGBM model of type '{type(model).__qualname__}'",
        field="model",
        remedy="pass an LGBMClassifier, LGBMRegressor, LGBMRanker or lightgbm.Booster",
    )


def _plain(label: Any) -> Any:
    """A class label as JSON can hold it (numpy scalars become Python ones)."""
    return label.item() if isinstance(label, np.generic) else label


def _document(data: bytes) -> dict[str, Any]:
    if not data.lstrip()[:1] == b"{":
        raise _not_a_model("it does not start like a JSON document")
    try:
        document = json.loads(data)
    except ValueError as exc:  # also UnicodeDecodeError
        raise _not_a_model(f"it is not JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _not_a_model(f"its 'format' is not {FORMAT!r}")
    if document.get("format_version") != FORMAT_VERSION:
        raise _not_a_model(f"its format version {document.get('format_version')!r} is unknown")
    if document.get("estimator") not in _ESTIMATORS or not isinstance(document.get("model"), str):
        raise _not_a_model("it names no known estimator or holds no text model")
    classes = document.get("classes")
    if classes is not None and not isinstance(classes, list):
        raise _not_a_model("its 'classes' is not a list")
    return document


def _not_a_model(reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"the bytes are not a LightGBM model file: {reason}",
        field="model",
        code="not-a-model-file",
        remedy="register the model object itself, or upload a file written by the "
        "lightgbm flavor; podium never loads pickles as lightgbm",
    )


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingDependencyError("lightgbm", extra="lightgbm") from exc
    return lightgbm
