"""The monitoring service over a real inference log: drift, quality, performance,
accuracy per version, fairness, references and contracts, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from tests.monitoring.traffic import Churn, now, register_churn, traffic


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def _no_nan(value: object) -> None:
    """No float anywhere in ``value`` is NaN or infinite."""
    if isinstance(value, float):
        assert math.isfinite(value), value
    elif isinstance(value, dict):
        for item in value.values():
            _no_nan(item)
    elif isinstance(value, list):
        for item in value:
            _no_nan(item)


def test_drift_flags_exactly_the_shifted_feature(churn: Churn, platform: Platform) -> None:
    before = now() - timedelta(hours=2)
    traffic(churn, 300, at=before, seed=3)
    traffic(churn, 300, at=now(), shift=2.0, seed=4)

    calm = platform.monitoring.drift("churn", window=(before - timedelta(minutes=15), before))
    assert calm.enough_data and calm.rows == 300
    assert calm.drifted_columns == []
    assert not calm.dataset_drift
    assert "raw.churn@0" in calm.reference

    shifted = platform.monitoring.drift("churn", window=timedelta(minutes=15))
    assert shifted.drifted_columns == ["tenure"]
    tenure = next(c for c in shifted.columns if c.column == "tenure")
    assert tenure.test == "ks" and tenure.statistic_kind == "p_value"
    assert tenure.score is not None and tenure.score < 0.05
    assert "p-value" in tenure.reason and "drift" in tenure.reason
    plan = next(c for c in shifted.columns if c.column == "plan")
    assert plan.kind == "categorical" and not plan.drifted
    assert shifted.prediction is not None
    _no_nan(shifted.model_dump(mode="json"))


def test_an_empty_window_is_not_enough_data_everywhere(churn: Churn, platform: Platform) -> None:
    platform.deployments.create("churn", model="churn/1")
    monitoring = platform.monitoring
    drift = monitoring.drift("churn")
    assert not drift.enough_data and drift.reason.startswith("not enough data")
    assert monitoring.performance("churn").overall is None
    assert monitoring.quality("churn").rows == 0
    accuracy = monitoring.accuracy("churn")
    assert accuracy.labeled == 0 and accuracy.reason.startswith("not enough data")
    fairness = monitoring.fairness("churn", "plan")
    assert fairness.labeled == 0 and fairness.reason.startswith("not enough data")

    traffic(churn, 20, at=now() - timedelta(days=1))  # traffic, but outside the window
    assert not monitoring.drift("churn", window=timedelta(minutes=5)).enough_data


def test_an_unknown_deployment_is_not_found_but_a_deleted_one_with_logs_is_not(
    churn: Churn, platform: Platform
) -> None:
    monitoring = platform.monitoring
    for ask in (
        lambda: monitoring.drift("other-deployment"),
        lambda: monitoring.quality("other-deployment"),
        lambda: monitoring.performance("other-deployment"),
        lambda: monitoring.accuracy("other-deployment"),
        lambda: monitoring.fairness("other-deployment", "plan"),
        lambda: monitoring.report("other-deployment"),
    ):
        with pytest.raises(NotFoundError, match="'other-deployment' does not exist") as caught:
            ask()
        assert caught.value.remedy
    # Never deployed (or deleted) but in the inference log: still monitored.
    traffic(churn, 20, at=now() - timedelta(days=1), deployment="retired")
    assert monitoring.performance("retired", window=timedelta(days=2)).overall is not None
    assert not monitoring.drift("retired", window=timedelta(minutes=5)).enough_data
    # A deployment's alias names it too.
    platform.deployments.create("live", model="churn/1", aliases=["churn-live"])
    assert monitoring.performance("churn-live").overall is None


def test_performance_per_version(churn: Churn, platform: Platform) -> None:
    traffic(churn, 200, at=now(), version="1", latency_ms=5.0)
    traffic(churn, 50, at=now(), version="2", latency_ms=80.0, error_every=5)
    traffic(churn, 30, at=now(), version="3", served_by="shadow")  # mirrored, never answered

    result = platform.monitoring.performance("churn", window=timedelta(minutes=15))
    assert result.overall is not None and result.overall.requests == 250
    by_version = {v.version: v for v in result.versions}
    assert set(by_version) == {"1", "2"}
    assert by_version["1"].requests == 200 and by_version["1"].error_rate == 0.0
    assert by_version["2"].error_rate == pytest.approx(10 / 50)
    assert by_version["2"].p99_ms is not None and by_version["1"].p99_ms is not None
    assert by_version["2"].p99_ms > by_version["1"].p99_ms
    assert result.overall.throughput_rps == pytest.approx(250 / 900)
    assert sum(bucket["requests"] for bucket in result.timeline) == 250

    traffic(churn, 10, at=now(), served_by="fallback")
    degraded = platform.monitoring.performance("churn", window=timedelta(minutes=15)).overall
    assert degraded is not None and degraded.degraded_rate == pytest.approx(10 / 260)
    assert degraded.error_rate == pytest.approx(10 / 260)  # still only version 2's errors


def test_accuracy_per_version_from_feedback(churn: Churn, platform: Platform) -> None:
    stable = traffic(churn, 120, at=now(), version="1", seed=5)
    canary = traffic(churn, 40, at=now(), version="2", seed=6)
    labels = [(rid, pred) for rid, pred in stable]  # the stable version is always right
    labels += [(rid, 1 - pred) for rid, pred in canary]  # the canary always wrong
    platform.monitoring.feedback_many(labels)

    result = platform.monitoring.accuracy("churn", window=timedelta(minutes=15))
    assert result.task == "classification"
    assert result.labeled == 160
    assert result.labeled_by_version == {"1": 120, "2": 40}
    assert result.versions["1"]["accuracy"].value == 1.0
    assert result.versions["2"]["accuracy"].value == 0.0
    assert result.overall["accuracy"].value == pytest.approx(120 / 160)
    _no_nan(result.model_dump(mode="json"))


def test_the_latest_label_of_a_request_counts(churn: Churn, platform: Platform) -> None:
    sent = traffic(churn, 10, at=now())
    platform.monitoring.feedback_many([(rid, 1 - pred) for rid, pred in sent])
    platform.monitoring.feedback_many([(rid, pred) for rid, pred in sent])  # corrected
    result = platform.monitoring.accuracy("churn")
    assert result.labeled == 10
    assert result.overall["accuracy"].value == 1.0


def test_fairness_by_a_feature(churn: Churn, platform: Platform) -> None:
    sent = traffic(churn, 200, at=now(), seed=7)
    platform.monitoring.feedback_many(sent)
    result = platform.monitoring.fairness("churn", "plan")
    assert result.labeled == 200
    assert set(result.groups) == {"basic", "plus", "pro"}
    assert set(result.metrics) >= {"demographic_parity_difference", "disparate_impact_ratio"}
    for metric in result.metrics.values():
        assert metric.value is not None or metric.reason
    _no_nan(result.model_dump(mode="json"))


def test_reference_comes_from_the_training_table(churn: Churn, platform: Platform) -> None:
    reference = platform.monitoring.reference("churn", 1)
    assert reference.source == "raw.churn@0"
    assert reference.rows == 600
    assert {c["name"] for c in reference.profile["columns"]} == {"tenure", "charges", "plan"}
    contract = platform.monitoring.contract("churn", 1)
    assert {c["name"] for c in contract["columns"]} == {"tenure", "charges", "plan"}


def test_quality_counts_violations_of_an_edited_contract(churn: Churn, platform: Platform) -> None:
    traffic(churn, 100, at=now(), plan="enterprise")  # a plan the model never saw
    result = platform.monitoring.quality("churn")
    assert not result.ok
    kinds = {(v["column"], v["kind"]) for v in result.violations}
    assert ("plan", "unseen_category") in kinds
    assert result.completeness["tenure"] == 1.0

    contract = platform.monitoring.contract("churn", 1)
    tenure = next(rule for rule in contract["columns"] if rule["name"] == "tenure")
    tenure["max"] = 10.0
    platform.monitoring.set_contract("churn", 1, contract)
    edited = platform.monitoring.quality("churn")
    assert ("tenure", "range") in {(v["column"], v["kind"]) for v in edited.violations}


def test_set_reference_from_a_table_and_bad_references(churn: Churn, platform: Platform) -> None:
    traffic(churn, 100, at=now(), shift=2.0)
    shifted = platform.data.sql("SELECT * FROM raw.churn").to_pandas()
    shifted["tenure"] = shifted["tenure"] + 12
    platform.data.write("raw.shifted", shifted)
    info = platform.monitoring.set_reference("churn", 1, "raw.shifted")
    assert info.source == "raw.shifted"
    # Live traffic is shifted exactly as the new reference: no drift any more.
    assert "tenure" not in platform.monitoring.drift("churn").drifted_columns

    with pytest.raises(NotFoundError):
        platform.monitoring.reference("churn", 9)
    with pytest.raises(InvalidInputError) as bad:
        platform.monitoring.drift("churn", window=timedelta(0))
    assert bad.value.field == "window"


def test_a_version_without_a_training_table_names_the_fix(platform: Platform) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    platform.registry.register(
        "bare", LinearRegression().fit(frame, [0, 1, 2]), input_example=frame
    )
    with pytest.raises(NotFoundError) as missing:
        platform.monitoring.reference("bare", 1)
    assert "set_reference" in (missing.value.remedy or "")


def test_set_reference_from_a_frame(churn: Churn, platform: Platform) -> None:
    traffic(churn, 200, at=now(), shift=2.0)
    assert platform.monitoring.drift("churn").drifted_columns == ["tenure"]
    frame = platform.data.read("raw.churn").to_pandas()
    frame["tenure"] = frame["tenure"] + 12  # the shift becomes the new normal
    info = platform.monitoring.set_reference("churn", 1, frame[["tenure", "charges", "plan"]])
    assert info.source == "explicit" and info.rows == 600
    assert platform.monitoring.drift("churn").drifted_columns == []
