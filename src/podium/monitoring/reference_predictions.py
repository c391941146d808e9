"""The model's predictions on its reference rows: what prediction drift compares with.

Feature drift compares live inputs with the inputs the version was trained on; prediction
drift compares like with like: the live predictions with the predictions the same
version makes on those reference rows. They are computed once, when the reference is
made (:func:`predict_reference`, on at most :data:`MAX_ROWS` evenly spaced rows), or
given by the user (:func:`given_predictions`), and kept as the profile of one column,
``prediction``, beside the reference profile. When the version cannot predict (its code
is missing, the rows do not fit its signature) the reference keeps the reason instead,
and prediction drift falls back to the window before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.monitoring.frames import Frame, column_names, get_column, materialize, row_count
from podium.monitoring.profile import Profile, build_profile
from podium.registry.protocol import Registry

__all__ = [
    "MAX_ROWS",
    "PREDICTION",
    "ReferencePredictions",
    "given_predictions",
    "predict_reference",
]

_log = logging.getLogger(__name__)

PREDICTION = "prediction"
"""The one column of a predictions profile, named as the inference log names it."""
MAX_ROWS = 10_000
"""The most reference rows the model predicts on (evenly spaced over the table)."""


@dataclass(frozen=True)
class ReferencePredictions:
    """The profile of the predictions on the reference rows, and where they came from.

    ``profile`` is None when there are none; ``source`` then says why.
    """

    profile: Profile | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what the reference row stores)."""
        profile = self.profile.to_dict() if self.profile is not None else None
        return {"profile": profile, "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferencePredictions:
        """The inverse of :meth:`to_dict`."""
        profile = data.get("profile")
        return cls(
            profile=Profile.from_dict(dict(profile)) if profile is not None else None,
            source=str(data.get("source", "")),
        )


def _column(values: Any, *, field: str) -> pa.Array:
    """``values`` as one Arrow column typed as the inference log reads predictions back:
    numbers as floats, booleans as ``true``/``false`` (JSON text), anything else as text."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise InvalidInputError(
            f"the {field} must hold one prediction per row; got an array of shape "
            f"{array.shape} instead",
            field=field,
            remedy="pass one value per reference row",
        )
    if array.dtype == np.bool_:
        return pa.array(np.where(array, "true", "false"))
    if np.issubdtype(array.dtype, np.number):
        return pa.array(array.astype(np.float64))
    return pa.array([None if v is None else str(v) for v in array.tolist()], pa.string())


def _profile(values: Any, *, field: str) -> Profile:
    return build_profile(pa.table({PREDICTION: _column(values, field=field)}))


def _sample(frame: pa.Table | pd.DataFrame) -> pa.Table | pd.DataFrame:
    rows = row_count(frame)
    if rows <= MAX_ROWS:
        return frame
    picked = np.linspace(0, rows - 1, MAX_ROWS).astype(np.int64)
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[picked]
    return frame.take(pa.array(picked))


def predict_reference(
    registry: Registry, model: str, version: int, frame: Frame
) -> ReferencePredictions:
    """What ``model/version`` predicts on the reference rows ``frame`` (its inputs).

    Never raises for a model that cannot predict: the reference is still worth having
    for its features, so the reason goes into ``source`` and the log.
    """
    ref = f"{model}/{version}"
    rows = _sample(materialize(frame, field="data"))
    inputs = rows if isinstance(rows, pd.DataFrame) else rows.to_pandas()
    try:
        predictions = registry.load(ref).predict(inputs)
        profile = _profile(predictions, field="predictions")
    # The model runs user code (unpickling, predict): whatever it raises, the reference
    # keeps its features and says why it has no predictions; the log has the traceback.
    except Exception as exc:
        _log.warning("%s could not predict on its reference rows", ref, exc_info=True)
        return ReferencePredictions(
            None, f"none: {ref} could not predict on the reference rows ({exc})"[:1000]
        )
    return ReferencePredictions(profile, f"predicted by {ref} on {len(inputs)} reference rows")


def given_predictions(
    frame: pa.Table | pd.DataFrame, predictions: str | Sequence[Any] | Any
) -> tuple[pa.Table | pd.DataFrame, ReferencePredictions]:
    """The reference rows without their predictions, and the predictions' profile.

    ``predictions`` names a column of ``frame`` (it is left out of the features) or holds
    one value per row.
    """
    if isinstance(predictions, str):
        if predictions not in column_names(frame):
            raise InvalidInputError(
                f"the reference data has no column {predictions!r} with the predictions",
                field="predictions",
                remedy=f"name one of {', '.join(column_names(frame))}, or leave it out to "
                "let the model predict",
            )
        values = get_column(frame, predictions).to_numpy(zero_copy_only=False)
        rest = (
            frame.drop(columns=[predictions])
            if isinstance(frame, pd.DataFrame)
            else frame.drop_columns([predictions])
        )
        return rest, ReferencePredictions(
            _profile(values, field="predictions"), f"column {predictions!r} of the reference"
        )
    values = np.asarray(predictions)
    if values.ndim == 0 or len(values) != row_count(frame):
        raise InvalidInputError(
            f"the predictions must hold one value per reference row ({row_count(frame)}); "
            f"got {1 if values.ndim == 0 else len(values)} instead",
            field="predictions",
            remedy="pass the model's prediction for every row of the reference data",
        )
    return frame, ReferencePredictions(
        _profile(values, field="predictions"), f"given with the reference ({len(values)} values)"
    )
