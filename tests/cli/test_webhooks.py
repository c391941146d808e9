"""``podium models webhooks``: add, list, deliveries, remove."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from podium.cli.app import app


@pytest.fixture
def run(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path))
    monkeypatch.delenv("PODIUM_URL", raising=False)
    return CliRunner()


def test_webhooks_are_added_listed_and_removed(run: CliRunner) -> None:
    added = run.invoke(app, ["models", "webhooks", "add", "http://127.0.0.1:9/hook"])
    assert added.exit_code == 0, added.output
    webhook_id = added.stdout.split()[2]
    assert "whsec_" in added.stdout
    listed = run.invoke(app, ["models", "webhooks", "ls"])
    assert webhook_id in listed.stdout and "whsec_" not in listed.stdout
    assert run.invoke(app, ["models", "webhooks", "deliveries"]).exit_code == 0
    assert run.invoke(app, ["models", "webhooks", "rm", webhook_id]).exit_code == 0
    assert webhook_id not in run.invoke(app, ["models", "webhooks", "ls"]).stdout


def test_a_bad_url_is_one_error_line(run: CliRunner) -> None:
    result = run.invoke(app, ["models", "webhooks", "add", "ftp://example"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
