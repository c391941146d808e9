"""Mutations made embedded (the SDK, the CLI's embedded commands) are in the audit log, as
the API's are: actor, action, target and outcome, failed attempts included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.access.audit import AuditEntry, AuditLog, Auditor
from podium.access.roles import Role
from podium.errors import InvalidInputError, PermissionDeniedError
from podium.platform import Installation, Platform


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"tenure": [1, 2, 30, 40, 3, 50], "charges": [90.0, 80, 20, 25, 95, 18]})


@pytest.fixture
def model(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame, (frame["tenure"] < 10).astype(int))


def _entries(installation: Installation, project: str) -> list[AuditEntry]:
    """Oldest first."""
    return installation.audit.list(installation.projects.get(project).id, limit=1000)[::-1]


def _trail(entries: list[AuditEntry]) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.target, e.outcome) for e in entries]


def test_registrations_approvals_and_refusals_are_audited(
    installation: Installation,
    platform: Platform,
    project_name: str,
    model: LogisticRegression,
    frame: pd.DataFrame,
) -> None:
    approver = installation.platform(project_name, user="local:bob", role=Role.ADMIN)
    version = platform.registry.register("churn", model, input_example=frame[:3])
    platform.registry.set_alias("churn", "champion", version.version)
    request = platform.registry.request_transition("churn", 1, "production")
    with pytest.raises(PermissionDeniedError, match="self-approval"):
        platform.registry.approve(request.id)  # refused: the requester approving
    approver.registry.approve(request.id, comment="ok")

    assert _trail(_entries(installation, project_name)) == [
        ("local:test", "registry.register", "model:churn/1", "ok"),
        ("local:test", "registry.set_alias", "model:churn@champion", "ok"),
        ("local:test", "registry.request_transition", f"transition:{request.id}", "ok"),
        ("local:test", "registry.approve", f"transition:{request.id}", "permission-denied"),
        ("local:bob", "registry.approve", f"transition:{request.id}", "ok"),
    ]
    approved = _entries(installation, project_name)[-1]
    assert approved.detail["model"] == "churn/1" and approved.detail["status"] == "applied"
    assert approved.request_id == ""  # not an API request


def test_a_refused_registration_is_audited_with_its_outcome(
    installation: Installation, project_name: str, model: LogisticRegression, frame: pd.DataFrame
) -> None:
    reader = installation.platform(project_name, user="local:rita", role=Role.READER)
    with pytest.raises(PermissionDeniedError):
        reader.registry.register("churn", model, input_example=frame[:3])
    assert _trail(_entries(installation, project_name)) == [
        ("local:rita", "registry.register", "model:churn", "permission-denied")
    ]


def test_deployment_changes_are_audited_once_each(
    installation: Installation, platform: Platform, model: LogisticRegression, frame: pd.DataFrame
) -> None:
    platform.registry.register("churn", model, input_example=frame[:3])
    platform.registry.register("churn", model, input_example=frame[:3])
    platform.deployments.create("churn", model="churn/1")
    platform.deployments.update("churn", timeout_ms=500.0)
    platform.deployments.delete("churn")

    deployments = [t for t in _trail(_entries(installation, platform.project)) if "deploy" in t[1]]
    assert deployments == [
        ("local:test", "deployments.created", "deployment:churn", "ok"),
        ("local:test", "deployments.updated", "deployment:churn", "ok"),
        ("local:test", "deployments.deleted", "deployment:churn", "ok"),
    ]


def test_feature_definitions_and_materializations_are_audited(
    installation: Installation, platform: Platform
) -> None:
    rows = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_ts": [datetime(2024, 1, 1, tzinfo=UTC)] * 2,
            "tenure": [3, 40],
        }
    )
    platform.data.write("raw.customers", rows)
    customer = podium.Entity("customer", join_keys=["customer_id"])
    stats = podium.FeatureView(
        "customer_stats",
        entities=[customer],
        source="raw.customers",
        timestamp_field="event_ts",
        ttl=timedelta(days=3650),
        features=[podium.Feature("tenure", "int64")],
    )
    platform.features.apply([customer, stats])
    platform.features.apply([customer, stats])  # nothing changes: still an attempt
    platform.features.materialize()

    features = [t for t in _trail(_entries(installation, platform.project)) if "feat" in t[1]]
    assert features == [
        ("local:test", "features.apply", "entity:customer@1,feature_view:customer_stats@1", "ok"),
        ("local:test", "features.apply", "(nothing changed)", "ok"),
        ("local:test", "features.materialize", "feature_view:customer_stats@1", "ok"),
    ]


def test_a_disabled_auditor_records_nothing(installation: Installation, project_name: str) -> None:
    project = installation.projects.ensure(project_name)
    Auditor.disabled().record("registry.register", "model:x/1")
    Auditor(AuditLog(installation.db), project_id=project.id, actor="a").record("x.y", "t")
    assert _trail(_entries(installation, project_name)) == [("a", "x.y", "t", "ok")]


def test_an_attempt_with_a_bad_argument_is_audited_as_invalid_input(
    installation: Installation, platform: Platform, model: LogisticRegression, frame: pd.DataFrame
) -> None:
    platform.registry.register("churn", model, input_example=frame[:3])
    with pytest.raises(InvalidInputError):
        platform.registry.set_alias("churn", "champion", object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        platform.registry.request_transition("churn", 1, ["production"])  # type: ignore[arg-type]
    assert [(e.action, e.outcome) for e in _entries(installation, platform.project)][1:] == [
        ("registry.set_alias", "invalid-input"),
        ("registry.request_transition", "invalid-input"),
    ]


def test_experiments_and_runs_are_audited_but_not_what_runs_log(
    installation: Installation, platform: Platform, project_name: str
) -> None:
    platform.tracking.create_experiment("churn")
    with pytest.raises(podium.ConflictError):
        platform.tracking.create_experiment("churn")
    with platform.tracking.start_run(experiment="churn", params={"C": 0.5}) as run:
        run.log_metrics({"auc": 0.9}, step=0)

    assert _trail(_entries(installation, project_name)) == [
        ("local:test", "tracking.create_experiment", "experiment:churn", "ok"),
        ("local:test", "tracking.create_experiment", "experiment:churn", "conflict"),
        ("local:test", "tracking.create_run", f"run:{run.id}", "ok"),
        ("local:test", "tracking.end_run", f"run:{run.id}", "ok"),
    ]


def test_alert_rules_are_audited(
    installation: Installation, platform: Platform, project_name: str
) -> None:
    rule = {
        "name": "busy",
        "deployment": "churn",
        "metric": "requests",
        "condition": "<",
        "threshold": 5,
    }
    platform.monitoring.create_rule(rule)
    platform.monitoring.delete_rule("busy")
    with pytest.raises(podium.NotFoundError):
        platform.monitoring.delete_rule("busy")

    assert _trail(_entries(installation, project_name)) == [
        ("local:test", "monitoring.create_rule", "rule:busy", "ok"),
        ("local:test", "monitoring.delete_rule", "rule:busy", "ok"),
        ("local:test", "monitoring.delete_rule", "rule:busy", "not-found"),
    ]
