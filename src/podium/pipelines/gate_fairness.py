"""The validation gate's fairness thresholds: per-group gaps of a candidate's predictions.

For a sensitive attribute (one group value per held-out row) the gate measures, for each
metric asked for, the gap between the best- and the worst-treated group:

- ``demographic_parity_difference``: largest minus smallest selection rate (share of the
  group predicted positive);
- ``equal_opportunity_difference``: largest minus smallest true positive rate;
- ``accuracy_difference``: largest minus smallest accuracy.

The first two are the monitoring area's computations (:mod:`podium.monitoring.fairness`,
fairlearn's definitions), so a gate and a fairness report agree on the same rows. A gap
that cannot be measured (one group only, or no group with actual positives) blocks the
candidate too: a gate asked to check fairness does not pass what it could not check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from podium.errors import InvalidInputError
from podium.monitoring.accuracy import ArrayLike, missing_mask, paired_labels, to_labels
from podium.monitoring.fairness import FairnessReport, fairness_metrics

__all__ = ["FAIRNESS_METRICS", "FairnessGap", "check_fairness", "fairness_gaps", "sensitive_values"]

#: The fairness gaps the gate can bound, with what each measures.
FAIRNESS_METRICS: dict[str, str] = {
    "demographic_parity_difference": "largest minus smallest share predicted positive",
    "equal_opportunity_difference": "largest minus smallest true positive rate",
    "accuracy_difference": "largest minus smallest accuracy",
}


@dataclass(frozen=True)
class FairnessGap:
    """One fairness metric of the candidate against its allowed maximum.

    ``group`` is the worst-treated group (lowest rate) and ``reference`` the best-treated
    one; ``gap`` is the difference of their rates, ``None`` when it cannot be measured
    (``why`` says why). ``exceeded`` when the gap is over ``max_gap`` or unmeasured.
    """

    metric: str
    gap: float | None
    max_gap: float
    group: str | None = None
    reference: str | None = None
    rates: Mapping[str, float] | None = None
    why: str | None = None

    @property
    def exceeded(self) -> bool:
        """Whether this gap keeps the candidate from being proposed."""
        return self.gap is None or self.gap > self.max_gap

    def describe(self) -> str:
        """One line: the metric, the gap, the two groups and the limit."""
        if self.gap is None:
            return f"{self.metric} cannot be measured ({self.why}); max {self.max_gap:g}"
        rates = self.rates or {}
        low, high = rates.get(self.group or "", 0.0), rates.get(self.reference or "", 0.0)
        verdict = "exceeds" if self.exceeded else "within"
        return (
            f"{self.metric} {self.gap:.4f} {verdict} max {self.max_gap:g}: group "
            f"{self.group!r} {low:.4f} vs {self.reference!r} {high:.4f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "metric": self.metric,
            "gap": self.gap,
            "max_gap": self.max_gap,
            "group": self.group,
            "reference": self.reference,
            "rates": dict(self.rates or {}),
            "why": self.why,
            "exceeded": self.exceeded,
        }


def check_fairness(fairness: object, sensitive: object) -> dict[str, float]:
    """``fairness`` as ``{metric: max_gap}``, or InvalidInputError naming the bad part."""
    if fairness is None:
        if sensitive is not None:
            raise InvalidInputError(
                "validate_and_propose got 'sensitive' but no 'fairness' thresholds",
                field="fairness",
                remedy="pass e.g. fairness={'demographic_parity_difference': 0.1}",
            )
        return {}
    if not isinstance(fairness, Mapping) or not fairness:
        raise InvalidInputError(
            "the 'fairness' parameter of validate_and_propose must be a non-empty mapping "
            f"of metric to maximum gap; got {fairness!r} instead",
            field="fairness",
            remedy="pass e.g. fairness={'demographic_parity_difference': 0.1}",
        )
    if sensitive is None:
        raise InvalidInputError(
            "fairness thresholds need the sensitive attribute of each held-out row",
            field="sensitive",
            remedy="pass sensitive=<column name of X> or one group value per row of X",
        )
    checked: dict[str, float] = {}
    for metric, limit in fairness.items():
        if metric not in FAIRNESS_METRICS:
            raise InvalidInputError(
                f"the fairness metric must be one of {', '.join(sorted(FAIRNESS_METRICS))}; "
                f"got {metric!r} instead",
                field="fairness",
                remedy="bound e.g. 'demographic_parity_difference' or 'accuracy_difference'",
            )
        if isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 <= limit <= 1:
            raise InvalidInputError(
                f"the maximum gap of {metric!r} must be a number from 0 to 1; "
                f"got {limit!r} instead",
                field="fairness",
                remedy=f"pass e.g. fairness={{{metric!r}: 0.1}}",
            )
        checked[metric] = float(limit)
    return checked


def sensitive_values(sensitive: ArrayLike | str, X: Any) -> ArrayLike:
    """The group of each row of ``X``: ``X[sensitive]`` for a column name, else as given."""
    if not isinstance(sensitive, str):
        return sensitive
    columns = getattr(X, "columns", None)
    if columns is None or sensitive not in columns:
        raise InvalidInputError(
            f"sensitive={sensitive!r} names no column of X",
            field="sensitive",
            remedy="pass a column of the X DataFrame, or one group value per row of X",
        )
    return X[sensitive]


def fairness_gaps(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    sensitive: ArrayLike,
    thresholds: Mapping[str, float],
    *,
    positive: Any = 1,
) -> list[FairnessGap]:
    """The gap of each metric in ``thresholds`` over the groups of ``sensitive``."""
    report = fairness_metrics(y_true, y_pred, sensitive, positive=positive)
    rates_of: dict[str, Callable[[], dict[str, float | None]]] = {
        "demographic_parity_difference": lambda: _rates(report, "selection_rate"),
        "equal_opportunity_difference": lambda: _rates(report, "true_positive_rate"),
        "accuracy_difference": lambda: _accuracies(y_true, y_pred, sensitive),
    }
    return [_gap(metric, limit, rates_of[metric]()) for metric, limit in thresholds.items()]


def _rates(report: FairnessReport, attribute: str) -> dict[str, float | None]:
    return {name: getattr(group, attribute) for name, group in report.groups.items()}


def _accuracies(
    y_true: ArrayLike, y_pred: ArrayLike, sensitive: ArrayLike
) -> dict[str, float | None]:
    groups_raw = to_labels(sensitive, field="sensitive")
    keep = ~missing_mask(groups_raw)
    truth, pred, carried, _ = paired_labels(
        to_labels(y_true, field="y_true")[keep],
        to_labels(y_pred, field="y_pred")[keep],
        groups_raw[keep],
    )
    names = np.array([str(v) for v in (carried if carried is not None else [])], dtype=object)
    hits = truth == pred
    return {name: float(np.mean(hits[names == name])) for name in sorted(set(names.tolist()))}


def _gap(metric: str, limit: float, rates: Mapping[str, float | None]) -> FairnessGap:
    known = {group: rate for group, rate in rates.items() if rate is not None}
    if len(known) < 2:
        why = f"needs a rate for two groups; has {sorted(known) or 'none'}"
        return FairnessGap(metric, None, limit, rates=known, why=why)
    low = min(known, key=lambda group: known[group])
    high = max(known, key=lambda group: known[group])
    return FairnessGap(metric, known[high] - known[low], limit, low, high, known)
