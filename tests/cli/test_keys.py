"""``podium keys``: create (secret shown once), list (never secrets), revoke."""

from __future__ import annotations

import re

import pytest

from podium.access.roles import Role
from podium.errors import AuthenticationError
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error

SECRET = re.compile(r"^pdm_[0-9a-f]{12}_\S+$", re.MULTILINE)


@pytest.fixture
def project(embedded: Installation) -> str:
    embedded.projects.create("fraud")
    return "fraud"


def test_create_prints_the_secret_once(
    invoke: Invoke, embedded: Installation, project: str
) -> None:
    result = invoke("keys", "create", "--project", project, "--role", "writer", "--name", "ci")
    assert result.exit_code == 0, result.output
    secret = SECRET.search(result.stdout)
    assert secret is not None
    assert "not shown again" in result.stderr

    principal = embedded.keys.authenticate(secret.group())
    assert (principal.project, principal.role) == (project, Role.WRITER)

    listed = invoke("keys", "list", "--project", project)
    assert listed.exit_code == 0
    assert principal.key_id is not None and principal.key_id in listed.stdout
    assert "writer" in listed.stdout and "ci" in listed.stdout
    assert "pdm_" not in listed.stdout


def test_revoked_key_stops_authenticating(
    invoke: Invoke, embedded: Installation, project: str
) -> None:
    created = invoke("keys", "create", "-p", project, "-r", "reader")
    secret = SECRET.search(created.stdout)
    assert secret is not None
    key_id = secret.group().split("_")[1]

    revoked = invoke("keys", "revoke", key_id, "--project", project)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout.strip() == f"revoked key {key_id} of project {project!r}"
    with pytest.raises(AuthenticationError):
        embedded.keys.authenticate(secret.group())

    actions = [e.action for e in embedded.audit.list(embedded.projects.get(project).id)]
    assert actions == ["revoke_key", "create_key"]


def test_bad_role_is_one_line_and_creates_nothing(
    invoke: Invoke, embedded: Installation, project: str
) -> None:
    result = invoke("keys", "create", "--project", project, "--role", "x")
    assert_one_error(result, "the role must be one of reader, writer, admin; got 'x' instead")
    assert result.stderr.splitlines()[1] == "hint: pass --role reader|writer|admin"
    assert embedded.keys.list(project) == []


def test_unknown_project_and_key(invoke: Invoke, project: str) -> None:
    assert_one_error(invoke("keys", "list", "--project", "nope"), "project 'nope' does not exist")
    assert_one_error(
        invoke("keys", "revoke", "abc123", "--project", project),
        f"key 'abc123' does not exist in project {project!r}",
    )
