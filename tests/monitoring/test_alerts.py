"""Alerts: a rule fires once per breach, resolves when the breach ends, and its events
reach a real webhook receiver, signed, even when the receiver was down at first."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from podium.access.roles import Role
from podium.errors import (
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from podium.events import EventDispatcher, WebhookService, verify_signature
from podium.monitoring.alerts import (
    AlertRule,
    AlertScheduler,
    default_rules,
    error_rate,
    feature_drift,
    projects_with_rules,
    read_metric,
)
from podium.platform import Installation, Platform
from tests.conftest import free_port
from tests.events.conftest import Receiver, drain
from tests.monitoring.traffic import Churn, now, register_churn, traffic


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def test_a_drift_alert_fires_once_resolves_and_reaches_a_receiver_down_at_first(
    churn: Churn, platform: Platform, installation: Installation, project_name: str
) -> None:
    port = free_port()  # nothing listens here until after the first delivery attempt
    webhooks = WebhookService(
        installation.db, installation.projects.get(project_name), allow_http=True
    )
    _, secret = webhooks.create(
        f"http://127.0.0.1:{port}/hook", event_types=["alert.fired", "alert.resolved"]
    )
    monitoring = platform.monitoring
    monitoring.create_rule(feature_drift("churn", share=0.3, window=timedelta(minutes=15)))

    calm, drifted, recovered = now() - timedelta(hours=1), now(), now() + timedelta(hours=1)
    traffic(churn, 300, at=calm, seed=3)
    assert monitoring.evaluate_alerts(now=calm) == []

    traffic(churn, 300, at=drifted, shift=2.0, seed=4)  # drift injected into live traffic
    fired = monitoring.evaluate_alerts(now=drifted)
    assert [(a.rule, a.state) for a in fired] == [("churn-feature-drift", "firing")]
    assert fired[0].value == pytest.approx(1 / 3)
    assert "tenure" in fired[0].message
    for seconds in (1, 2, 3):  # the breach goes on: no new alert, no new event
        assert monitoring.evaluate_alerts(now=drifted + timedelta(seconds=seconds)) == []
    assert len(monitoring.alerts(state="firing")) == 1

    dispatcher = EventDispatcher(
        installation.db, timeout=2.0, base_delay=0.05, keyring=installation.keyring
    )
    try:
        drain(dispatcher, lambda: any(d.status == "failed" for d in webhooks.deliveries()))
        receiver = Receiver(port=port).start()
        try:
            drain(dispatcher, lambda: [d.status for d in webhooks.deliveries()] == ["delivered"])

            traffic(churn, 300, at=recovered, seed=8)  # the drift stops
            resolved = monitoring.evaluate_alerts(now=recovered)
            assert [(a.rule, a.state) for a in resolved] == [("churn-feature-drift", "resolved")]
            assert monitoring.evaluate_alerts(now=recovered + timedelta(seconds=1)) == []
            drain(dispatcher, lambda: len(receiver.events_of(project_name)) == 2)
        finally:
            receiver.stop()
    finally:
        dispatcher.stop()

    events = [r.event for r in receiver.events_of(project_name)]
    assert [e["type"] for e in events] == ["alert.fired", "alert.resolved"]
    assert events[0]["subject"] == "churn/churn-feature-drift"
    assert events[0]["payload"]["severity"] == "warning"
    for received in receiver.events_of(project_name):
        assert verify_signature(secret, received.body, received.headers["X-Podium-Signature"])
    first = [d for d in webhooks.deliveries() if d.event_type == "alert.fired"]
    assert first[0].attempt > 1, "the first attempt failed and was retried"
    assert [a.state for a in monitoring.alerts()] == ["resolved"]


def test_a_rule_fires_only_after_the_breach_lasted_for_seconds(
    churn: Churn, platform: Platform
) -> None:
    rule = error_rate("churn", rate=0.05, window=timedelta(minutes=15)).model_copy(
        update={"for_seconds": 60}
    )
    platform.monitoring.create_rule(rule)
    start = now()
    traffic(churn, 100, at=start, error_every=4)
    assert platform.monitoring.evaluate_alerts(now=start) == []
    assert [a.state for a in platform.monitoring.alerts()] == ["pending"]
    assert platform.monitoring.evaluate_alerts(now=start + timedelta(seconds=30)) == []
    fired = platform.monitoring.evaluate_alerts(now=start + timedelta(seconds=61))
    assert [a.state for a in fired] == ["firing"]
    assert fired[0].value == pytest.approx(0.25)


def test_a_metric_without_data_neither_fires_nor_resolves(churn: Churn, platform: Platform) -> None:
    platform.monitoring.create_rule(error_rate("churn", window=timedelta(minutes=15)))
    start = now()
    traffic(churn, 40, at=start, error_every=2)
    assert [a.state for a in platform.monitoring.evaluate_alerts(now=start)] == ["firing"]
    later = start + timedelta(hours=3)  # no traffic at all in this window
    assert platform.monitoring.evaluate_alerts(now=later) == []
    assert [a.state for a in platform.monitoring.alerts()] == ["firing"]


def test_every_ready_made_rule_evaluates_without_error(churn: Churn, platform: Platform) -> None:
    for rule in default_rules("churn"):
        platform.monitoring.create_rule(rule)
    assert len(platform.monitoring.rules()) == 7
    start = now()
    sent = traffic(churn, 200, at=start, error_every=10, latency_ms=400.0)
    platform.monitoring.feedback_many([(rid, 1 - pred) for rid, pred in sent])
    fired = platform.monitoring.evaluate_alerts(now=start)
    names = {a.rule for a in fired}
    assert {"churn-error-rate", "churn-accuracy-drop"} <= names
    assert "churn-feature-drift" not in names
    assert "churn-breaker-open" not in names  # unknown without a serving runtime


def test_rules_are_checked_and_named_uniquely(churn: Churn, platform: Platform) -> None:
    monitoring = platform.monitoring
    monitoring.create_rule(feature_drift("churn"))
    with pytest.raises(ConflictError):
        monitoring.create_rule(feature_drift("churn"))
    with pytest.raises(InvalidInputError) as bad:
        monitoring.create_rule({**feature_drift("x").model_dump(), "metric": "nope"})
    assert bad.value.field == "metric"
    with pytest.raises(InvalidInputError) as bad:
        monitoring.create_rule({**feature_drift("x").model_dump(), "threshold": float("nan")})
    assert bad.value.field == "threshold"
    with pytest.raises(NotFoundError):
        monitoring.delete_rule("missing")
    with pytest.raises(InvalidInputError):
        monitoring.alerts(state="exploded")
    monitoring.delete_rule("churn-feature-drift")
    assert monitoring.rules() == []


def test_the_scheduler_evaluates_every_project_with_rules(
    churn: Churn, platform: Platform, installation: Installation, project_name: str
) -> None:
    rule = AlertRule(
        name="busy",
        deployment="churn",
        metric="requests",
        condition=">",
        threshold=10,
        window=timedelta(minutes=15),
    )
    platform.monitoring.create_rule(rule)
    traffic(churn, 20, at=now())
    assert project_name in projects_with_rules(installation.db)

    def monitoring_of(project: str) -> Platform:
        return installation.platform_for_existing(project, user="system:alerts", role=Role.ADMIN)

    scheduler = AlertScheduler(
        lambda: [project_name], lambda name: monitoring_of(name).monitoring, interval=0.05
    )
    changed = scheduler.run_once()
    assert [(a.rule, a.state) for a in changed] == [("busy", "firing")]
    scheduler.start()
    scheduler.stop(timeout=5)
    assert len(platform.monitoring.alerts()) == 1


def test_the_breaker_state_comes_from_the_serving_runtime(churn: Churn, platform: Platform) -> None:
    rule = default_rules("churn")[4]
    assert rule.metric == "breaker_open"
    assert read_metric(platform.monitoring, rule, now()).value is None  # not served here
    platform.deployments.create("churn", model="churn/1", timeout_ms=30_000)
    platform.predict("churn", features={"tenure": 20.0, "charges": 70.0, "plan": "basic"})
    reading = read_metric(platform.monitoring, rule, now())
    assert reading.value == 0.0 and reading.reason == "breaker closed"


def test_the_scheduler_keeps_running_after_a_round_that_failed() -> None:
    # Listing the projects fails while the database is down; the next round must still run.
    rounds: list[int] = []
    recovered = threading.Event()

    def projects() -> list[str]:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise BackendUnavailableError("the metadata database is down")
        recovered.set()
        return []

    scheduler = AlertScheduler(projects, lambda name: pytest.fail(name), interval=0.01)
    scheduler.start()
    try:
        assert recovered.wait(5)
    finally:
        scheduler.stop(timeout=5)
