"""Pruning: drop the trees of a scikit-learn ensemble that its predictions do not need.

:func:`prune_version` is what ``podium models optimize NAME VERSION --prune`` runs, for a
random forest, extra-trees or gradient-boosting model (classifier or regressor, alone or
as the last step of a pipeline). On the fitting part of the sample (see
:mod:`podium.registry.holdout`) it removes trees greedily (a forest: the tree whose
removal keeps the ensemble's predictions closest to the full ensemble's; a boosted model:
its last stage, since each stage corrects the ones before it), for as long as the
pruned ensemble still agrees with the full one on those rows within a quarter of the
allowed disagreement (at least 99.75% for a ``threshold`` of 99%: greedy selection fits
the rows it selects on, and the held-out gate then has room).
The pruned copy is then compared with its source on the held-out rows and registered
``derived_from`` it only when that agreement, too, reaches ``threshold``.

Every tree's contribution is computed once, so a step costs one vectorized pass over
the remaining trees; a forest's trees vote by summed probabilities (its ``predict``),
a boosted model's stages add ``learning_rate`` times their output to the raw score.
A regressor's predictions agree when equal within a relative 1e-3, as in
:func:`~podium.registry.conversion.compare`, so a regressor rarely loses trees.
An XGBoost version (a scikit-learn wrapper) loses its trailing boosting rounds the same
way (XGBoost slices a booster by rounds); a plain ``Booster`` and LightGBM are not pruned.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import InvalidInputError
from podium.registry.conversion import Comparison, compare
from podium.registry.flavors import PodiumModel, get_flavor
from podium.registry.holdout import check_threshold, gate, split_sample
from podium.registry.protocol import Registry
from podium.registry.types import ModelVersion

__all__ = ["PRUNABLE", "prune_ensemble", "prune_version"]

PRUNABLE = (
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
)
"""The scikit-learn ensembles :func:`prune_version` prunes."""

PRUNE_BUDGET_SHARE = 0.25
"""The share of the disagreement ``1 - threshold`` pruning may spend on its fitting rows."""
_REMEDY = "keep the source version, pass a larger sample, or lower --threshold"


def prune_version(
    registry: Registry,
    ref: str,
    *,
    sample: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None = None,
    threshold: float = 0.99,
) -> tuple[ModelVersion, Comparison]:
    """Register the tree ensemble ``ref`` with the trees it does not need removed.

    Returns the new version (tagged ``optimized=pruned`` and ``trees=KEPT/TOTAL``) and
    how it compares with its source on the held-out part of ``sample``. Raises
    :class:`InvalidInputError` when ``ref`` is not a prunable scikit-learn ensemble, and
    (code ``agreement-too-low``) when the pruned model agrees with its source on fewer
    than ``threshold`` of the held-out rows; nothing is registered then.
    """
    check_threshold(threshold)
    version = registry.get_version(ref)
    source = registry.load(version.ref)
    if version.flavor == "xgboost" and not getattr(source.model, "is_booster", True):
        return _prune_xgboost(registry, version, source, sample, labels, threshold)
    if version.flavor != "sklearn" or type(_final_step(source.model)).__name__ not in PRUNABLE:
        raise InvalidInputError(
            f"--prune applies to scikit-learn random forests, extra-trees and gradient "
            f"boosting, and XGBoost wrappers; {version.ref} is a {version.flavor!r} model "
            f"({type(_final_step(source.model)).__name__})",
            field="ref",
            remedy="prune a tree-ensemble version (or an XGBoost scikit-learn wrapper), "
            "or distill this one with "
            "--distill student=small-gbm",
        )
    frame = source.signature.validate(sample)
    split = split_sample(frame, labels, purpose="pruning")
    # A quarter of the allowed disagreement on the rows it prunes on, so that what greedy
    # selection fits to those rows leaves the held-out agreement above the threshold.
    bound = 1.0 - (1.0 - threshold) * PRUNE_BUDGET_SHARE
    pruned, kept = prune_ensemble(source.model, _as_model_input(source, split.fit), bound)
    total = _tree_count(_final_step(source.model))
    candidate = PodiumModel(pruned, flavor="sklearn", signature=source.signature)
    comparison = compare(source, candidate, split.held_out, y=split.held_out_labels)
    gate(comparison, threshold, remedy=_REMEDY)
    registered = registry.register(
        version.name,
        pruned,
        signature=source.signature,
        description=f"{version.ref} pruned from {total} to {kept} trees",
        tags={"optimized": "pruned", "trees": f"{kept}/{total}"},
        derived_from=version.ref,
    )
    return registered, comparison


def _prune_xgboost(
    registry: Registry,
    version: ModelVersion,
    source: PodiumModel,
    sample: pd.DataFrame,
    labels: Sequence[Any] | np.ndarray[Any, Any] | pd.Series[Any] | None,
    threshold: float,
) -> tuple[ModelVersion, Comparison]:
    """An XGBoost wrapper without its trailing boosting rounds, gated and registered.

    Boosting rounds correct the ones before them, so as for scikit-learn's gradient
    boosting only the last rounds go: the fewest rounds whose predictions (XGBoost's own
    ``predict(..., iteration_range=...)``) still agree on the fitting rows.
    """
    split = split_sample(source.signature.validate(sample), labels, purpose="pruning")
    wrapper = source.model.model  # an XGBoostModel's XGBClassifier or XGBRegressor
    rows = split.fit.to_numpy(dtype=np.float32)
    total = int(wrapper.get_booster().num_boosted_rounds())
    reference = np.asarray(wrapper.predict(rows))
    bound = 1.0 - (1.0 - threshold) * PRUNE_BUDGET_SHARE
    kept = total
    while kept > 1:
        trial = np.asarray(wrapper.predict(rows, iteration_range=(0, kept - 1)))
        if float(np.mean(_same(trial, reference))) < bound:
            break
        kept -= 1
    flavor = get_flavor("xgboost")
    booster = _xgboost_booster(flavor.save(source.model))
    sliced = booster[0:kept]
    sliced.set_attr(scikit_learn=booster.attr("scikit_learn"))
    pruned = flavor.load(bytes(sliced.save_raw(raw_format="json")))
    candidate = PodiumModel(pruned, flavor="xgboost", signature=source.signature)
    comparison = compare(source, candidate, split.held_out, y=split.held_out_labels)
    gate(comparison, threshold, remedy=_REMEDY)
    registered = registry.register(
        version.name,
        pruned,
        signature=source.signature,
        description=f"{version.ref} pruned from {total} to {kept} boosting rounds",
        tags={"optimized": "pruned", "trees": f"{kept}/{total}"},
        derived_from=version.ref,
    )
    return registered, comparison


def _xgboost_booster(data: bytes) -> Any:
    import xgboost  # the version is an xgboost one: the extra is installed

    booster = xgboost.Booster()
    booster.load_model(bytearray(data))
    return booster


def prune_ensemble(model: Any, X: Any, threshold: float) -> tuple[Any, int]:
    """A pruned copy of ``model`` agreeing with it on ``threshold`` of ``X``, and its tree count.

    ``model`` is a fitted :data:`PRUNABLE` ensemble or a pipeline ending in one; ``X`` is
    what ``model.predict`` takes. ``model`` itself is left unchanged.
    """
    ensemble = _final_step(model)
    features = X if ensemble is model else model[:-1].transform(X)
    view = _view(ensemble, features)
    total = view.base + view.parts.sum(axis=0)
    reference, scores = view.decide(total, len(view.parts)), view.scores(total, len(view.parts))
    remaining = list(range(len(view.parts)))
    while len(remaining) > 1:
        # A boosted stage corrects the ones before it, so only the last may go (the
        # truncation early stopping would have made); a forest's trees are peers.
        candidates = remaining[-1:] if view.sequential else remaining
        trials = total[None] - view.parts[candidates]
        decided = view.decide(trials, len(remaining) - 1)
        agreement = _same(decided, reference[None]).mean(axis=1)
        # Among the removals that keep the most predictions, the one that moves the
        # scores least: flips that did not happen on these rows stay unlikely elsewhere.
        shift = ((view.scores(trials, len(remaining) - 1) - scores[None]) ** 2).mean(axis=(1, 2))
        best = int(np.lexsort((shift, -agreement))[0])
        if agreement[best] < threshold:
            break
        total = trials[best]
        remaining.remove(candidates[best])
    pruned = copy.deepcopy(model)
    _keep(_final_step(pruned), remaining)
    return pruned, len(remaining)


@dataclass(frozen=True)
class _EnsembleView:
    """Per-tree contributions ``parts`` (trees, rows, outputs) added to ``base``, and how a
    sum of them becomes predictions (``decide``)."""

    parts: np.ndarray[Any, Any]
    base: np.ndarray[Any, Any]
    classes: np.ndarray[Any, Any] | None
    averaged: bool
    sequential: bool

    def scores(self, totals: np.ndarray[Any, Any], count: int) -> np.ndarray[Any, Any]:
        """What predictions are made from: mean probabilities or values, or raw scores."""
        return totals / count if self.averaged else totals

    def decide(self, totals: np.ndarray[Any, Any], count: int) -> np.ndarray[Any, Any]:
        """Predictions from summed contributions (trailing axes: rows, outputs)."""
        if self.classes is None:
            values = totals[..., 0]
            return values / count if self.averaged else values
        if totals.shape[-1] == 1:  # a binary boosted model: one raw score, positive > 0
            return np.asarray(self.classes[(totals[..., 0] > 0).astype(int)])
        return np.asarray(self.classes[np.argmax(totals, axis=-1)])


def _view(ensemble: Any, X: Any) -> _EnsembleView:
    from sklearn.base import is_classifier

    rows = np.asarray(X, dtype=np.float32)
    classes = np.asarray(ensemble.classes_) if is_classifier(ensemble) else None
    if hasattr(ensemble, "learning_rate"):  # gradient boosting: raw score = init + stages
        stages = ensemble.estimators_  # (stages, outputs) regression trees
        parts = np.stack(
            [np.stack([tree.predict(rows) for tree in stage], axis=-1) for stage in stages]
        ) * float(ensemble.learning_rate)
        raw = ensemble.decision_function(X) if classes is not None else ensemble.predict(X)
        raw = np.asarray(raw, dtype=np.float64).reshape(len(rows), -1)
        return _EnsembleView(
            parts, raw - parts.sum(axis=0), classes, averaged=False, sequential=True
        )
    if classes is not None:
        parts = np.stack([tree.predict_proba(rows) for tree in ensemble.estimators_])
    else:
        parts = np.stack(
            [tree.predict(rows).reshape(len(rows), -1) for tree in ensemble.estimators_]
        )
    if parts.ndim != 3 or (classes is None and parts.shape[-1] != 1):
        raise InvalidInputError(
            "--prune needs a single-output ensemble",
            field="ref",
            remedy="prune a model trained on one target column",
        )
    return _EnsembleView(parts, np.zeros(parts.shape[1:]), classes, averaged=True, sequential=False)


def _keep(ensemble: Any, kept: list[int]) -> None:
    """Keep only the trees (or boosting stages) numbered ``kept``, in their order."""
    kept = sorted(kept)
    if hasattr(ensemble, "learning_rate"):
        ensemble.estimators_ = ensemble.estimators_[kept]
        ensemble.train_score_ = ensemble.train_score_[kept]
        ensemble.n_estimators_ = ensemble.n_estimators = len(kept)
        for stale in ("oob_improvement_", "oob_scores_", "oob_score_", "init_score_"):
            if hasattr(ensemble, stale):
                delattr(ensemble, stale)
    else:
        ensemble.estimators_ = [ensemble.estimators_[i] for i in kept]
        ensemble.n_estimators = len(kept)
        for stale in ("oob_score_", "oob_decision_function_", "oob_prediction_"):
            if hasattr(ensemble, stale):
                delattr(ensemble, stale)


def _same(got: np.ndarray[Any, Any], expected: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if got.dtype.kind == "f" and expected.dtype.kind == "f":
        return np.asarray(np.isclose(got, expected, rtol=1e-3, atol=1e-6))
    return np.asarray(got == expected)


def _tree_count(ensemble: Any) -> int:
    return len(ensemble.estimators_)


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return model if steps is None else steps[-1][1]


def _as_model_input(model: PodiumModel, frame: pd.DataFrame) -> Any:
    """``frame`` as the estimator was fitted: with column names, or as an array."""
    if hasattr(model.model, "feature_names_in_"):
        return frame
    return frame.to_numpy()
