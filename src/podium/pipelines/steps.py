"""Ready-made step bodies: the validation gate that proposes a better model for production.

Call :func:`validate_and_propose` from the code of a ``@podium.step`` (on the local
runner): it scores the candidate and the current production version of the model on a
held-out set, logs both scores to the step's tracked run, and when the candidate is good
enough registers it and asks for the move to production. The model's approval rules
still apply: with the default policy the request waits for an admin's approval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from podium.errors import InvalidInputError, NotFoundError
from podium.pipelines.context import current_platform, current_step
from podium.tracking.types import MetricPoint

__all__ = ["METRICS", "GateResult", "validate_and_propose"]


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
    then wins); ``version`` and ``request_id`` are ``None`` when it was not proposed.
    """

    proposed: bool
    metric: str
    candidate: float
    production: float | None
    version: int | None = None
    request_id: str | None = None


def validate_and_propose(
    model: Any,
    *,
    name: str,
    X: Any,
    y: Any,
    metric: str = "auc",
    min_improvement: float = 0.0,
) -> GateResult:
    """Compare ``model`` with ``name@production`` on ``X``/``y``; propose it if better.

    Both are scored with ``metric`` (``auc`` on ``predict_proba(X)[:, 1]``, ``accuracy``
    or ``f1`` on ``predict(X)``), logged as ``candidate_<metric>`` and
    ``production_<metric>`` on the calling step's tracked run. When the candidate scores
    at least the production version's score plus ``min_improvement`` (or there is no
    production version), it is registered as the next version of ``name`` with
    ``run_id`` of the step (``X[:5]`` as the input example) and its move to production is
    requested; the model's approval rules decide when it applies.

    Must run inside a pipeline step on the local runner (see
    :mod:`podium.pipelines.context`). Raises
    :class:`~podium.errors.InvalidInputError` for an unknown metric or a negative
    ``min_improvement`` before anything is scored, and
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
    step = current_step()
    platform = current_platform()
    candidate = score(model, X, y)
    try:
        production_model: Any = platform.registry.load(f"{name}@production")
    except NotFoundError:
        production_model = None
    production = None if production_model is None else score(production_model, X, y)

    now = _now_ms()
    points = [MetricPoint(key=f"candidate_{metric}", value=candidate, timestamp=now)]
    if production is not None:
        points.append(MetricPoint(key=f"production_{metric}", value=production, timestamp=now))
    platform.tracking.log_metric_points(step.run_id, points)

    if production is not None and candidate < production + min_improvement:
        return GateResult(proposed=False, metric=metric, candidate=candidate, production=production)
    registered = platform.registry.register(name, model, run_id=step.run_id, input_example=X[:5])
    request = platform.registry.request_transition(
        name,
        registered.version,
        "production",
        comment=_comment(metric, candidate, production),
    )
    return GateResult(
        proposed=True,
        metric=metric,
        candidate=candidate,
        production=production,
        version=registered.version,
        request_id=request.id,
    )


def _comment(metric: str, candidate: float, production: float | None) -> str:
    if production is None:
        return f"validation gate: {metric} {candidate:.4f}; no production version yet"
    return f"validation gate: {metric} {candidate:.4f} vs production {production:.4f}"


def _now_ms() -> int:
    return int(time.time() * 1000)
