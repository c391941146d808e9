"""XGBoost and LightGBM: their scikit-learn API and ``xgb.train`` / ``lgb.train``.

Besides what any estimator logs (:mod:`.estimators`), a boosted model logs its metrics at
every iteration, for every evaluation set, named ``<set>-<metric>`` (``validation_0-
logloss``, ``train-rmse``, ``valid_1-l2``) with the iteration as the step, and the
model as the registry's flavor writes it (XGBoost JSON, LightGBM text). ``xgb.train``
and ``lgb.train`` record the per-iteration figures even when the caller did not ask for
them (autolog hands them an ``evals_result`` dict or a ``record_evaluation`` callback of
its own). A library that is
not installed is skipped.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

from podium.tracking.autolog import state
from podium.tracking.autolog.estimators import estimator_params, log_fit, run_tags
from podium.tracking.autolog.models import log_model
from podium.tracking.autolog.params import metric_key, param_values
from podium.tracking.autolog.patches import patch
from podium.tracking.autolog.target import FitRun, fitting, open_fit_run

__all__ = ["install", "iteration_series"]


def iteration_series(results: Mapping[str, Mapping[str, Any]]) -> dict[str, list[float]]:
    """``{"<set>-<metric>": [value per iteration]}`` from an ``evals_result`` dict."""
    series: dict[str, list[float]] = {}
    for dataset, by_metric in (results or {}).items():
        for metric, values in by_metric.items():
            # xgboost's cross-validated results are (mean, std) pairs: keep the mean.
            series[metric_key(f"{dataset}-{metric}")] = [
                float(v[0] if isinstance(v, tuple | list) else v) for v in values
            ]
    return series


def _evals_result(model: Any) -> Mapping[str, Mapping[str, Any]]:
    found = getattr(model, "evals_result_", None)  # lightgbm, and xgboost after fit
    if found is None and hasattr(model, "evals_result"):
        try:
            found = model.evals_result()
        except ValueError:  # XGBoostError: the model was fitted without eval sets
            found = None
    return found or {}


def _log_iterations(run: FitRun, results: Mapping[str, Mapping[str, Any]], best: Any) -> None:
    run.log_series(iteration_series(results))
    if isinstance(best, int) and best >= 0:
        run.log_metrics({"best_iteration": best})


def _fit_estimator(original: Callable[..., Any], model: Any, *args: Any, **kwargs: Any) -> Any:
    settings = state.current()
    if settings is None:
        return original(model, *args, **kwargs)
    with fitting() as outermost:
        if not outermost:
            return original(model, *args, **kwargs)
        run = open_fit_run(
            settings,
            name=type(model).__name__,
            params=estimator_params(model),
            tags=run_tags(model),
        )
        if run is None:
            return original(model, *args, **kwargs)
        try:
            result = original(model, *args, **kwargs)
        except BaseException:
            run.finish("FAILED")
            raise
        _log_iterations(run, _evals_result(model), getattr(model, "best_iteration_", None))
        log_fit(settings, run, model, args, kwargs, model=model)
        run.finish()
        return result


def _train(
    library: str,
    add_recorder: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[..., Any]:
    """A wrapper for ``<library>.train(params, data, num_boost_round, ...)``."""

    def wrapper(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        settings = state.current()
        if settings is None:
            return original(*args, **kwargs)
        with fitting() as outermost:
            if not outermost:
                return original(*args, **kwargs)
            bound = inspect.signature(original).bind(*args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
            params = {**(call.get("params") or {}), "num_boost_round": call["num_boost_round"]}
            run = open_fit_run(
                settings,
                name=f"{library}.train",
                params=param_values(params),
                tags={"podium.autolog": library, "podium.estimator": "Booster"},
            )
            if run is None:
                return original(*args, **kwargs)
            recorded = add_recorder(call)
            try:
                booster = original(**call)
            except BaseException:
                run.finish("FAILED")
                raise
            best = getattr(booster, "best_iteration", None)
            _log_iterations(run, recorded, best)
            if settings.log_models:
                log_model(run, booster)
            run.finish()
            return booster

    return wrapper


def _xgb_recorder(call: dict[str, Any]) -> dict[str, Any]:
    if call.get("evals_result") is None:
        call["evals_result"] = {}
    results: dict[str, Any] = call["evals_result"]
    return results


def _lgb_recorder(lightgbm: ModuleType) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def add(call: dict[str, Any]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        call["callbacks"] = [*(call.get("callbacks") or []), lightgbm.record_evaluation(results)]
        return results

    return add


def _own_fits(base: type) -> Iterator[type]:
    """``base`` and its subclasses that define ``fit`` themselves."""
    seen: list[type] = [base]
    while seen:
        cls = seen.pop()
        seen.extend(cls.__subclasses__())
        if "fit" in vars(cls):
            yield cls


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # not installed: autolog skips the library
        return None


def install() -> list[str]:
    """Wrap the installed boosting libraries; the names of those wrapped."""
    done: list[str] = []
    xgboost = _optional("xgboost")
    if xgboost is not None:
        for cls in _own_fits(xgboost.XGBModel):
            patch(cls, "fit", _fit_estimator)
        for module in (xgboost, importlib.import_module("xgboost.training")):
            patch(module, "train", _train("xgboost", _xgb_recorder))
        done.append("xgboost")
    lightgbm = _optional("lightgbm")
    if lightgbm is not None:
        for cls in _own_fits(lightgbm.LGBMModel):
            patch(cls, "fit", _fit_estimator)
        for module in (lightgbm, importlib.import_module("lightgbm.engine")):
            patch(module, "train", _train("lightgbm", _lgb_recorder(lightgbm)))
        done.append("lightgbm")
    return done
