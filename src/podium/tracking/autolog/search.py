"""Grid and randomized search: one parent run, one child run per candidate.

The search's own fit is the parent run: the search's params, the best candidate's params
(``best_C``), ``best_cv_score``, training metrics of the refitted best model, the input
tables, and that best model as the run's only model. Each candidate becomes a child run
(named ``<parent>-<i>``) with its params and its ``mean_*``, ``std_*`` and ``rank_*``
figures from ``cv_results_``; the candidates' own fits (every fold, and the refit) log
nothing. Children are written after the search, from ``cv_results_``, so they cost two
writes each, whatever ``n_jobs`` is. With ``register_best="name"`` the best model is
registered as the next version of ``name``, linked to the parent run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podium.tracking.autolog.estimators import (
    estimator_params,
    fit_data,
    log_fit,
    run_tags,
)
from podium.tracking.autolog.params import param_values, scalar_metrics
from podium.tracking.autolog.state import AutologSettings
from podium.tracking.autolog.target import FitRun, guarded, open_fit_run, open_run

__all__ = ["CANDIDATE_TAG", "candidate_metrics", "fit_search", "log_candidates"]

CANDIDATE_TAG = "podium.search.candidate"
_FIGURES = ("mean_", "std_", "rank_")


def candidate_metrics(results: Mapping[str, Any], index: int) -> dict[str, float]:
    """The ``mean_*``, ``std_*`` and ``rank_*`` figures of candidate ``index``."""
    return scalar_metrics({k: v[index] for k, v in results.items() if k.startswith(_FIGURES)})


def log_candidates(parent: FitRun, search: Any) -> list[str]:
    """One finished child run of ``parent`` per candidate of ``search``; their ids."""
    results = search.cv_results_
    tags = {"podium.autolog": "sklearn", "podium.estimator": type(search.estimator).__name__}
    ids: list[str] = []
    for index, params in enumerate(results["params"]):
        child: FitRun | None = None
        with guarded(f"log candidate {index}"):
            child = open_run(
                parent.tracking,
                parent.experiment,
                name=f"{parent.name}-{index}",
                params=param_values(params),
                tags={**tags, CANDIDATE_TAG: str(index)},
                parent_run_id=parent.run_id,
            )
        if child is None:
            continue
        child.log_metrics(candidate_metrics(results, index))
        child.finish()
        ids.append(child.run_id)
    return ids


def _register_best(settings: AutologSettings, run: FitRun, search: Any, x: Any) -> None:
    name = settings.register_best
    best = getattr(search, "best_estimator_", None)
    if name is None or best is None:
        return
    example = x[:5] if hasattr(x, "__getitem__") and hasattr(x, "shape") else None
    with guarded(f"register the best model as '{name}'"):
        platform = run.platform or settings.platform()
        platform.registry.register(name, best, run_id=run.run_id, input_example=example)


def fit_search(
    settings: AutologSettings,
    original: Callable[..., Any],
    search: Any,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> Any:
    """Run the search's fit as the parent run, then log its candidates and best model."""
    run = open_fit_run(
        settings,
        name=type(search).__name__,
        params=estimator_params(search),
        tags=run_tags(search),
    )
    if run is None:
        return original(search, *args, **kwargs)
    try:
        result = original(search, *args, **kwargs)
    except BaseException:
        run.finish("FAILED")
        raise
    children = log_candidates(run, search)
    best_index = getattr(search, "best_index_", None)
    if best_index is not None:
        run.log_params(param_values(search.best_params_, prefix="best_"))
        run.set_tags({"podium.search.best_candidate": str(best_index)})
        if int(best_index) < len(children):
            run.set_tags({"podium.search.best_run_id": children[int(best_index)]})
    if hasattr(search, "best_score_"):
        run.log_metrics(scalar_metrics({"best_cv_score": search.best_score_}))
    best = getattr(search, "best_estimator_", None)
    log_fit(settings, run, search, args, kwargs, model=best)
    run.finish()
    _register_best(settings, run, search, fit_data(args, kwargs)[0])
    return result
