"""``podium projects``: create and list, audited like the API."""

from __future__ import annotations

from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error


def test_create_then_list(invoke: Invoke, embedded: Installation) -> None:
    created = invoke("projects", "create", "fraud", "--description", "card fraud models")
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "created project 'fraud'"

    listed = invoke("projects", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if "fraud" in line)
    assert "card fraud models" in row

    project = embedded.projects.get("fraud")
    [entry] = embedded.audit.list(project.id)
    assert (entry.action, entry.target, entry.outcome) == (
        "create_project",
        "/v1/projects/fraud",
        "ok",
    )
    assert entry.actor.startswith("local:")


def test_taken_name_is_a_conflict(invoke: Invoke) -> None:
    assert invoke("projects", "create", "fraud").exit_code == 0
    assert_one_error(invoke("projects", "create", "fraud"), "project 'fraud' already exists")
