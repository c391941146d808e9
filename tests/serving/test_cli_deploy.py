"""``podium deploy ...`` and ``podium serve``: the CLI front door onto deployments."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner, Result

from podium.access.roles import Role
from podium.api.replica_server import create_serving_app
from podium.cli.app import app
from podium.cli.quickstart import TerminalShow
from podium.config import Settings
from podium.platform import Installation, Platform
from podium.quickstart.serving import serve_burst
from podium.replica import open_replica
from tests.conftest import loopback_server
from tests.serving.conftest import FEATURES, churn_frame

ENV = (
    "PODIUM_URL",
    "PODIUM_API_KEY",
    "PODIUM_PROJECT",
    "PODIUM_DATABASE_URL",
    "PODIUM_STORAGE_URL",
)


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Installation]:
    """PODIUM_HOME for this test with ``churn`` versions 1 and 2 registered."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    installation = Installation(Settings())
    platform = installation.platform(user="local:test")
    frame, labels = churn_frame()
    for c in (1.0, 0.01):
        model = LogisticRegression(C=c, max_iter=500).fit(frame.to_numpy(), labels)
        platform.registry.register("churn", model, input_example=frame[:5])
    yield installation
    installation.close()


def podium(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_create_ls_status_canary_promote_rollback(embedded: Installation) -> None:
    created = podium(
        "deploy", "create", "churn/1", "--fallback-model", "churn/2",
        "--default", '{"prediction": 0}', "--timeout-ms", "300",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "primary → fallback churn/2 → default" in created.output
    assert "stable 1" in podium("deploy", "ls").output
    canary = podium("deploy", "canary", "churn", "2", "--weight", "0.1", "--manual")
    assert "canary 2 at 10%" in canary.output
    assert "stable 2, blue 1" in podium("deploy", "promote", "churn").output
    assert "stable 1, blue 2" in podium("deploy", "rollback", "churn", "-m", "why").output
    assert "stable 1, shadow 2" in podium("deploy", "shadow", "churn", "2").output
    assert "shadow" not in podium("deploy", "shadow", "churn", "--stop").output.split("traffic")[1]
    assert "green 2" in podium("deploy", "switch", "churn", "--stage", "2").output
    assert "stable 2, blue 1" in podium("deploy", "switch", "churn").output
    status = podium("deploy", "status", "churn")
    for action in ("created", "canary", "promote", "rollback", "shadow", "stage", "switch"):
        assert action in status.output


def test_errors_are_one_line_with_a_hint(embedded: Installation) -> None:
    missing = podium("deploy", "status", "nope")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: deployment 'nope' does not exist")
    assert "hint: " in missing.stderr
    bad = podium("deploy", "create", "churn/1", "--default", "[1]")
    assert bad.exit_code == 1 and "error: --default must be a JSON object" in bad.stderr
    conflict = podium("deploy", "promote", "churn")
    assert conflict.exit_code == 1 and "error: " in conflict.stderr


def test_promoting_an_unapproved_version_names_the_request_to_approve(
    embedded: Installation,
) -> None:
    project = embedded.settings.project
    registry = embedded.platform(user="local:test").registry
    approver = embedded.platform(project, user="local:approver", role=Role.ADMIN).registry
    approver.approve(registry.request_transition("churn", 1, "production").id)
    assert podium("deploy", "create", "churn@production").exit_code == 0
    assert podium("deploy", "canary", "churn", "2", "--weight", "0.1", "--manual").exit_code == 0
    refused = podium("deploy", "promote", "churn")
    assert refused.exit_code == 1
    (request,) = registry.list_requests("churn", status="pending")
    assert refused.stderr.startswith("error: deployment 'churn' follows churn@production")
    assert f"podium models approve {request.id}" in refused.stderr
    approver.approve(request.id)
    assert "stable 2, blue 1" in podium("deploy", "promote", "churn").output


def test_podium_serve_answers_one_deployment_and_follows_changes(
    embedded: Installation,
) -> None:
    project = embedded.settings.project
    platform = embedded.platform(user="local:test")
    platform.deployments.create("churn", model="churn/1")
    platform.deployments.create("other", model="churn/2")
    replica = open_replica(embedded.settings, project, "churn")
    runtime, watcher = replica.runtime, replica.watcher
    app = create_serving_app(runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes)
    _, secret = embedded.keys.create(project, Role.READER, name="reader")
    try:
        with (
            loopback_server(app) as url,
            httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}) as http,
        ):
            assert http.get("/v2/health/live").status_code == 200
            answer = http.post("/v1/predictions", json={"model_id": "churn", "features": FEATURES})
            assert answer.json()["model_version"] == "1"
            other = http.post("/v1/predictions", json={"model_id": "other", "features": FEATURES})
            assert other.status_code == 404 and other.json()["field"] == "model_id"
            assert httpx.post(f"{url}/v1/predictions").status_code == 401
            platform.deployments.update("churn", model="churn/2")
            assert watcher.check() is True
            answer = http.post("/v1/predictions", json={"model_id": "churn", "features": FEATURES})
            assert answer.json()["model_version"] == "2"
            assert watcher.check() is False
            assert "podium_predictions_total" in http.get("/metrics").text
    finally:
        replica.close()


def test_the_quickstart_burst_deploys_canaries_and_reports(
    churn_models: Platform, installation: Installation
) -> None:
    request = churn_models.registry.request_transition("churn", 1, "production")
    approver = installation.platform(churn_models.project, user="approver", role=Role.ADMIN)
    approver.registry.approve(request.id)
    out = Console(record=True, width=200)
    result = serve_burst(TerminalShow(out), installation, churn_models, model="churn", requests=60)
    assert sum(result["served_by"].values()) == 60
    assert result["served_by"] == {"primary": 60}
    assert set(result["versions"]) == {"1", "2"}
    # The deployment follows churn@production: version 2 is not promoted on the burst's
    # say-so; its transition is requested and the canary keeps its share meanwhile.
    deployment = churn_models.deployments.get("churn")
    assert deployment.traffic.stable == 1
    assert deployment.traffic.canary is not None and deployment.traffic.canary.version == 2
    waiting = churn_models.registry.get_request(result["waiting_for"])
    assert (waiting.version, waiting.to_stage, waiting.status) == (2, "production", "pending")
    text = out.export_text()
    assert "p99 ms" in text and "canary of version 2" in text
    assert f"podium models approve {waiting.id}" in text
    approver.registry.approve(waiting.id)
    followed = churn_models.deployments.sync("churn")  # what the server does on the event
    assert (followed.traffic.stable, followed.traffic.canary) == (2, None)
