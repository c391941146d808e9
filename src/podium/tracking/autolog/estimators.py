"""One estimator's fit as a run: params, training metrics, input tables, the model.

Used for scikit-learn estimators and pipelines (a Pipeline logs its steps' params as
``step__param``) and, for what they share, the boosting libraries' scikit-learn API.
Classifiers get accuracy, weighted precision, recall and F1 (log loss and, for two
classes, ROC AUC when they predict probabilities), regressors MSE, RMSE, MAE and R²,
others their ``score`` when they have one, all on the training data, named
``training_*`` as MLflow names them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.base import is_classifier, is_regressor

from podium.tracking.autolog.models import log_model
from podium.tracking.autolog.params import param_values, scalar_metrics
from podium.tracking.autolog.sources import input_refs
from podium.tracking.autolog.state import AutologSettings
from podium.tracking.autolog.target import FitRun, open_fit_run

__all__ = [
    "estimator_params",
    "fit_data",
    "fit_estimator",
    "log_fit",
    "run_tags",
    "training_metrics",
]


def fit_data(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """``(X, y, sample_weight)`` of a ``fit(X, y=None, sample_weight=None, ...)`` call."""
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    weight = args[2] if len(args) > 2 else kwargs.get("sample_weight")
    return x, y, weight


def _classifier_metrics(model: Any, x: Any, y: Any, weight: Any) -> dict[str, Any]:
    predicted = model.predict(x)
    out: dict[str, Any] = {
        "training_accuracy_score": skm.accuracy_score(y, predicted, sample_weight=weight),
        "training_precision_score": skm.precision_score(
            y, predicted, average="weighted", sample_weight=weight, zero_division=0
        ),
        "training_recall_score": skm.recall_score(
            y, predicted, average="weighted", sample_weight=weight, zero_division=0
        ),
        "training_f1_score": skm.f1_score(
            y, predicted, average="weighted", sample_weight=weight, zero_division=0
        ),
    }
    if hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(x)
        except (AttributeError, ValueError):  # e.g. SVC(probability=False)
            return out
        classes = getattr(model, "classes_", None)
        out["training_log_loss"] = skm.log_loss(y, proba, sample_weight=weight, labels=classes)
        if proba.shape[1] == 2:
            out["training_roc_auc"] = skm.roc_auc_score(y, proba[:, 1], sample_weight=weight)
    return out


def _regressor_metrics(model: Any, x: Any, y: Any, weight: Any) -> dict[str, Any]:
    predicted = model.predict(x)
    mse = skm.mean_squared_error(y, predicted, sample_weight=weight)
    return {
        "training_mean_squared_error": mse,
        "training_root_mean_squared_error": float(np.sqrt(mse)),
        "training_mean_absolute_error": skm.mean_absolute_error(y, predicted, sample_weight=weight),
        "training_r2_score": skm.r2_score(y, predicted, sample_weight=weight),
    }


def training_metrics(model: Any, x: Any, y: Any, weight: Any = None) -> dict[str, float]:
    """Scores of the fitted ``model`` on its own training data (empty without ``y``)."""
    if y is None or x is None:
        return {}
    try:
        if is_classifier(model):
            values = _classifier_metrics(model, x, y, weight)
        elif is_regressor(model):
            values = _regressor_metrics(model, x, y, weight)
        elif hasattr(model, "score"):
            values = {"training_score": model.score(x, y)}
        else:
            values = {}
    except (ValueError, TypeError, AttributeError):  # a model that cannot score its data
        return {}
    return scalar_metrics(values)


def log_fit(
    settings: AutologSettings,
    run: FitRun,
    fitted: Any,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    *,
    model: Any = None,
) -> None:
    """Log what a finished fit of ``fitted`` produced into ``run``: its training metrics,
    the tables it read, and ``model`` (default: ``fitted`` itself; none when None)."""
    x, y, weight = fit_data(args, kwargs)
    if settings.log_training_metrics:
        run.log_metrics(training_metrics(fitted, x, y, weight))
    if settings.log_inputs:
        run.log_inputs(input_refs(x, y))
    if settings.log_models and model is not None:
        log_model(run, model)


def estimator_params(model: Any) -> dict[str, str]:
    """The estimator's params, nested ones included (``clf__C``)."""
    try:
        params = model.get_params(deep=True)
    except (AttributeError, TypeError):
        return {}
    return param_values(params)


def run_tags(model: Any) -> dict[str, str]:
    """The tags an autologged run gets: the library and the estimator class."""
    cls = type(model)
    return {"podium.autolog": cls.__module__.split(".")[0], "podium.estimator": cls.__name__}


def fit_estimator(
    settings: AutologSettings,
    original: Callable[..., Any],
    model: Any,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """Run the outermost fit of ``model`` and log it (its params before it starts)."""
    run = open_fit_run(
        settings, name=type(model).__name__, params=estimator_params(model), tags=run_tags(model)
    )
    if run is None:
        return original(model, *args, **kwargs)
    try:
        result = original(model, *args, **kwargs)
    except BaseException:
        run.finish("FAILED")
        raise
    log_fit(settings, run, model, args, kwargs, model=model)
    run.finish()
    return result
