"""Projects, API keys and the audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from podium.access.roles import Principal, Role, parse_role
from podium.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.platform import Installation


def _name() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def test_projects_are_created_once_and_listed(installation: Installation) -> None:
    name = _name()
    created = installation.projects.create(name, description="churn models")
    assert installation.projects.get(name) == created
    assert name in [p.name for p in installation.projects.list()]
    with pytest.raises(ConflictError):
        installation.projects.create(name)
    assert installation.projects.ensure(name) == created


@pytest.mark.parametrize("bad", ["", "Upper", "has space", "-dash", "x" * 70, "a/b"])
def test_bad_project_names_are_refused_with_the_pattern(
    installation: Installation, bad: str
) -> None:
    with pytest.raises(InvalidInputError, match="must match"):
        installation.projects.create(bad)


def test_a_key_is_shown_once_stored_hashed_and_authenticates(installation: Installation) -> None:
    project = installation.projects.create(_name())
    key, secret = installation.keys.create(project.name, Role.WRITER, name="ci")
    principal = installation.keys.authenticate(secret)
    assert (principal.project, principal.role, principal.key_id) == (
        project.name,
        Role.WRITER,
        key.id,
    )
    with installation.db.read() as session:
        from podium.access.tables import ApiKeyRow

        row = session.get(ApiKeyRow, key.id)
    assert row is not None and secret not in row.secret_sha256 and len(row.secret_sha256) == 64


@pytest.mark.parametrize("secret", [None, "", "garbage", "pdm_abc_def", "pdm_x_y_z"])
def test_missing_or_unknown_keys_are_refused(installation: Installation, secret: str) -> None:
    with pytest.raises(AuthenticationError) as info:
        installation.keys.authenticate(secret)
    assert info.value.remedy


def test_a_revoked_key_stops_working_at_once(installation: Installation) -> None:
    project = installation.projects.create(_name())
    key, secret = installation.keys.create(project.name, Role.ADMIN)
    installation.keys.authenticate(secret)  # now cached
    revoked = installation.keys.revoke(project.name, key.id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationError):
        installation.keys.authenticate(secret)


def test_keys_of_another_project_cannot_be_revoked(installation: Installation) -> None:
    a = installation.projects.create(_name())
    b = installation.projects.create(_name())
    key, _ = installation.keys.create(a.name, Role.READER)
    with pytest.raises(NotFoundError):
        installation.keys.revoke(b.name, key.id)
    assert [k.id for k in installation.keys.list(a.name)] == [key.id]
    assert installation.keys.list(b.name) == []


def test_roles_rank_and_refuse_with_a_remedy() -> None:
    reader = Principal(actor="key:x", project_id=1, project="p", role=Role.READER)
    reader.require(Role.READER, action="read runs")
    with pytest.raises(PermissionDeniedError) as info:
        reader.require(Role.WRITER, action="log metrics")
    assert "writer" in str(info.value) and info.value.remedy
    assert parse_role("ADMIN") is Role.ADMIN
    with pytest.raises(InvalidInputError, match="reader, writer, admin"):
        parse_role("owner")


def test_audit_entries_are_per_project_and_newest_first(installation: Installation) -> None:
    a = installation.projects.create(_name())
    b = installation.projects.create(_name())
    for action in ("create_run", "log_params"):
        installation.audit.record(
            project_id=a.id, actor="key:1", action=action, target="/v1/runs", request_id="r1"
        )
    installation.audit.record(project_id=b.id, actor="key:2", action="create_run")
    entries = installation.audit.list(a.id)
    assert [e.action for e in entries] == ["log_params", "create_run"]
    assert {e.actor for e in entries} == {"key:1"}
    assert [e.action for e in installation.audit.list(a.id, action="create_run")] == ["create_run"]
    with pytest.raises(InvalidInputError):
        installation.audit.list(a.id, limit=0)
