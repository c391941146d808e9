"""``p.deployments`` both ways: every method of DeploymentsAPI, the same assertions."""

from __future__ import annotations

import pytest

from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.serving.control.status import DeploymentStatus
from tests.parity.assertions import fails
from tests.parity.conftest import Trained


@pytest.fixture
def models(platform: Platform, trained: Trained) -> Platform:
    """Two versions of model ``churn`` registered in the test's project."""
    for _ in range(2):
        platform.registry.register("churn", trained.model, input_example=trained.frame[:5])
    return platform


def test_create_get_list_update_delete(models: Platform) -> None:
    deployments = models.deployments
    created = deployments.create(model="churn/1", timeout_ms=250)
    assert (created.name, created.traffic.stable, created.generation) == ("churn", 1, 1)
    assert created.spec.timeout_ms == 250
    assert deployments.get("churn") == created
    assert [d.name for d in deployments.list()] == ["churn"]
    updated = deployments.update("churn", timeout_ms=500)
    assert updated.spec.timeout_ms == 500 and updated.generation == 2
    assert deployments.history("churn")[0].action == "created"
    assert deployments.delete("churn") is None
    assert deployments.list() == []


def test_predict_and_status(models: Platform, trained: Trained) -> None:
    models.deployments.create("churn", model="churn/1")
    row = trained.frame.iloc[0]
    answer = models.deployments.predict(
        "churn", features={"tenure": int(row["tenure"]), "spend": float(row["spend"])}
    )
    assert answer["prediction"] == int(trained.model.predict(trained.frame[:1])[0])
    assert answer["model_version"] == "1"
    many = models.predict(
        "churn", instances=[{"tenure": 5, "spend": 40.0}, {"tenure": 50, "spend": 60.0}]
    )
    assert len(many["predictions"]) == 2
    status = models.deployments.status("churn")
    assert isinstance(status, DeploymentStatus)
    assert (status.name, status.traffic.stable, status.status.versions) == ("churn", 1, ["1"])
    assert status.status.shadow.compared == 0 and status.status.canary_verdict is None
    # Read as the dict it was before it had a model: the top level and its status.
    assert status["traffic"] == status.traffic and status["status"]["versions"] == ["1"]
    assert "status" in status and "canary_verdict" not in status["status"]


def test_sync_follows_the_moved_alias(models: Platform) -> None:
    models.registry.set_alias("churn", "champion", 1)
    models.deployments.create("churn", model="churn@champion")
    pinned = models.deployments.create("pinned", model="churn/1")
    models.registry.set_alias("churn", "champion", 2)
    # The server may follow the alias's event first; either way the sync ends on version 2.
    followed = models.deployments.sync("churn")
    assert (followed.traffic.stable, followed.traffic.blue) == (2, 1)
    assert [c.action for c in models.deployments.history("churn")] == ["created", "registry"]
    assert models.deployments.sync("churn") == followed  # nothing left to follow
    assert models.deployments.sync("pinned") == pinned  # a pinned version is left as it is
    with fails(NotFoundError):
        models.deployments.sync("missing")


def test_canary_step_promote_and_rollback(models: Platform) -> None:
    deployments = models.deployments
    deployments.create("churn", model="churn/1")
    started = deployments.canary("churn", 2, weight=0.1, auto=False)
    assert started.traffic.canary is not None
    assert (started.traffic.canary.version, started.traffic.canary.weight) == (2, 0.1)
    stepped = deployments.step("churn", weight=0.5)
    assert stepped.traffic.canary is not None and stepped.traffic.canary.weight == 0.5
    promoted = deployments.promote("churn", reason="healthy")
    assert (promoted.traffic.stable, promoted.traffic.blue, promoted.traffic.canary) == (2, 1, None)
    back = deployments.rollback("churn", reason="worse")
    assert (back.traffic.stable, back.traffic.blue) == (1, 2)
    actions = [change.action for change in deployments.history("churn")]
    assert actions == ["created", "canary", "step", "promote", "rollback"]


def test_shadow_stage_and_switch(models: Platform) -> None:
    deployments = models.deployments
    deployments.create("churn", model="churn/1")
    assert deployments.shadow("churn", 2).traffic.shadow == 2
    assert deployments.shadow("churn", None).traffic.shadow is None
    staged = deployments.stage("churn", 2)
    assert (staged.traffic.green, staged.traffic.shadow) == (2, 2)
    switched = deployments.switch("churn")
    assert (switched.traffic.stable, switched.traffic.blue, switched.traffic.green) == (2, 1, None)


def test_bad_input_fails_the_same_way(models: Platform) -> None:
    deployments = models.deployments
    with fails(NotFoundError):
        deployments.create(model="nope/1")
    with fails(InvalidInputError):
        deployments.create(model="churn/1", cache={"ttl_seconds": -1})
    deployments.create("churn", model="churn/1")
    with fails(ConflictError):
        deployments.create("churn", model="churn/2")
    with fails(ConflictError):
        deployments.promote("churn")
    with fails(ConflictError):
        deployments.switch("churn")
    with fails(NotFoundError):
        deployments.get("missing")
    with fails(NotFoundError):
        deployments.predict("missing", features={"tenure": 1, "spend": 1.0})
    with fails(InvalidInputError):
        deployments.predict("churn", features={"tenure": "many"})
