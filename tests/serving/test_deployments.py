"""The Deployments service: stored, versioned, rolled out; every change is an event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.events.tables import EventRow
from podium.platform import Installation, Platform


def test_create_takes_the_model_name_and_resolves_the_ref(churn_models: Platform) -> None:
    churn_models.registry.set_alias("churn", "champion", 2)
    created = churn_models.deployments.create(model="churn@champion", timeout_ms=250)
    assert created.name == "churn"
    assert created.traffic.stable == 2
    assert created.spec.timeout_ms == 250
    assert created.generation == 1
    assert churn_models.deployments.get("churn") == created
    assert [d.name for d in churn_models.deployments.list()] == ["churn"]


def test_settings_are_validated_naming_the_field(churn_models: Platform) -> None:
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.create(model="churn/1", cache={"ttl_seconds": -1})
    assert caught.value.field == "cache.ttl_seconds"
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.create(model="churn/1", fallback={"rules": "not a path"})
    assert caught.value.field == "fallback.rules"
    with pytest.raises(NotFoundError):
        churn_models.deployments.create(model="nope/1")


def test_names_are_unique_per_project(churn_models: Platform) -> None:
    churn_models.deployments.create("a", model="churn/1")
    with pytest.raises(ConflictError) as caught:
        churn_models.deployments.create("a", model="churn/2")
    assert caught.value.field == "name"


def test_canary_promote_and_rollback(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1")
    started = deployments.canary("churn", 2, weight=0.1, sticky_key="tenure_months")
    assert started.traffic.canary is not None
    assert (started.traffic.canary.version, started.traffic.canary.weight) == (2, 0.1)
    stepped = deployments.step("churn")
    assert stepped.traffic.canary is not None and stepped.traffic.canary.weight == 0.25
    promoted = deployments.promote("churn")
    assert (promoted.traffic.stable, promoted.traffic.blue, promoted.traffic.canary) == (2, 1, None)
    back = deployments.rollback("churn")
    assert (back.traffic.stable, back.traffic.blue) == (1, 2)
    actions = [change.action for change in deployments.history("churn")]
    assert actions == ["created", "canary", "step", "promote", "rollback"]
    assert back.generation == 5


def test_rollback_during_a_canary_drops_it(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1")
    deployments.canary("churn", "churn/2")
    back = deployments.rollback("churn", reason="worse")
    assert back.traffic.canary is None and back.traffic.stable == 1
    assert deployments.history("churn")[-1].reason == "worse"


def test_blue_green_stage_and_switch(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1")
    staged = deployments.stage("churn", 2)
    assert (staged.traffic.green, staged.traffic.shadow) == (2, 2)
    switched = deployments.switch("churn")
    assert (switched.traffic.stable, switched.traffic.blue, switched.traffic.green) == (2, 1, None)
    with pytest.raises(ConflictError):
        deployments.switch("churn")


def test_conflicting_rollouts_are_refused(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1")
    with pytest.raises(ConflictError):
        deployments.promote("churn")
    with pytest.raises(ConflictError):
        deployments.rollback("churn")
    with pytest.raises(ConflictError):
        deployments.canary("churn", 1)
    with pytest.raises(NotFoundError) as caught:
        deployments.get("missing")
    assert caught.value.field == "model_id"


def test_sync_follows_the_alias(churn_models: Platform) -> None:
    churn_models.registry.set_alias("churn", "champion", 1)
    churn_models.deployments.create(model="churn@champion")
    churn_models.registry.set_alias("churn", "champion", 2)
    assert churn_models.deployments.sync("churn").traffic.stable == 2


def test_changes_write_events(churn_models: Platform, installation: Installation) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    churn_models.deployments.shadow("churn", 2)
    project_id = installation.projects.get(churn_models.project).id
    with installation.db.read() as session:
        types = session.scalars(
            select(EventRow.type)
            .where(EventRow.project_id == project_id, EventRow.subject == "churn")
            .order_by(EventRow.id)
        ).all()
    assert types == ["deployment.updated", "deployment.updated"]


def test_readers_may_look_but_not_change(
    churn_models: Platform, installation: Installation
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    reader = installation.platform(churn_models.project, user="bob", role=Role.READER)
    assert reader.deployments.get("churn").name == "churn"
    with pytest.raises(PermissionDeniedError):
        reader.deployments.canary("churn", 2)
