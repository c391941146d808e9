"""``podium audit``: what the API (and the CLI) changed, newest first."""

from __future__ import annotations

import asyncio

import httpx

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error


async def _post(installation: Installation, path: str, body: object, key: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
        return await client.post(path, json=body, headers={"authorization": f"Bearer {key}"})


def test_audit_shows_a_mutation_made_through_the_api(
    invoke: Invoke, embedded: Installation
) -> None:
    embedded.projects.create("fraud")
    _, secret = embedded.keys.create("fraud", Role.WRITER, name="ci")
    response = asyncio.run(_post(embedded, "/v1/experiments", {"name": "churn"}, secret))
    assert response.status_code == 201, response.text
    request_id = response.headers["x-request-id"]

    result = invoke("audit", "--project", "fraud")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if request_id in line)
    # the service records what it did, with the object it made (ADR 0018)
    assert "tracking.create_experiment" in row and "experiment:churn" in row
    assert "(ci)" in row and " ok " in row


def test_audit_filters_by_action_and_limits(invoke: Invoke, embedded: Installation) -> None:
    project = embedded.projects.create("fraud")
    for n in range(3):
        embedded.audit.record(
            project_id=project.id, actor="key:1", action="log_params", target=f"/r/{n}"
        )
    embedded.audit.record(
        project_id=project.id, actor="key:1", action="end_run", target="/r/x", outcome="conflict"
    )

    only = invoke("audit", "-p", "fraud", "--action", "log_params", "--limit", "2")
    assert only.exit_code == 0, only.output
    assert "/r/2" in only.stdout and "/r/1" in only.stdout
    assert "/r/0" not in only.stdout and "end_run" not in only.stdout

    everything = invoke("audit", "-p", "fraud")
    assert "conflict" in everything.stdout


def test_audit_of_an_unknown_project(invoke: Invoke) -> None:
    assert_one_error(invoke("audit", "-p", "nope"), "project 'nope' does not exist")


def test_audit_after_a_quickstart_lists_its_changes(invoke: Invoke) -> None:
    """The quickstart works embedded: its registrations, approval and deployment changes
    are audited all the same (before, only the API's requests were)."""
    assert invoke("quickstart", "--no-serve", "--rows", "400").exit_code == 0

    result = invoke("audit")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    actions = {word for row in rows for word in row if "." in word and "/" not in word}
    assert {
        "registry.register",
        "registry.request_transition",
        "registry.approve",
        "deployments.created",
        "features.apply",
        "features.materialize",
    } <= actions, result.stdout
    approvals = invoke("audit", "--action", "registry.approve")
    assert "local:quickstart-approver" in approvals.stdout and " ok " in approvals.stdout
    registrations = invoke("audit", "--action", "registry.register").stdout
    assert "model:customer-churn/1" in registrations and "model:customer-churn/2" in registrations
