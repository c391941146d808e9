"""Stage transitions: requests, approvals, self-approval, roles, gates, one production."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select

from podium.access.roles import Role
from podium.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from podium.events.tables import EventRow
from podium.platform import Installation, Platform
from podium.registry.policy import parse_gate
from podium.registry.service import RegistryService
from tests.registry.conftest import RegistryFactory


def _register(
    service: RegistryService,
    model: LogisticRegression,
    frame: pd.DataFrame,
    *,
    run_id: str | None = None,
) -> int:
    return service.register("churn", model, run_id=run_id, input_example=frame[:5]).version


def _run_with_auc(platform: Platform, auc: float) -> str:
    with platform.tracking.start_run("churn") as run:
        run.log_metric("auc", auc)
    return run.id


def test_production_needs_another_admin(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, bob = registry_as("alice", Role.ADMIN), registry_as("bob", Role.ADMIN)
    version = _register(alice, model, training_frame)
    request = alice.request_transition("churn", version, "production", comment="ship it")
    assert request.status == "pending" and "1 more approval" in request.message
    with pytest.raises(PermissionDeniedError, match="self-approval is refused"):
        alice.approve(request.id)
    applied = bob.approve(request.id, comment="looks good")
    assert applied.status == "applied" and applied.decided_at is not None
    assert [(a.actor, a.decision, a.comment) for a in applied.approvals] == [
        ("bob", "approve", "looks good")
    ]
    assert alice.get_version("churn@production").version == version
    assert alice.load("churn@production").predict(training_frame[:2]).shape == (2,)
    with pytest.raises(ConflictError, match="already applied"):
        bob.approve(request.id)


def test_a_reader_can_neither_request_nor_approve(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, reader = registry_as("alice", Role.ADMIN), registry_as("rita", Role.READER)
    version = _register(alice, model, training_frame)
    with pytest.raises(PermissionDeniedError, match="writer"):
        reader.request_transition("churn", version, "production")
    request = alice.request_transition("churn", version, "production")
    with pytest.raises(PermissionDeniedError):
        reader.approve(request.id)
    with pytest.raises(PermissionDeniedError):
        reader.reject(request.id)
    assert alice.get_request(request.id).status == "pending"


def test_a_writer_may_request_but_not_approve_by_default(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, wendy = registry_as("alice", Role.ADMIN), registry_as("wendy", Role.WRITER)
    version = _register(wendy, model, training_frame)
    request = wendy.request_transition("churn", version, "production")
    walter = registry_as("walter", Role.WRITER)
    with pytest.raises(PermissionDeniedError, match="approvers"):
        walter.approve(request.id)
    # Named as an approver on the model, a writer may approve.
    alice.set_policy("churn", {"production": {"approvers": ["walter"]}})
    assert walter.approve(request.id).status == "applied"


def test_promoting_archives_the_previous_production_version(
    registry_as: RegistryFactory,
    installation: Installation,
    project_name: str,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    alice, bob = registry_as("alice", Role.ADMIN), registry_as("bob", Role.ADMIN)
    first = _register(alice, model, training_frame)
    second = _register(alice, model, training_frame)
    bob.approve(alice.request_transition("churn", first, "production").id)
    bob.approve(alice.request_transition("churn", second, "production").id)
    stages = {v.version: v.stage for v in alice.list_versions("churn")}
    assert stages == {first: "archived", second: "production"}
    project_id = installation.projects.get(project_name).id
    with installation.db.read() as session:
        events = session.execute(
            select(EventRow.type, EventRow.subject, EventRow.actor)
            .where(EventRow.project_id == project_id, EventRow.type.like("model.%"))
            .order_by(EventRow.id)
        ).all()
    assert [tuple(e) for e in events][-4:] == [
        ("model.transition_requested", "churn/2", "alice"),
        ("model.transition_approved", "churn/2", "bob"),
        ("model.stage_changed", "churn/1", "bob"),  # production -> archived
        ("model.stage_changed", "churn/2", "bob"),  # none -> production
    ]
    kinds = [e[0] for e in events]
    assert kinds.count("model.transition_approved") == 2
    assert kinds.count("model.stage_changed") == 3  # v1 up, v1 archived, v2 up


def test_archiving_applies_directly_and_restoring_is_a_request(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, wendy = registry_as("alice", Role.ADMIN), registry_as("wendy", Role.WRITER)
    version = _register(wendy, model, training_frame)
    assert wendy.request_transition("churn", version, "archived").status == "applied"
    assert wendy.get_version(f"churn/{version}").stage == "archived"
    request = wendy.request_transition("churn", version, "production")
    assert request.status == "pending"
    assert alice.approve(request.id).status == "applied"


def test_stage_rules(
    registry: RegistryService, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    version = _register(registry, model, training_frame)
    with pytest.raises(InvalidInputError, match="staging, production, archived"):
        registry.request_transition("churn", version, "none")
    with pytest.raises(InvalidInputError):
        registry.request_transition("churn", version, "prod")
    with pytest.raises(NotFoundError):
        registry.request_transition("churn", 9, "staging")
    registry.request_transition("churn", version, "staging")
    with pytest.raises(ConflictError, match="already in staging"):
        registry.request_transition("churn", version, "staging")
    pending = registry.request_transition("churn", version, "production")
    with pytest.raises(ConflictError, match="already pending"):
        registry.request_transition("churn", version, "production")
    assert registry.list_requests("churn", status="pending") == [pending]


def test_reject_closes_the_request_and_the_requester_may_withdraw(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, bob = registry_as("alice", Role.ADMIN), registry_as("bob", Role.ADMIN)
    version = _register(alice, model, training_frame)
    request = alice.request_transition("churn", version, "production")
    rejected = bob.reject(request.id, comment="auc too low")
    assert rejected.status == "rejected" and "auc too low" in rejected.message
    assert alice.get_version(f"churn/{version}").stage == "none"
    again = alice.request_transition("churn", version, "production")
    assert alice.reject(again.id).message.startswith("withdrawn by alice")


def test_two_approvals_when_the_policy_says_so(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, bob, carol = (registry_as(n, Role.ADMIN) for n in ("alice", "bob", "carol"))
    version = _register(alice, model, training_frame)
    alice.set_policy("churn", {"production": {"required_approvals": 2}})
    request = alice.request_transition("churn", version, "production")
    assert bob.approve(request.id).status == "pending"
    with pytest.raises(ConflictError, match="already decided"):
        bob.approve(request.id)
    assert carol.approve(request.id).status == "applied"


def test_metric_gates(
    registry_as: RegistryFactory,
    platform: Platform,
    model: LogisticRegression,
    training_frame: pd.DataFrame,
) -> None:
    alice, bob = registry_as("alice", Role.ADMIN), registry_as("bob", Role.ADMIN)
    weak = _register(alice, model, training_frame, run_id=_run_with_auc(platform, 0.80))
    strong = _register(alice, model, training_frame, run_id=_run_with_auc(platform, 0.91))
    alice.set_policy("churn", {"production": {"gates": ["metrics.auc >= 0.85"]}})
    with pytest.raises(ConflictError, match=r"metrics.auc >= 0.85 fails \(auc is 0.8\)"):
        alice.request_transition("churn", weak, "production")
    request = alice.request_transition("churn", strong, "production")
    # The policy tightens while the request waits: the last approval finds the gate failing.
    alice.set_policy("churn", {"production": {"gates": ["metrics.auc >= 0.95"]}})
    decided = bob.approve(request.id)
    assert decided.status == "rejected" and "metrics.auc >= 0.95 fails" in decided.message
    assert alice.get_version(f"churn/{strong}").stage == "none"


def test_policy_changes_are_for_admins_and_validated(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    alice, wendy = registry_as("alice", Role.ADMIN), registry_as("wendy", Role.WRITER)
    _register(alice, model, training_frame)
    with pytest.raises(PermissionDeniedError):
        wendy.set_policy("churn", {"production": {"required_approvals": 0}})
    bad_policies: list[dict[str, Any]] = [
        {"production": {"gates": ["auc > 0.8"]}},
        {"production": {"gates": ["metrics.auc >> 0.8"]}},
        {"production": {"approver_roles": ["owner"]}},
        {"production": {"required_approvals": -1}},
        {"prod": {}},
    ]
    for bad in bad_policies:
        with pytest.raises(InvalidInputError):
            alice.set_policy("churn", bad)
    assert parse_gate("metrics.auc >= 0.85").holds({"auc": 0.9})
    assert not parse_gate("metrics.auc >= 0.85").holds({})


def test_approvals_count_the_current_role_when_roles_of_is_given(
    registry_as: RegistryFactory, model: LogisticRegression, training_frame: pd.DataFrame
) -> None:
    roles = {"alice": Role.ADMIN, "bob": Role.ADMIN, "carol": Role.ADMIN}
    alice = registry_as("alice", Role.ADMIN, roles_of=roles.get)
    bob = registry_as("bob", Role.ADMIN, roles_of=roles.get)
    carol = registry_as("carol", Role.ADMIN, roles_of=roles.get)
    version = _register(alice, model, training_frame)
    alice.set_policy("churn", {"production": {"required_approvals": 2}})
    request = alice.request_transition("churn", version, "production")
    bob.approve(request.id)
    roles["bob"] = Role.READER  # bob lost his admin key before the second approval
    decided = carol.approve(request.id)
    assert decided.status == "pending" and "1 more approval" in decided.message


def test_unknown_request_is_not_found(registry: RegistryService) -> None:
    with pytest.raises(NotFoundError):
        registry.approve("0" * 32)
