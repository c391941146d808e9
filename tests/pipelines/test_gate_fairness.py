"""Fairness thresholds in the validation gate: a candidate whose groups are treated too
differently is not proposed, and the gap (metric, groups, size) is returned and recorded
on the gate step's run; a fair one is proposed with its gaps logged."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.errors import InvalidInputError
from podium.monitoring.fairness import fairness_metrics
from podium.pipelines.steps import GateResult, validate_and_propose
from podium.platform import Platform

MODEL = "fair-churn"
LIMITS = {
    "demographic_parity_difference": 0.2,
    "equal_opportunity_difference": 0.2,
    "accuracy_difference": 0.2,
}


def _data(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two groups with the same distribution; the label depends on ``x`` only."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(size=400), "group": rng.integers(0, 2, size=400)})
    return X, (X["x"] > 0).to_numpy().astype(int)


def _fit(kind: str) -> LogisticRegression:
    """A fair model, or one trained on labels that deny every member of group 1."""
    X, y = _data(0)
    labels = y if kind == "fair" else y * (X["group"].to_numpy() == 0)
    return LogisticRegression(C=100.0).fit(X, labels)


@podium.step
def train(kind: str) -> LogisticRegression:
    return _fit(kind)


@podium.step(cache=False)
def gate(model: LogisticRegression, single_group: bool) -> GateResult:
    X, y = _data(1)
    if single_group:
        X, y = X[X["group"] == 0], y[X["group"].to_numpy() == 0]
    return validate_and_propose(
        model, name=MODEL, X=X, y=y, metric="accuracy", sensitive="group", fairness=LIMITS
    )


@podium.pipeline("fair-training")
def fair_training(kind: str = "fair", single_group: bool = False) -> Any:
    return gate(train(kind), single_group)


def _gate_run(platform: Platform, run: Any) -> Any:
    step_run_id = run.step("gate").run_id
    assert step_run_id is not None
    return platform.tracking.get_run(step_run_id)


def test_a_fair_candidate_is_proposed_with_its_gaps_logged(platform: Platform) -> None:
    run = platform.pipelines.run(fair_training)
    assert run.status == "succeeded", run.error
    result = run.output
    assert result.proposed and result.reason is None and result.violations == []
    assert {gap.metric for gap in result.fairness} == set(LIMITS)
    assert all(gap.gap is not None and gap.gap <= 0.2 for gap in result.fairness)

    X, y = _data(1)
    report = fairness_metrics(y, _fit("fair").predict(X), X["group"])
    by_name = {gap.metric: gap for gap in result.fairness}
    assert by_name["demographic_parity_difference"].gap == pytest.approx(
        report.demographic_parity_difference.value
    )
    tracked = _gate_run(platform, run)
    assert tracked.metrics["candidate_equal_opportunity_difference"] == pytest.approx(
        by_name["equal_opportunity_difference"].gap
    )
    assert tracked.tags["podium.gate.proposed"] == "true"
    (pending,) = platform.registry.list_requests(MODEL, status="pending")
    assert "demographic_parity_difference" in (pending.comment or "")


def test_a_candidate_over_a_gap_is_not_proposed_and_says_why(platform: Platform) -> None:
    run = platform.pipelines.run(fair_training, params={"kind": "unfair"})
    assert run.status == "succeeded", run.error
    result = run.output
    assert not result.proposed and result.version is None and result.request_id is None
    worst = {gap.metric: gap for gap in result.violations}
    assert set(worst) >= {"demographic_parity_difference", "equal_opportunity_difference"}
    parity = worst["demographic_parity_difference"]
    assert parity.group == "1" and parity.reference == "0"
    assert parity.gap is not None and parity.gap > 0.4 and parity.rates is not None
    assert parity.rates["1"] < 0.05
    assert result.reason is not None
    assert "demographic_parity_difference" in result.reason and "group '1'" in result.reason

    tracked = _gate_run(platform, run)
    assert tracked.tags["podium.gate.proposed"] == "false"
    assert tracked.tags["podium.gate.reason"] == result.reason
    assert tracked.metrics["candidate_demographic_parity_difference"] == pytest.approx(parity.gap)
    assert platform.registry.list_models() == []


def test_a_gap_that_cannot_be_measured_blocks_the_candidate(platform: Platform) -> None:
    run = platform.pipelines.run(fair_training, params={"single_group": True})
    assert run.status == "succeeded", run.error
    result = run.output
    assert not result.proposed
    assert all(gap.gap is None for gap in result.violations)
    assert len(result.violations) == 3 and "cannot be measured" in (result.reason or "")


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"fairness": {"parity": 0.1}, "sensitive": "group"}, "fairness", "got 'parity'"),
        (
            {"fairness": {"accuracy_difference": 2}, "sensitive": "group"},
            "fairness",
            "from 0 to 1; got 2",
        ),
        ({"fairness": {"accuracy_difference": 0.1}}, "sensitive", "need the sensitive"),
        ({"sensitive": "group"}, "fairness", "no 'fairness'"),
        (
            {"fairness": {"accuracy_difference": 0.1}, "sensitive": "gender"},
            "sensitive",
            "names no column",
        ),
    ],
)
def test_bad_fairness_options_are_refused_before_scoring(
    options: dict[str, Any], field: str, message: str
) -> None:
    X, y = _data(1)
    with pytest.raises(InvalidInputError, match=message) as caught:
        validate_and_propose(_fit("fair"), name=MODEL, X=X, y=y, **options)
    assert caught.value.field == field
