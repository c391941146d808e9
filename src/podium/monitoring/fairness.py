"""Fairness: do predictions treat the groups of a sensitive attribute alike?

For each group of ``sensitive``: its selection rate (share predicted positive) and true
positive rate (share of actual positives predicted positive). Across groups:

- demographic parity difference: largest minus smallest selection rate (with
  ``privileged``: the largest gap of another group's rate to the privileged group's,
  signed, negative when that group is selected less);
- equal opportunity difference: the same over true positive rates;
- disparate impact ratio: smallest over largest selection rate (with ``privileged``:
  the smallest ratio of another group's rate to the privileged group's). The "80% rule"
  flags values below 0.8.

Without ``privileged`` these are fairlearn's ``demographic_parity_difference``,
``equal_opportunity_difference`` and ``demographic_parity_ratio``. A group with no rows
or no actual positives has no rate, and a metric that needs two groups says "not enough
data" rather than inventing a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from podium.errors import InvalidInputError
from podium.monitoring.accuracy import (
    ArrayLike,
    MetricValue,
    missing_mask,
    paired_labels,
    to_labels,
)

__all__ = ["FairnessReport", "GroupRates", "fairness_metrics"]


@dataclass(frozen=True)
class GroupRates:
    """One group's rows, actual positives, selection rate and true positive rate."""

    group: str
    count: int
    positives: int
    selection_rate: float | None
    true_positive_rate: float | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class FairnessReport:
    """Per-group rates and the three fairness metrics across groups."""

    groups: dict[str, GroupRates]
    demographic_parity_difference: MetricValue
    equal_opportunity_difference: MetricValue
    disparate_impact_ratio: MetricValue
    privileged: str | None
    count: int
    excluded: int = 0

    @property
    def metrics(self) -> dict[str, MetricValue]:
        """The three metrics by name."""
        return {
            m.name: m
            for m in (
                self.demographic_parity_difference,
                self.equal_opportunity_difference,
                self.disparate_impact_ratio,
            )
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "groups": {name: g.to_dict() for name, g in self.groups.items()},
            "metrics": {name: m.to_dict() for name, m in self.metrics.items()},
            "privileged": self.privileged,
            "count": self.count,
            "excluded": self.excluded,
        }


def fairness_metrics(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    sensitive: ArrayLike,
    *,
    positive: Any = 1,
    privileged: Any = None,
) -> FairnessReport:
    """Fairness of ``y_pred`` against ``y_true`` across the groups of ``sensitive``.

    Rows with a missing label, prediction or group are left out (``excluded``). Groups
    are named by ``str(value)``; ``privileged`` is one of those values.
    """
    groups_raw = to_labels(sensitive, field="sensitive")
    truth_raw = to_labels(y_true, field="y_true")
    if groups_raw.size != truth_raw.size:
        raise InvalidInputError(
            f"sensitive has {groups_raw.size} values but y_true has {truth_raw.size}",
            field="sensitive",
            remedy="pass one group value per labelled prediction",
        )
    pred_raw = to_labels(y_pred, field="y_pred")
    if pred_raw.size != truth_raw.size:
        raise InvalidInputError(
            f"y_true has {truth_raw.size} labels but y_pred has {pred_raw.size} predictions",
            field="y_pred",
            remedy="pass one prediction per label",
        )
    total = int(truth_raw.size)
    keep = ~missing_mask(groups_raw)
    truth, pred, carried, kind = paired_labels(truth_raw[keep], pred_raw[keep], groups_raw[keep])
    names = np.array([str(v) for v in (carried if carried is not None else [])], dtype=object)
    if kind == "number":
        if isinstance(positive, str):
            raise InvalidInputError(
                f"the positive class {positive!r} is a string but the labels are numbers",
                field="positive",
            )
        positive = float(positive)
    hit_true, hit_pred = truth == positive, pred == positive
    rates = {
        name: _group(name, hit_true[names == name], hit_pred[names == name])
        for name in sorted(set(names.tolist()))
    }
    count = int(truth.size)
    chosen = None if privileged is None else str(privileged)
    if chosen is not None and chosen not in rates:
        raise InvalidInputError(
            f"the privileged group {chosen!r} has no labelled rows",
            field="privileged",
            remedy=f"choose among {sorted(rates)}" if rates else "send labelled traffic first",
        )
    selection = {g: r.selection_rate for g, r in rates.items()}
    tpr = {g: r.true_positive_rate for g, r in rates.items()}
    return FairnessReport(
        groups=rates,
        demographic_parity_difference=_difference(
            "demographic_parity_difference", selection, chosen, count
        ),
        equal_opportunity_difference=_difference(
            "equal_opportunity_difference", tpr, chosen, count
        ),
        disparate_impact_ratio=_ratio(selection, chosen, count),
        privileged=chosen,
        count=count,
        excluded=total - count,
    )


def _group(name: str, hit_true: np.ndarray[Any, Any], hit_pred: np.ndarray[Any, Any]) -> GroupRates:
    n, positives = int(hit_true.size), int(np.count_nonzero(hit_true))
    selection = float(np.count_nonzero(hit_pred)) / n
    if positives == 0:
        return GroupRates(name, n, 0, selection, None, "no positive labels in this group")
    tpr = float(np.count_nonzero(hit_pred & hit_true)) / positives
    return GroupRates(name, n, positives, selection, tpr)


def _defined(rates: dict[str, float | None]) -> dict[str, float]:
    return {g: r for g, r in rates.items() if r is not None}


def _difference(
    name: str, rates: dict[str, float | None], privileged: str | None, n: int
) -> MetricValue:
    known = _defined(rates)
    if len(known) < 2 or (privileged is not None and privileged not in known):
        why = "not enough data: needs a rate for two groups" + (
            f" including '{privileged}'" if privileged is not None else ""
        )
        return MetricValue(name, None, why, n)
    if privileged is None:
        return MetricValue(name, max(known.values()) - min(known.values()), None, n)
    base = known.pop(privileged)
    gaps = [rate - base for rate in known.values()]
    return MetricValue(name, max(gaps, key=abs), None, n)


def _ratio(rates: dict[str, float | None], privileged: str | None, n: int) -> MetricValue:
    name = "disparate_impact_ratio"
    known = _defined(rates)
    if len(known) < 2:
        return MetricValue(name, None, "not enough data: needs two groups", n)
    base = known.pop(privileged) if privileged is not None else max(known.values())
    if base == 0:
        return MetricValue(name, None, "the reference group's selection rate is 0", n)
    return MetricValue(name, min(known.values()) / base, None, n)
