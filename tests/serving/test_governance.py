"""A deployment that follows a stage or alias makes stable only what the registry allows.

Promote, switch and a canary at 100% of a version outside the followed stage request the
stage transition and are refused naming the request to approve; approved, the deployment
follows the stage. A deployment pinned to a version is not governed. Nothing reverts a
completed rollout or a rollback silently: a resync moves a deployment only when its ref
moved, and says so in the history. Embedded, and through the REST API.
"""

from __future__ import annotations

import httpx
import pytest

import podium
from podium.access.roles import Role
from podium.errors import ConflictError, PermissionDeniedError
from podium.events import EventDispatcher
from podium.platform import Installation, Platform
from podium.serving.control.events import ServingEvents
from podium.serving.requests.runtime import ServingRuntime
from tests.conftest import LiveServer
from tests.serving.conftest import FEATURES


@pytest.fixture
def approver(churn_models: Platform, installation: Installation) -> Platform:
    """A second identity (an admin), who may approve what ``local:test`` requested."""
    return installation.platform(churn_models.project, user="local:approver", role=Role.ADMIN)


@pytest.fixture
def on_production(churn_models: Platform, approver: Platform) -> Platform:
    """``churn/1`` approved into production and deployed as ``churn@production``."""
    request = churn_models.registry.request_transition("churn", 1, "production")
    approver.registry.approve(request.id)
    churn_models.deployments.create("churn", model="churn@production")
    return churn_models


def _refused(call: object) -> ConflictError:
    assert callable(call)
    with pytest.raises(ConflictError) as caught:
        call()
    return caught.value


def _request_of(call: object) -> str:
    """The id of the transition request a refused move waits for."""
    return str(_refused(call).details["transition_request_id"])


def test_promote_of_an_unapproved_version_requests_the_transition(
    on_production: Platform, approver: Platform
) -> None:
    deployments, registry = on_production.deployments, on_production.registry
    deployments.canary("churn", 2, weight=0.25, auto=False)
    refused = _refused(lambda: deployments.promote("churn"))
    request_id = refused.details["transition_request_id"]
    assert f"podium models approve {request_id}" in (refused.remedy or "")
    assert "not in stage production" in refused.message
    request = registry.get_request(request_id)
    assert (request.version, request.to_stage, request.status) == (2, "production", "pending")
    assert request.requested_by == "local:test"
    # Asking again waits on the same request; nothing moved meanwhile.
    assert _request_of(lambda: deployments.promote("churn")) == request_id
    assert len(registry.list_requests("churn", status="pending")) == 1
    waiting = deployments.get("churn")
    assert waiting.traffic.stable == 1 and waiting.traffic.canary is not None

    approver.registry.approve(request_id)
    followed = deployments.sync("churn")
    assert (followed.traffic.stable, followed.traffic.blue, followed.traffic.canary) == (2, 1, None)
    last = deployments.history("churn")[-1]
    assert last.action == "registry"
    assert "churn@production moved from version 1 to 2" in last.reason


def test_promote_goes_ahead_once_the_version_holds_the_stage(
    on_production: Platform, approver: Platform
) -> None:
    deployments = on_production.deployments
    deployments.canary("churn", 2, weight=0.25, auto=False)
    request_id = _request_of(lambda: deployments.promote("churn"))
    approver.registry.approve(request_id)
    promoted = deployments.promote("churn")  # no server followed the stage yet: allowed now
    assert (promoted.traffic.stable, promoted.traffic.ref_version) == (2, 2)
    generation = promoted.generation
    assert deployments.sync("churn").generation == generation  # nothing left to follow


