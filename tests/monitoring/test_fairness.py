"""Fairness metrics agree with per-group scikit-learn rates on random data, and say
"not enough data" where a group cannot be judged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics

from podium.errors import InvalidInputError
from podium.monitoring.fairness import fairness_metrics


def sklearn_rates(y, pred, groups, positive=1):  # type: ignore[no-untyped-def]
    """Selection rate and true positive rate per group, computed with sklearn."""
    out = {}
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        selection = float(np.mean(pred[mask] == positive))
        tpr = metrics.recall_score(y[mask], pred[mask], pos_label=positive, zero_division=np.nan)
        out[str(g)] = (selection, None if np.isnan(tpr) else float(tpr))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_per_group_sklearn_rates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 600
    groups = rng.choice(np.array(["f", "m", "x"], dtype=object), n, p=[0.45, 0.45, 0.1])
    y = rng.integers(0, 2, n)
    bias = np.where(groups == "m", 0.15, 0.0)
    pred = (rng.random(n) + bias > 0.5).astype(int)
    report = fairness_metrics(y, pred, groups)
    expected = sklearn_rates(y, pred, groups)
    assert list(report.groups) == list(expected)
    for group, (selection_rate, tpr_rate) in expected.items():
        assert report.groups[group].selection_rate == pytest.approx(selection_rate)
        assert report.groups[group].true_positive_rate == pytest.approx(tpr_rate)
    selection = [s for s, _ in expected.values()]
    tpr = [t for _, t in expected.values() if t is not None]
    assert report.demographic_parity_difference.value == pytest.approx(
        max(selection) - min(selection)
    )
    assert report.equal_opportunity_difference.value == pytest.approx(max(tpr) - min(tpr))
    assert report.disparate_impact_ratio.value == pytest.approx(min(selection) / max(selection))
    assert report.count == n and report.excluded == 0


def test_against_a_privileged_group() -> None:
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 0])
    pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    groups = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2, dtype=object)
    report = fairness_metrics(y, pred, groups, privileged="a")
    # selection: a 3/4, b 1/4, c 0 -> gaps -0.5, -0.75; TPR: a 1, b 0.5, c 0
    assert report.demographic_parity_difference.value == pytest.approx(-0.75)
    assert report.equal_opportunity_difference.value == pytest.approx(-1.0)
    assert report.disparate_impact_ratio.value == pytest.approx(0.0)
    assert report.privileged == "a"


def test_groups_without_positives_or_data() -> None:
    y = np.array([1, 0, 0, 0])
    pred = np.array([1, 1, 0, 0])
    groups = np.array(["a", "a", "b", "b"], dtype=object)
    report = fairness_metrics(y, pred, groups)
    assert report.groups["b"].true_positive_rate is None
    assert report.groups["b"].reason == "no positive labels in this group"
    eod = report.equal_opportunity_difference
    assert eod.value is None and eod.reason is not None and eod.reason.startswith("not enough")
    assert report.demographic_parity_difference.value == pytest.approx(1.0)
    one_group = fairness_metrics([1, 0], [1, 0], ["a", "a"])
    assert one_group.disparate_impact_ratio.value is None
    empty = fairness_metrics([], [], [])
    assert all(m.value is None for m in empty.metrics.values()) and empty.groups == {}
    zero = fairness_metrics([1, 1, 0], [0, 1, 0], ["p", "q", "q"], privileged="p")
    assert zero.disparate_impact_ratio.reason == "the reference group's selection rate is 0"
    json.dumps(report.to_dict(), allow_nan=False)


def test_rows_without_a_group_or_label_are_excluded() -> None:
    report = fairness_metrics([1, 0, None, 1], [1, 0, 1, 1], ["a", None, "b", "b"])
    assert (report.count, report.excluded) == (2, 2)
    assert set(report.groups) == {"a", "b"}


def test_string_labels_need_a_string_positive() -> None:
    report = fairness_metrics(["yes", "no"], ["yes", "yes"], ["a", "b"], positive="yes")
    assert report.groups["b"].selection_rate == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"y_true": ["1", "0"], "y_pred": [1, 0], "sensitive": ["a", "b"]}, "y_pred"),
        ({"y_true": [1, 0], "y_pred": [1, 0], "sensitive": ["a"]}, "sensitive"),
        ({"y_true": [1, 0], "y_pred": [1], "sensitive": ["a", "b"]}, "y_pred"),
        (
            {"y_true": [1, 0], "y_pred": [1, 0], "sensitive": ["a", "b"], "positive": "1"},
            "positive",
        ),
        (
            {"y_true": [1, 0], "y_pred": [1, 0], "sensitive": ["a", "b"], "privileged": "z"},
            "privileged",
        ),
    ],
)
def test_bad_inputs_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        fairness_metrics(**kwargs)
    assert caught.value.field == field
