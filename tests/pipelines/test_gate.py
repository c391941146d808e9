"""The validation gate: a pipeline's train -> gate ends in a pending promotion request when
the candidate beats production, and proposes nothing when it does not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import podium
from podium.errors import InvalidInputError
from podium.pipelines.steps import GateResult, validate_and_propose
from podium.platform import Installation, Platform

MODEL = "gated-churn"


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=300, n_features=4, n_informative=3, n_redundant=0, class_sep=1.5, random_state=0
    )
    return X[:200], y[:200], X[200:], y[200:]


def _fit(quality: str) -> LogisticRegression:
    """A good model, or a bad one: fitted on flipped labels, it ranks backwards."""
    X, y, _, _ = _data()
    labels = y if quality == "good" else 1 - y
    return LogisticRegression().fit(X, labels)


@podium.step
def train(quality: str) -> LogisticRegression:
    return _fit(quality)


@podium.step(cache=False)
def gate(model: LogisticRegression, metric: str) -> GateResult:
    _, _, X_test, y_test = _data()
    return validate_and_propose(model, name=MODEL, X=X_test, y=y_test, metric=metric)


@podium.pipeline("gated-training")
def gated(quality: str = "good", metric: str = "auc") -> Any:
    return gate(train(quality), metric)


def _put_in_production(platform: Platform, installation: Installation, quality: str) -> int:
    """Register a model of ``quality`` and move it to production (a second admin approves)."""
    X, _, _, _ = _data()
    version = platform.registry.register(MODEL, _fit(quality), input_example=X[:5]).version
    request = platform.registry.request_transition(MODEL, version, "production")
    installation.platform(platform.project, user="local:approver").registry.approve(request.id)
    return version


def _gate_run_metrics(platform: Platform, run: Any) -> dict[str, float]:
    (step,) = [s for s in run.steps if s.step == "gate"]
    assert step.run_id is not None
    return platform.tracking.get_run(step.run_id).metrics


def test_a_better_candidate_ends_in_a_pending_production_request(
    platform: Platform, installation: Installation
) -> None:
    production = _put_in_production(platform, installation, "bad")
    run = platform.pipelines.run(gated, params={"quality": "good"})
    assert run.status == "succeeded", run.error
    result = run.output
    assert isinstance(result, GateResult)
    assert result.proposed and result.version == production + 1
    assert result.production is not None and result.candidate > result.production

    (pending,) = platform.registry.list_requests(MODEL, status="pending")
    assert pending.id == result.request_id and pending.version == result.version
    assert pending.to_stage == "production"
    assert platform.registry.get_version(f"{MODEL}@production").version == production

    metrics = _gate_run_metrics(platform, run)
    assert metrics["candidate_auc"] == pytest.approx(result.candidate)
    assert metrics["production_auc"] == pytest.approx(result.production)
    assert result.candidate > 0.8 and result.production < 0.2


def test_without_a_production_version_the_candidate_is_proposed(platform: Platform) -> None:
    run = platform.pipelines.run(gated, params={"metric": "accuracy"})
    assert run.status == "succeeded", run.error
    result = run.output
    assert result.proposed and result.production is None and result.version == 1
    assert platform.registry.get_request(result.request_id).status == "pending"
    assert set(_gate_run_metrics(platform, run)) >= {"candidate_accuracy"}


def test_a_worse_candidate_is_not_proposed(platform: Platform, installation: Installation) -> None:
    production = _put_in_production(platform, installation, "good")
    run = platform.pipelines.run(gated, params={"quality": "bad"})
    assert run.status == "succeeded", run.error
    result = run.output
    assert not result.proposed and result.version is None and result.request_id is None
    assert result.production is not None and result.candidate < result.production
    assert [v.version for v in platform.registry.list_versions(MODEL)] == [production]
    assert platform.registry.list_requests(MODEL, status="pending") == []
    metrics = _gate_run_metrics(platform, run)
    assert {"candidate_auc", "production_auc"} <= set(metrics)


def test_an_unknown_metric_is_refused_before_scoring(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match="must be one of accuracy, auc, f1; got 'rmse'"):
        validate_and_propose(_fit("good"), name=MODEL, X=[[0.0]], y=[0], metric="rmse")
    run = platform.pipelines.run(gated, params={"metric": "rmse"})
    assert run.status == "failed"
    assert run.error is not None and "got 'rmse' instead" in run.error
    assert platform.registry.list_models() == []
