"""``p.monitoring`` both ways: every method of MonitoringAPI, the same assertions.

The inference log is written as the serving runtime writes it (``tests.monitoring.traffic``),
through ``p.data``, so both sides read the very same rows.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.monitoring.alerts import error_rate
from podium.platform import Platform
from tests.monitoring.traffic import Churn, now, register_churn, traffic, training_frame
from tests.parity.assertions import fails


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def test_drift_quality_and_performance(churn: Churn) -> None:
    traffic(churn, 60, at=now(), error_every=10)
    monitoring = churn.platform.monitoring
    drift = monitoring.drift("churn", window=timedelta(minutes=30))
    assert (drift.deployment, drift.rows, drift.enough_data) == ("churn", 60, True)
    assert "raw.churn@0" in drift.reference
    assert {c.column for c in drift.columns} == {"tenure", "charges", "plan"}
    quality = monitoring.quality("churn")
    assert quality.rows == 60 and quality.ok
    performance = monitoring.performance("churn", by_version=True)
    assert performance.overall is not None and performance.overall.requests == 60
    assert performance.overall.error_rate == pytest.approx(0.1)
    assert [v.version for v in performance.versions] == ["1"]
    report = monitoring.report("churn")
    assert report["deployment"] == "churn"


def test_feedback_accuracy_and_fairness(churn: Churn) -> None:
    (first, label), *rest = traffic(churn, 40, at=now())
    monitoring = churn.platform.monitoring
    one = monitoring.feedback(first, label)
    assert (one.recorded, one.request_ids) == (1, [first])
    assert monitoring.feedback_many(dict(rest)).recorded == 39
    accuracy = monitoring.accuracy("churn", window=timedelta(minutes=15))
    assert (accuracy.task, accuracy.labeled) == ("classification", 40)
    assert accuracy.overall["accuracy"].value == 1.0
    fairness = monitoring.fairness("churn", "plan", positive=1, privileged="basic")
    assert (fairness.attribute, fairness.labeled) == ("plan", 40)
    assert set(fairness.groups) <= {"basic", "plus", "pro"}


def test_references_and_contracts(churn: Churn) -> None:
    monitoring = churn.platform.monitoring
    reference = monitoring.reference("churn", 1)
    assert (reference.model, reference.version, reference.source) == ("churn", 1, "raw.churn@0")
    churn.platform.data.write("raw.recent", training_frame(80, seed=3))
    again = monitoring.set_reference("churn", 1, "raw.recent@0")
    assert (again.source, again.rows) == ("raw.recent@0", 80)
    contract = monitoring.contract("churn", 1)
    columns = {column["name"]: column for column in contract["columns"]}
    assert set(columns) == {"tenure", "charges", "plan"}
    columns["tenure"]["max_null_rate"] = 0.5
    changed = monitoring.set_contract("churn", 1, contract)
    assert changed.contract["columns"][0] == columns[contract["columns"][0]["name"]]
    assert monitoring.contract("churn", 1) == changed.contract


def test_a_frame_as_the_reference(churn: Churn) -> None:
    frame = training_frame(50, seed=4).drop(columns="label")
    monitoring = churn.platform.monitoring
    info = monitoring.set_reference("churn", 1, frame)
    assert (info.rows, info.source) == (50, "explicit")
    assert {column["name"] for column in info.contract["columns"]} == {"tenure", "charges", "plan"}
    scored = frame.assign(scored=1)
    given = monitoring.set_reference("churn", 1, pa.Table.from_pandas(scored), predictions="scored")
    assert given.predictions_source == "column 'scored' of the reference"
    with fails(InvalidInputError):
        monitoring.set_reference("churn", 1, frame, predictions="missing")
    with fails(InvalidInputError):
        monitoring.set_reference("churn", 1, [1, 2, 3])  # type: ignore[arg-type]


def test_rules_and_alerts(churn: Churn) -> None:
    monitoring = churn.platform.monitoring
    rule = monitoring.create_rule(error_rate("churn", rate=0.05, min_requests=1))
    assert (rule.name, rule.metric) == ("churn-error-rate", "error_rate")
    assert monitoring.rules() == [rule]
    traffic(churn, 20, at=now(), error_every=2)
    changed = monitoring.evaluate_alerts()
    assert [(a.rule, a.state) for a in changed] in ([("churn-error-rate", "firing")], [])
    assert [a.rule for a in monitoring.alerts()] == [a.rule for a in changed]
    assert monitoring.alerts(state="resolved") == []
    assert monitoring.delete_rule("churn-error-rate") is None
    assert monitoring.rules() == []


def test_evaluate_alerts_as_of_another_time(churn: Churn) -> None:
    monitoring = churn.platform.monitoring
    monitoring.create_rule(error_rate("churn", rate=0.05, min_requests=1))
    later = now() + timedelta(hours=3)
    traffic(churn, 20, at=later, error_every=2)
    fired = monitoring.evaluate_alerts(now=later.replace(tzinfo=None))  # naive: UTC
    assert [(a.rule, a.state) for a in fired] == [("churn-error-rate", "firing")]
    assert monitoring.evaluate_alerts(now=later) == []  # the same instant: nothing changed
    with fails(InvalidInputError):
        monitoring.evaluate_alerts(now=later.isoformat())  # type: ignore[arg-type]


def test_bad_input_fails_the_same_way(churn: Churn) -> None:
    monitoring = churn.platform.monitoring
    with fails(NotFoundError):
        monitoring.feedback("nope", 1)
    with fails(NotFoundError):
        monitoring.reference("churn", 7)
    with fails(NotFoundError):
        monitoring.contract("nope", 1)
    with fails(NotFoundError):  # no deployment of that name, and nothing in the log
        monitoring.drift("nope")
    with fails(NotFoundError):
        monitoring.fairness("nope", "plan")
    with fails(InvalidInputError):
        monitoring.drift("churn", window=timedelta(seconds=-1))
    with fails(InvalidInputError):
        monitoring.quality("churn", window=(now(), now() - timedelta(hours=1)))
    with fails(InvalidInputError):
        monitoring.create_rule({"name": "x", "deployment": "churn", "metric": "vibes"})
    monitoring.create_rule(error_rate("churn"))
    with fails(ConflictError):
        monitoring.create_rule(error_rate("churn"))
    with fails(NotFoundError):
        monitoring.delete_rule("nope")
    with fails(InvalidInputError):
        monitoring.alerts(state="asleep")
