"""Wrapping scikit-learn: every estimator class's ``fit``, ``fit_transform``, ``fit_predict``.

The wrappers are set on the classes that define those methods themselves (subclasses
inherit them), found with ``sklearn.utils.all_estimators`` plus ``Pipeline`` and the
searches' ``BaseSearchCV``. Each call checks the switch and this thread's nesting first,
so with autolog off, or inside another fit, a wrapper costs two lookups.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import all_estimators

from podium.tracking.autolog import state
from podium.tracking.autolog.estimators import fit_estimator
from podium.tracking.autolog.patches import patch
from podium.tracking.autolog.search import fit_search
from podium.tracking.autolog.target import fitting

__all__ = ["FIT_METHODS", "estimator_classes", "install"]

FIT_METHODS = ("fit", "fit_transform", "fit_predict")


def _fit(original: Callable[..., Any], model: Any, *args: Any, **kwargs: Any) -> Any:
    settings = state.current()
    if settings is None:
        return original(model, *args, **kwargs)
    with fitting() as outermost:
        if not outermost:
            return original(model, *args, **kwargs)
        if isinstance(model, BaseSearchCV):
            return fit_search(settings, original, model, args, kwargs)
        return fit_estimator(settings, original, model, args, kwargs)


@functools.cache  # walking scikit-learn's modules takes a while; the answer never changes
def estimator_classes() -> list[type]:
    """Every estimator class scikit-learn ships, with Pipeline and BaseSearchCV."""
    classes: list[type] = [cls for _, cls in all_estimators()]
    return [*classes, Pipeline, BaseSearchCV]


def install() -> None:
    """Wrap the fit methods of every scikit-learn estimator class."""
    for cls in estimator_classes():
        if not issubclass(cls, BaseEstimator):
            continue
        for name in FIT_METHODS:
            if name in vars(cls):
                patch(cls, name, _fit)
