"""``PodiumModel``: one object with ``predict``/``predict_proba``, whatever the flavor.

Every call validates its input against the model's :class:`Signature` first, so a missing
column or a value of the wrong type fails with a message naming the column instead of an
error from deep inside the model. Results are numpy arrays shaped like scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from podium.errors import InvalidInputError
from podium.registry.flavors.lookup import FLAVORS, get_flavor
from podium.registry.signature import Rows, Signature

__all__ = ["PodiumModel"]


class PodiumModel:
    """A loaded model, its flavor name, its signature and its class labels."""

    def __init__(
        self,
        model: Any,
        *,
        flavor: str,
        signature: Signature,
        classes: Sequence[Any] | None = None,
        size_bytes: int | None = None,
    ) -> None:
        self.model = _servable(model, flavor)
        self.flavor = flavor
        self.signature = signature
        found = classes if classes is not None else getattr(model, "classes_", None)
        self.classes: list[Any] | None = None if found is None else list(found)
        self.size_bytes = size_bytes

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        flavor: str,
        signature: Signature,
        classes: Sequence[Any] | None = None,
    ) -> PodiumModel:
        """Load ``data`` (sha256 already verified by the caller) with the named flavor."""
        model = get_flavor(flavor).load(data)
        return cls(model, flavor=flavor, signature=signature, classes=classes, size_bytes=len(data))

    @property
    def supports_predict_proba(self) -> bool:
        """Whether :meth:`predict_proba` can answer."""
        declared = getattr(self.model, "supports_predict_proba", None)
        if isinstance(declared, bool):  # an OnnxModel always has the method; it says so
            return declared
        return callable(getattr(self.model, "predict_proba", None))

    def predict(self, rows: Rows) -> np.ndarray[Any, Any]:
        """One prediction per row of a DataFrame, a dict (one row) or a list of dicts."""
        return np.asarray(self.model.predict(self._model_input(rows)))

    def predict_proba(self, rows: Rows) -> np.ndarray[Any, Any]:
        """Class probabilities per row; columns follow :attr:`classes`."""
        if not self.supports_predict_proba:
            raise InvalidInputError(
                f"this {self.flavor} model ({type(self.model).__name__}) has no predict_proba",
                remedy="call predict instead; predict_proba needs a classifier that "
                "returns probabilities",
            )
        return np.asarray(self.model.predict_proba(self._model_input(rows)))

    def _model_input(self, rows: Rows) -> Any:
        frame = self.signature.validate(rows)
        # An estimator fitted on an array warns when given column names; give it an array.
        if self.flavor == "sklearn" and not hasattr(self.model, "feature_names_in_"):
            return frame.to_numpy()
        return frame

    def __repr__(self) -> str:
        return f"PodiumModel(flavor={self.flavor!r}, model={type(self.model).__name__})"


def _servable(model: Any, flavor: str) -> Any:
    """``model`` as it answers ``predict`` over a DataFrame.

    A flavor may adapt a library's own object with an optional ``servable`` method: an
    ``xgboost.Booster`` predicts from a DMatrix only, so its flavor wraps it.
    """
    for known in FLAVORS:
        if known.name == flavor:
            adapt = getattr(known, "servable", None)
            return model if adapt is None else adapt(model)
    return model
