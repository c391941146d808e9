"""The ``xgboost`` flavor: XGBoost models in XGBoost's own JSON model format, never pickle.

The stored file is exactly what ``XGBClassifier.save_model("model.json")`` writes: the
booster as JSON, with the scikit-learn wrapper's kind (``classifier``, ``regressor`` or
``ranker``) in the booster's ``scikit_learn`` attribute. Any XGBoost can open it.
Loading parses JSON only, so bytes that are not an XGBoost model (a pickle, say) are
refused with an :class:`InvalidInputError` and nothing in them runs. The wrapper class
is chosen from a fixed table by that kind, never imported by a name the file gives.

A model comes back as an :class:`XGBoostModel` holding the XGBoost object (``.model``:
an ``XGBClassifier``, ``XGBRegressor``, ``XGBRanker`` or ``Booster``), with ``predict``,
and ``predict_proba`` and ``classes_`` for a classifier; a ``Booster``'s ``predict``
returns what ``booster.predict(DMatrix(rows))`` returns.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError, MissingDependencyError

__all__ = ["XGBoostFlavor", "XGBoostModel"]

_META_ATTRIBUTE = "scikit_learn"  # where XGBModel.save_model records the wrapper's kind
_WRAPPERS = {"classifier": "XGBClassifier", "regressor": "XGBRegressor", "ranker": "XGBRanker"}
PREDICT_THREADS = 1
"""Threads a loaded model predicts on. Serving runs requests in parallel on its own
threads and replicas, and OpenMP's spinning threads on a busy machine made one XGBoost
call up to nine times slower in our measurements (ADR 0038)."""


class XGBoostFlavor:
    """Saves XGBoost scikit-learn wrappers and boosters as XGBoost JSON."""

    name = "xgboost"

    def handles(self, model: object) -> bool:
        """An XGBoost model (wrapper or ``Booster``), recognised without importing xgboost."""
        if isinstance(model, XGBoostModel):
            return True
        return any(cls.__module__.split(".")[0] == "xgboost" for cls in type(model).__mro__)

    def save(self, model: Any) -> bytes:
        """The model as XGBoost JSON, as ``save_model`` writes it."""
        if isinstance(model, XGBoostModel):
            model = model.model
        get_booster = getattr(model, "get_booster", None)
        if get_booster is None:  # a Booster
            return bytes(model.save_raw(raw_format="json"))
        booster = get_booster()
        # What XGBModel.save_model does around its file write, kept byte for byte.
        booster.set_attr(**{_META_ATTRIBUTE: json.dumps({"_estimator_type": model._get_type()})})
        try:
            return bytes(booster.save_raw(raw_format="json"))
        finally:
            booster.set_attr(**{_META_ATTRIBUTE: None})

    def servable(self, model: Any) -> Any:
        """``model`` ready to predict over a DataFrame: an :class:`XGBoostModel`."""
        return model if isinstance(model, XGBoostModel) else XGBoostModel(model)

    def load(self, data: bytes) -> XGBoostModel:
        """The model the file holds, in an :class:`XGBoostModel`; JSON is all it reads."""
        xgboost = _xgboost()
        if not data.lstrip()[:1] == b"{":
            raise _not_a_model("it does not start like a JSON document")
        booster = xgboost.Booster(params={"nthread": PREDICT_THREADS})
        try:
            booster.load_model(bytearray(data))
            meta = booster.attr(_META_ATTRIBUTE)
        except ValueError as exc:  # XGBoostError is one, and so is a UnicodeDecodeError
            raise _not_a_model(_first_line(exc)) from exc
        if meta is None:
            return XGBoostModel(booster)
        kind = _estimator_kind(meta)
        wrapper = getattr(xgboost, _WRAPPERS[kind])(n_jobs=PREDICT_THREADS)
        wrapper.load_model(bytearray(data))
        return XGBoostModel(wrapper)


class XGBoostModel:
    """An XGBoost wrapper or ``Booster`` answering ``predict`` over a signature's DataFrame.

    ``model`` is the XGBoost object itself. Rows reach XGBoost as a float32 matrix, the
    type it computes in, after a check that the columns are the ones the model was
    trained on, in its order: XGBoost's own pandas path costs about ten times more per
    call, which a one-row request feels.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.is_booster = not hasattr(model, "get_booster")
        self.booster = model if self.is_booster else model.get_booster()
        self.supports_predict_proba = callable(getattr(model, "predict_proba", None))
        if self.supports_predict_proba:
            self.classes_ = list(model.classes_)  # what PodiumModel reads
        names = self.booster.feature_names
        self._names: list[str] | None = None if names is None else list(names)

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Labels for a classifier, values for a regressor; a ``Booster``'s own output
        (``booster.predict(DMatrix(rows))``: probabilities for ``binary:logistic``)."""
        matrix = self._matrix(frame)
        if self.is_booster:
            return np.asarray(self.booster.inplace_predict(matrix, validate_features=False))
        return np.asarray(self.model.predict(matrix))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Class probabilities, one column per class in ``classes_`` order."""
        if not self.supports_predict_proba:
            raise InvalidInputError(
                f"this XGBoost model ({type(self.model).__name__}) has no predict_proba",
                remedy="call predict instead; predict_proba needs an XGBClassifier",
            )
        return np.asarray(self.model.predict_proba(self._matrix(frame)))

    def matrix_columns(self) -> list[str] | None:
        """The columns :meth:`predict_matrix` expects, in order (None: not recorded)."""
        return self._names

    def predict_matrix(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """:meth:`predict` for a numeric matrix already in :meth:`matrix_columns` order."""
        rows = matrix.astype(np.float32, copy=False)
        if self.is_booster:
            return np.asarray(self.booster.inplace_predict(rows, validate_features=False))
        return np.asarray(self.model.predict(rows))

    def predict_proba_matrix(self, matrix: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """:meth:`predict_proba` for a numeric matrix in :meth:`matrix_columns` order."""
        if not self.supports_predict_proba:
            return self.predict_proba(pd.DataFrame(matrix))  # raises the clear error
        return np.asarray(self.model.predict_proba(matrix.astype(np.float32, copy=False)))

    def _matrix(self, frame: pd.DataFrame) -> Any:
        if self._names is not None and list(frame.columns) != self._names:
            raise InvalidInputError(
                f"the model was trained on the columns {self._names}; the signature gives "
                f"{list(frame.columns)}",
                field="signature",
                remedy="register the model with an input example holding the training "
                "columns in their training order",
            )
        if all(kind in "biuf" for kind in (dtype.kind for dtype in frame.dtypes)):
            return frame.to_numpy(dtype=np.float32)
        return frame  # strings or categories: XGBoost's own pandas handling

    def __repr__(self) -> str:
        return f"XGBoostModel({type(self.model).__name__}, features={self.booster.num_features()})"


def _estimator_kind(meta: str) -> str:
    try:
        kind = json.loads(meta).get("_estimator_type")
    except (ValueError, AttributeError):
        kind = None
    if kind not in _WRAPPERS:
        raise _not_a_model(f"its scikit-learn estimator type {kind!r} is not one podium loads")
    return str(kind)


def _not_a_model(reason: str) -> InvalidInputError:
    return InvalidInputError(
        f"the bytes are not an XGBoost model file (XGBoost JSON): {reason}",
        field="model",
        code="not-a-model-file",
        remedy="register the model object itself, or upload a file written by the "
        "xgboost flavor (XGBoost's save_model JSON); podium never loads pickles as xgboost",
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _xgboost() -> Any:
    try:
        import xgboost
    except ImportError as exc:
        raise MissingDependencyError("xgboost", extra="xgboost") from exc
    return xgboost