def test_a_policy_without_approvals_lets_the_promote_through(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    churn_models.registry.request_transition("churn", 1, "staging")  # applies at once
    deployments.create("churn", model="churn@staging")
    deployments.canary("churn", 2, weight=0.1, auto=False)
    promoted = deployments.promote("churn")
    assert promoted.traffic.stable == 2
    assert churn_models.registry.get_version("churn/2").stage == "staging"


def test_switch_and_a_full_canary_are_governed_too(on_production: Platform) -> None:
    deployments = on_production.deployments
    deployments.stage("churn", 2)
    assert "switch waits" in _refused(lambda: deployments.switch("churn")).message
    assert deployments.get("churn").traffic.stable == 1
    assert (
        "canary waits"
        in _refused(lambda: deployments.canary("churn", 2, weight=1.0, auto=False)).message
    )
    deployments.canary("churn", 2, weight=0.5, steps=[0.5], auto=False)
    assert "at 100%" in _refused(lambda: deployments.step("churn")).message
    assert deployments.step("churn", weight=0.75).traffic.canary is not None


def test_an_alias_governs_with_the_command_that_moves_it(churn_models: Platform) -> None:
    deployments, registry = churn_models.deployments, churn_models.registry
    registry.set_alias("churn", "champion", 1)
    deployments.create("churn", model="churn@champion")
    deployments.canary("churn", 2, weight=0.1, auto=False)
    refused = _refused(lambda: deployments.promote("churn"))
    assert "podium models alias churn champion 2" in (refused.remedy or "")
    assert registry.list_requests("churn") == []
    registry.set_alias("churn", "champion", 2)
    assert deployments.sync("churn").traffic.stable == 2


def test_a_pinned_deployment_is_not_governed_and_never_resynced(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1")
    deployments.canary("churn", 2, weight=0.1, auto=False)
    promoted = deployments.promote("churn")
    assert promoted.traffic.stable == 2
    assert deployments.sync("churn").generation == promoted.generation  # was: back to 1
    back = deployments.rollback("churn")
    assert back.traffic.stable == 1
    assert deployments.sync("churn").generation == back.generation
    assert churn_models.registry.list_requests("churn") == []


def test_a_resync_never_undoes_a_rollback(on_production: Platform, approver: Platform) -> None:
    deployments = on_production.deployments
    deployments.canary("churn", 2, weight=0.25, auto=False)
    approver.registry.approve(_request_of(lambda: deployments.promote("churn")))
    assert deployments.sync("churn").traffic.stable == 2
    back = deployments.rollback("churn", reason="version 2 misbehaves")
    assert (back.traffic.stable, back.traffic.ref_version) == (1, 2)
    assert deployments.sync("churn").generation == back.generation
    assert deployments.history("churn")[-1].reason == "version 2 misbehaves"


def test_the_first_server_start_keeps_a_governed_rollout(
    on_production: Platform, approver: Platform, installation: Installation
) -> None:
    """The quickstart's defect: every pending stage event, delivered when ``podium up``
    starts, moved the deployment back to what the events named."""
    deployments = on_production.deployments
    deployments.canary("churn", 2, weight=0.25, auto=False)
    approver.registry.approve(_request_of(lambda: deployments.promote("churn")))
    deployments.promote("churn")
    deployments.rollback("churn", reason="kept on 1 by hand")
    before = deployments.get("churn")
    dispatcher = EventDispatcher(installation.db)
    dispatcher.subscribe(
        ServingEvents(installation.loaded_runtime, installation.serving_deployments)
    )
    assert dispatcher.dispatch_once() > 0  # every stage change so far, as on a first start
    after = deployments.get("churn")
    assert (after.traffic, after.generation) == (before.traffic, before.generation)


def test_an_automatic_canary_waits_for_approval_at_its_last_step(
    on_production: Platform, approver: Platform, runtime: ServingRuntime
) -> None:
    deployments = on_production.deployments
    deployments.update("churn", cache={"enabled": False})
    deployments.canary(
        "churn",
        2,
        steps=[0.5],
        step_seconds=0.001,
        limits={"min_requests": 5, "max_p95_latency_ratio": 100, "max_prediction_psi": 100},
    )
    runtime.reload("churn").result()
    for tenure in range(40):
        on_production.predict("churn", features={**FEATURES, "tenure_months": tenure})
    for _ in range(2):
        verdict = runtime.judge.tick()["churn"]
        assert verdict.decision == "hold" and "waits for the approval" in verdict.reason
    (request,) = on_production.registry.list_requests("churn", status="pending")
    assert request.requested_by == "podium:serving" and request.version == 2
    assert deployments.get("churn").traffic.stable == 1
    approver.registry.approve(request.id)
    assert deployments.sync("churn").traffic.stable == 2


def test_over_http_the_refusal_is_a_409_naming_the_request(
    on_production: Platform, live_server: LiveServer
) -> None:
    project = on_production.project
    writer = live_server.key(project, Role.WRITER)
    remote = podium.connect(live_server.url, api_key=writer, project=project)
    try:
        remote.deployments.canary("churn", 2, weight=0.25, auto=False)
        with pytest.raises(ConflictError) as caught:
            remote.deployments.promote("churn")
        request_id = caught.value.details["transition_request_id"]
        assert f"podium models approve {request_id}" in (caught.value.remedy or "")
        raw = httpx.post(
            f"{live_server.url}/v1/deployments/churn/promote",
            headers={"authorization": f"Bearer {writer}"},
            json={},
        )
        assert raw.status_code == 409
        assert raw.headers["content-type"].startswith("application/problem+json")
        problem = raw.json()
        assert problem["transition_request_id"] == request_id and problem["field"] == "version"
        assert f"podium models approve {request_id}" in problem["remedy"]
        admin = podium.connect(
            live_server.url, api_key=live_server.key(project, Role.ADMIN), project=project
        )
        try:
            admin.registry.approve(request_id)
        finally:
            admin.close()
        followed = remote.deployments.promote("churn")
        assert (followed.traffic.stable, followed.traffic.canary) == (2, None)
    finally:
        remote.close()


def test_over_http_a_sync_needs_a_writer_and_is_audited(
    churn_models: Platform, live_server: LiveServer, installation: Installation
) -> None:
    project = churn_models.project
    churn_models.registry.set_alias("churn", "champion", 1)
    churn_models.deployments.create(model="churn@champion")
    churn_models.registry.set_alias("churn", "champion", 2)
    reader = podium.connect(
        live_server.url, api_key=live_server.key(project, Role.READER), project=project
    )
    writer = podium.connect(
        live_server.url, api_key=live_server.key(project, Role.WRITER), project=project
    )
    try:
        with pytest.raises(PermissionDeniedError):
            reader.deployments.sync("churn")
        followed = writer.deployments.sync("churn")  # the server's events may have come first
        assert (followed.traffic.stable, followed.traffic.blue) == (2, 1)
        assert writer.deployments.sync("churn") == followed  # nothing left to follow
    finally:
        reader.close()
        writer.close()
    entries = installation.audit.list(installation.projects.get(project).id)
    outcomes = {(e.action, e.outcome) for e in entries}
    assert ("sync_deployment", "permission-denied") in outcomes
    assert ("sync_deployment", "ok") in outcomes  # the sync that found nothing to move
