"""Choosing a flavor: by model object when saving, by stored name when loading."""

from __future__ import annotations

from podium.errors import InvalidInputError
from podium.registry.flavors.base import Flavor
from podium.registry.flavors.lightgbm import LightGBMFlavor
from podium.registry.flavors.onnx import OnnxFlavor
from podium.registry.flavors.pyfunc import PyfuncFlavor
from podium.registry.flavors.sklearn import SklearnFlavor
from podium.registry.flavors.torch import TorchFlavor
from podium.registry.flavors.xgboost import XGBoostFlavor

__all__ = ["FLAVORS", "flavor_for", "get_flavor"]

# Most specific first: a scikit-learn estimator also has ``predict``, and must not fall
# through to pickle. Library flavors go before the generic ``sklearn`` and ``pyfunc``
# (an XGBClassifier is a scikit-learn estimator too); a new one is one more line here.
LIBRARY_FLAVORS: tuple[Flavor, ...] = (OnnxFlavor(), XGBoostFlavor(), LightGBMFlavor())
LIBRARY_FLAVORS += (TorchFlavor(),)
GENERIC_FLAVORS: tuple[Flavor, ...] = (SklearnFlavor(), PyfuncFlavor())
FLAVORS: tuple[Flavor, ...] = LIBRARY_FLAVORS + GENERIC_FLAVORS


def flavor_for(model: object) -> Flavor:
    """The flavor that saves ``model``: the library flavors, then sklearn, then pyfunc."""
    for flavor in FLAVORS:
        if flavor.handles(model):
            return flavor
    raise InvalidInputError(
        f"podium cannot save a model of type '{type(model).__qualname__}'",
        field="model",
        remedy="pass a scikit-learn estimator, an XGBoost or LightGBM model, an "
        "onnx.ModelProto, or an object with a 'predict' method",
    )


def get_flavor(name: str) -> Flavor:
    """The flavor stored under ``name``."""
    for flavor in FLAVORS:
        if flavor.name == name:
            return flavor
    known = ", ".join(f"'{flavor.name}'" for flavor in FLAVORS)
    raise InvalidInputError(
        f"the flavor must be one of {known}; got '{name}' instead",
        field="flavor",
        remedy=f"use one of {known}",
    )
