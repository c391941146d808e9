"""Ready-made step bodies: the validation gate that proposes a better model for production.

Call :func:`validate_and_propose` from the code of a ``@podium.step`` (on the local
runner): it scores the candidate and the current production version of the model on a
held-out set, logs both scores to the step's tracked run, and when the candidate is good
enough registers it and asks for the move to production. The model's approval rules
still apply: with the default policy the request waits for an admin's approval.

With ``fairness`` thresholds the candidate must also treat the groups of a sensitive
attribute alike (:mod:`podium.pipelines.gate_fairness`): a candidate over a maximum gap
is not proposed, and the reason (metric, gap, groups) is returned and recorded on the
step's run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from podium.errors import InvalidInputError, NotFoundError
from podium.pipelines.context import current_platform, current_step
from podium.pipelines.gate_fairness import (
    FairnessGap,
    check_fairness,
    fairness_gaps,
    sensitive_values,
)
from podium.tracking.types import MetricPoint

__all__ = ["GATE_TAGS", "METRICS", "FairnessGap", "GateResult", "validate_and_propose"]

#: Tags the gate sets on its step's tracked run: whether it proposed, and why not.
GATE_TAGS = ("podium.gate.proposed", "podium.gate.reason")
_MAX_TAG = 6000  # tracking stores tag values up to this length


def _auc(model: Any, X: Any, y: Any) -> float:
    return float(roc_auc_score(y, _positive_scores(model, X)))


def _accuracy(model: Any, X: Any, y: Any) -> float:
    return float(accuracy_score(y, model.predict(X)))


def _f1(model: Any, X: Any, y: Any) -> float:
    return float(f1_score(y, model.predict(X)))


def _positive_scores(model: Any, X: Any) -> Any:
    probabilities = model.predict_proba(X)
    return probabilities[:, 1]


#: The metrics the gate can compare on (higher is better for each).
METRICS: dict[str, Callable[[Any, Any, Any], float]] = {
    "auc": _auc,
    "accuracy": _accuracy,
    "f1": _f1,
}


@dataclass(frozen=True)
class GateResult:
    """What the gate decided: the two scores and, when proposed, the version and request.

    ``production`` is ``None`` when the model had no production version (the candidate
    then wins); ``version`` and ``request_id`` are ``None`` when it was not proposed, and
    ``reason`` then says why (the score, or each fairness gap over its maximum).
    ``fairness`` holds every fairness gap measured, within its maximum or not.
    """

    proposed: bool
    metric: str
    candidate: float
    production: float | None
    version: int | None = None
    request_id: str | None = None
    reason: str | None = None
    fairness: tuple[FairnessGap, ...] = field(default=())

    @property
    def violations(self) -> list[FairnessGap]:
        """The fairness gaps over their maximum (or not measurable)."""
        return [gap for gap in self.fairness if gap.exceeded]


def validate_and_propose(
    model: Any,
    *,
    name: str,
    X: Any,
    y: Any,
    metric: str = "auc",
    min_improvement: float = 0.0,
    sensitive: Any = None,
    fairness: Mapping[str, float] | None = None,
    positive: Any = 1,
) -> GateResult:
    """Compare ``model`` with ``name@production`` on ``X``/``y``; propose it if better.

    Both are scored with ``metric`` (``auc`` on ``predict_proba(X)[:, 1]``, ``accuracy``
    or ``f1`` on ``predict(X)``), logged as ``candidate_<metric>`` and
    ``production_<metric>`` on the calling step's tracked run. When the candidate scores
    at least the production version's score plus ``min_improvement`` (or there is no
    production version), it is registered as the next version of ``name`` with
    ``run_id`` of the step (``X[:5]`` as the input example) and its move to production is
    requested; the model's approval rules decide when it applies.

    ``fairness`` bounds per-group gaps of the candidate's ``predict(X)`` over the groups
    of ``sensitive`` (a column name of the ``X`` DataFrame, or one group value per row):
    ``{"demographic_parity_difference": 0.1, "equal_opportunity_difference": 0.1,
    "accuracy_difference": 0.05}`` (largest minus smallest selection rate, true positive
    rate of class ``positive``, accuracy across groups). Each gap is logged as
    ``candidate_<name>``; a gap over its maximum, or one that cannot be measured (a single
    group), keeps the candidate from being proposed. Whenever it is not proposed the
    reason is set as the tag ``podium.gate.reason`` on the step's run and returned in
    :attr:`GateResult.reason`.

    Must run inside a pipeline step on the local runner (see
    :mod:`podium.pipelines.context`). Raises
    :class:`~podium.errors.InvalidInputError` for an unknown metric, a negative
    ``min_improvement``, an unknown fairness metric or a maximum gap outside 0..1, or
    ``fairness`` without ``sensitive`` (or the reverse) before anything is scored, and
    :class:`~podium.errors.ConflictError` outside a running step or when the model
    already has a production request pending.
    """
    score = METRICS.get(metric)
    if score is None:
        raise InvalidInputError(
            f"the 'metric' parameter of validate_and_propose must be one of "
            f"{', '.join(sorted(METRICS))}; got {metric!r} instead",
            field="metric",
            remedy=f"pass metric={sorted(METRICS)[0]!r} or another of those names",
        )
    if not isinstance(min_improvement, int | float) or min_improvement < 0:
        raise InvalidInputError(
            f"the 'min_improvement' parameter of validate_and_propose must be a number "
            f">= 0; got {min_improvement!r} instead",
            field="min_improvement",
            remedy="pass the smallest gain over production worth proposing, e.g. 0.01",
        )
    thresholds = check_fairness(fairness, sensitive)
    groups = None if sensitive is None else sensitive_values(sensitive, X)
    step = current_step()
    platform = current_platform()
    candidate = score(model, X, y)
    gaps = (
        ()
        if groups is None
        else tuple(fairness_gaps(y, model.predict(X), groups, thresholds, positive=positive))
    )
    try:
        production_model: Any = platform.registry.load(f"{name}@production")
    except NotFoundError:
        production_model = None
    production = None if production_model is None else score(production_model, X, y)

    now = _now_ms()
    points = [MetricPoint(key=f"candidate_{metric}", value=candidate, timestamp=now)]
    if production is not None:
        points.append(MetricPoint(key=f"production_{metric}", value=production, timestamp=now))
    points += [
        MetricPoint(key=f"candidate_{gap.metric}", value=gap.gap, timestamp=now)
        for gap in gaps
        if gap.gap is not None
    ]
    platform.tracking.log_metric_points(step.run_id, points)

    reasons = [gap.describe() for gap in gaps if gap.exceeded]
    if production is not None and candidate < production + min_improvement:
        reasons.insert(0, _worse(metric, candidate, production, min_improvement))
    if reasons:
        reason = "; ".join(reasons)
        tags = {GATE_TAGS[0]: "false", GATE_TAGS[1]: reason[:_MAX_TAG]}
        platform.tracking.set_tags(step.run_id, tags)
        return GateResult(
            proposed=False,
            metric=metric,
            candidate=candidate,
            production=production,
            reason=reason,
            fairness=gaps,
        )
    registered = platform.registry.register(name, model, run_id=step.run_id, input_example=X[:5])
    request = platform.registry.request_transition(
        name,
        registered.version,
        "production",
        comment="; ".join(
            [_comment(metric, candidate, production), *map(FairnessGap.describe, gaps)]
        ),
    )
    platform.tracking.set_tags(step.run_id, {GATE_TAGS[0]: "true"})
    return GateResult(
        proposed=True,
        metric=metric,
        candidate=candidate,
        production=production,
        version=registered.version,
        request_id=request.id,
        fairness=gaps,
    )


def _worse(metric: str, candidate: float, production: float, min_improvement: float) -> str:
    wanted = f"production + {min_improvement:g}" if min_improvement else "production"
    return f"{metric} {candidate:.4f} is below {wanted} ({production:.4f})"


def _comment(metric: str, candidate: float, production: float | None) -> str:
    if production is None:
        return f"validation gate: {metric} {candidate:.4f}; no production version yet"
    return f"validation gate: {metric} {candidate:.4f} vs production {production:.4f}"


def _now_ms() -> int:
    return int(time.time() * 1000)
