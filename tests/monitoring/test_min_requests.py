"""Alert rules ignore windows with too few requests (``min_requests``): one slow first
request never fires the ready-made latency alert. The minimum is stored (also across the
migration that added it) and reaches a rule through the SDK, the REST API and the CLI;
``evaluate_alerts(now=)`` judges the same window for the metric and the minimum."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text

import podium
from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.monitoring.alerts import (
    MIN_REQUESTS,
    AlertRule,
    default_rules,
    error_rate,
    p99_latency,
    read_metric,
)
from podium.platform import Installation, Platform
from podium.store.database import Database, _alembic_config
from tests.cli.assertions import Invoke
from tests.cli.conftest import embedded, home, invoke  # noqa: F401  (fixtures)
from tests.conftest import LiveServer
from tests.monitoring.traffic import Churn, now, register_churn, traffic


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def test_one_slow_first_request_never_fires_the_ready_made_p99_rule(
    churn: Churn, platform: Platform
) -> None:
    monitoring = platform.monitoring
    rule = p99_latency("churn", window=timedelta(minutes=15))
    assert rule.min_requests == MIN_REQUESTS == 20
    monitoring.create_rule(rule)
    start = now()
    traffic(churn, 1, at=start, latency_ms=1000.0)  # the cold first request
    for seconds in (0, 30, 61, 120):  # well past the rule's 60 s: still nothing
        assert monitoring.evaluate_alerts(now=start + timedelta(seconds=seconds)) == []
    assert monitoring.alerts() == []
    reading = read_metric(monitoring, monitoring.rules()[0], start)
    assert reading.value is None
    assert (
        reading.reason == "insufficient data: the window holds 1 of the 20 requests the rule needs"
    )

    traffic(churn, 30, at=start, latency_ms=1000.0)  # slow for real: now it is judged
    assert monitoring.evaluate_alerts(now=start) == []
    assert [a.state for a in monitoring.alerts()] == ["pending"]
    fired = monitoring.evaluate_alerts(now=start + timedelta(seconds=61))
    assert [(a.rule, a.state) for a in fired] == [("churn-p99-latency", "firing")]


def test_an_insufficient_window_neither_resolves_nor_keeps_a_pending_alert(
    churn: Churn, platform: Platform
) -> None:
    monitoring = platform.monitoring
    monitoring.create_rule(error_rate("churn", window=timedelta(minutes=15), min_requests=30))
    monitoring.create_rule(p99_latency("churn", window=timedelta(minutes=15), min_requests=30))
    start = now()
    traffic(churn, 40, at=start, error_every=2, latency_ms=1000.0)
    assert [a.rule for a in monitoring.evaluate_alerts(now=start)] == ["churn-error-rate"]
    assert {a.rule: a.state for a in monitoring.alerts()} == {
        "churn-error-rate": "firing",
        "churn-p99-latency": "pending",
    }

    later = start + timedelta(minutes=30)
    traffic(churn, 5, at=later)  # healthy, fast, but only 5 requests: insufficient data
    assert monitoring.evaluate_alerts(now=later) == []
    assert [(a.rule, a.state) for a in monitoring.alerts()] == [("churn-error-rate", "firing")]

    traffic(churn, 40, at=later)  # enough healthy traffic: the alert resolves
    resolved = monitoring.evaluate_alerts(now=later)
    assert [(a.rule, a.state) for a in resolved] == [("churn-error-rate", "resolved")]


def test_a_naive_now_is_utc_as_in_windows(churn: Churn, platform: Platform) -> None:
    platform.monitoring.create_rule(error_rate("churn", window=timedelta(minutes=15)))
    start = now()
    traffic(churn, 40, at=start, error_every=2)
    fired = platform.monitoring.evaluate_alerts(now=start.astimezone(UTC).replace(tzinfo=None))
    assert [(a.state, a.since) for a in fired] == [("firing", start)]
    assert fired[0].value == pytest.approx(0.5)


def test_min_requests_is_checked_and_kept(platform: Platform) -> None:
    monitoring = platform.monitoring
    rule = {**error_rate("churn").model_dump(), "name": "few", "min_requests": 5}
    assert monitoring.create_rule(rule).min_requests == 5
    stored = {r.name: r for r in monitoring.rules()}
    assert stored["few"].min_requests == 5
    assert stored["few"].describe().endswith("(at least 5 requests)")
    with pytest.raises(InvalidInputError) as bad:
        monitoring.create_rule({**rule, "name": "negative", "min_requests": -1})
    assert bad.value.field == "min_requests"
    limits = {r.metric: r.min_requests for r in default_rules("churn")}
    assert limits["latency_p99_ms"] == limits["error_rate"] == MIN_REQUESTS
    assert limits["feature_drift_share"] == 0


def test_min_requests_over_http(
    live_server: LiveServer, installation: Installation, project_name: str
) -> None:
    installation.projects.ensure(project_name)
    key = live_server.key(project_name, Role.WRITER)
    rule = AlertRule(
        name="busy",
        deployment="churn",
        metric="requests",
        condition="<",
        threshold=5,
        min_requests=7,
    )
    with podium.connect(live_server.url, api_key=key, project=project_name) as remote:
        assert remote.monitoring.create_rule(rule).min_requests == 7
        assert [r.min_requests for r in remote.monitoring.rules()] == [7]
        # a window with no requests is below the minimum: nothing fires, remotely too
        assert remote.monitoring.evaluate_alerts(now=now()) == []
    body = {**rule.model_dump(mode="json"), "name": "bad", "min_requests": -3}
    answer = httpx.post(
        f"{live_server.url}/v1/monitoring/rules",
        json=body,
        headers={"authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_monitor_rules_add_takes_min_requests(invoke: Invoke, embedded: Installation) -> None:  # noqa: F811
    result = invoke(
        "monitor", "rules", "add", "slow", "-d", "churn", "-m", "latency_p99_ms",
        "-c", ">", "-t", "250", "--min-requests", "25",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(at least 25 requests)" in result.stdout
    assert "(at least 25 requests)" in invoke("monitor", "rules", "ls").stdout
    assert [r.min_requests for r in embedded.platform().monitoring.rules()] == [25]
    defaults = invoke("monitor", "rules", "defaults", "churn").stdout
    assert defaults.count(f"(at least {MIN_REQUESTS} requests)") == 2


def test_rules_from_before_the_migration_judge_every_window(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = _alembic_config()
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(
            text(
                "INSERT INTO projects (name, description, created_at) "
                "VALUES ('p', '', '2024-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO monitoring_alert_rules (project_id, name, deployment, metric, "
                "condition, threshold, window_seconds, for_seconds, severity, options, "
                "created_by, created_at) VALUES (1, 'old', 'churn', 'error_rate', '>', 0.1, "
                "300, 0, 'warning', '{}', 'x', '2024-01-01')"
            )
        )
        conn.commit()
    db.upgrade()
    with db.read() as session:
        assert session.execute(text("SELECT min_requests FROM monitoring_alert_rules")).all() == [
            (0,)
        ]
    db.dispose()
