"""``p.registry`` both ways: every method of the Registry protocol, the same assertions."""

from __future__ import annotations

import numpy as np

from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.platform import Platform
from podium.registry.types import ModelPolicy, StagePolicy
from tests.parity.assertions import fails
from tests.parity.conftest import Side, Trained


def test_register_find_and_load(platform: Platform, trained: Trained) -> None:
    registry = platform.registry
    first = registry.register(
        "churn", trained.model, input_example=trained.frame[:5], tags={"team": "growth"}
    )
    assert (first.name, first.version, first.flavor, first.stage) == ("churn", 1, "sklearn", "none")
    assert first.signature is not None
    assert [c["name"] for c in first.signature["inputs"]] == ["tenure", "spend"]
    second = registry.register(
        "churn", trained.model, input_example=trained.frame[:5], description="again"
    )
    assert second.version == 2
    assert registry.get_version("churn/1") == first
    assert registry.get_model("churn").latest_version == 2
    assert [m.name for m in registry.list_models()] == ["churn"]
    assert [v.version for v in registry.list_versions("churn")] == [1, 2]
    loaded = registry.load("churn/2")
    np.testing.assert_array_equal(
        loaded.predict(trained.frame), trained.model.predict(trained.frame)
    )


def test_aliases(platform: Platform, trained: Trained) -> None:
    registry = platform.registry
    registry.register("churn", trained.model, input_example=trained.frame[:5])
    assert registry.set_alias("churn", "champion", 1).aliases == ["champion"]
    assert registry.get_version("churn@champion").version == 1
    assert registry.get_model("churn").aliases == {"champion": 1}
    assert registry.delete_alias("churn", "champion") is None
    with fails(NotFoundError):
        registry.get_version("churn@champion")


def test_transitions_policy_and_lineage(
    platform: Platform, side: Side, project_name: str, trained: Trained
) -> None:
    registry = platform.registry
    reviewer = side.connect(project_name, user="reviewer").registry
    registry.register("churn", trained.model, input_example=trained.frame[:5])
    policy = ModelPolicy(staging=StagePolicy(required_approvals=1))
    assert registry.set_policy("churn", policy).policy == policy
    asked = registry.request_transition("churn", 1, "production", comment="ship it")
    assert (asked.status, asked.to_stage, asked.comment) == ("pending", "production", "ship it")
    with fails(PermissionDeniedError):  # not by the requester
        registry.approve(asked.id)
    approved = reviewer.approve(asked.id, comment="looks good")
    assert approved.status == "applied"
    assert registry.get_request(asked.id) == approved
    assert registry.get_version("churn@production").version == 1
    registry.register("churn", trained.model, input_example=trained.frame[:5])
    again = registry.request_transition("churn", 2, "staging")
    rejected = reviewer.reject(again.id, comment="not yet")
    assert rejected.status == "rejected"
    assert {r.id for r in registry.list_requests("churn")} == {asked.id, again.id}
    assert [r.id for r in registry.list_requests(status="rejected")] == [again.id]
    graph = registry.lineage("churn/1")
    assert graph


def test_bad_input_fails_the_same_way(platform: Platform, trained: Trained) -> None:
    registry = platform.registry
    with fails(InvalidInputError):
        registry.register("Bad Name", trained.model, input_example=trained.frame[:5])
    with fails(NotFoundError):
        registry.get_model("nope")
    with fails(NotFoundError):
        registry.load("nope/1")
    with fails(NotFoundError):
        registry.get_request("0" * 32)
    registry.register("churn", trained.model, input_example=trained.frame[:5])
    with fails(NotFoundError):
        registry.get_version("churn/9")
    with fails(NotFoundError):
        registry.set_alias("churn", "champion", 9)
    with fails(InvalidInputError):
        registry.request_transition("churn", 1, "heaven")
    with fails(InvalidInputError):
        registry.set_policy("churn", {"production": {"required_approvals": 99}})
