"""Webhooks go over https:// only: plain http:// is refused unless explicitly allowed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from podium.access.projects import Project
from podium.access.roles import Role
from podium.api.app import create_app
from podium.cli.app import app as cli
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.events.webhooks import WebhookService
from podium.platform import Installation

PLAIN = "http://ci.example.com/hook"


def test_plain_http_is_refused_with_the_fix(installation: Installation, project: Project) -> None:
    webhooks = WebhookService(installation.db, project)
    with pytest.raises(InvalidInputError) as refused:
        webhooks.create(PLAIN)
    assert refused.value.field == "url"
    assert "https://" in refused.value.message
    assert "allow_http=True" in str(refused.value.remedy)
    assert "PODIUM_WEBHOOKS_ALLOW_HTTP" in str(refused.value.remedy)
    assert webhooks.list() == []  # nothing half-made


def test_https_and_allowed_http_are_accepted(installation: Installation, project: Project) -> None:
    webhooks = WebhookService(installation.db, project)
    secure, _ = webhooks.create("https://ci.example.com/hook")
    allowed, _ = webhooks.create(PLAIN, allow_http=True)
    assert (
        {hook.url for hook in webhooks.list()}
        == {secure.url, allowed.url}
        == {
            "https://ci.example.com/hook",
            PLAIN,
        }
    )


def test_the_setting_allows_http_for_every_webhook(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", webhooks_allow_http=True)
    installation = Installation(settings)
    try:
        platform = installation.platform("hooks", user="local:test")
        hook, _ = platform.webhooks.create(PLAIN)
        assert hook.url == PLAIN
    finally:
        installation.close()
    closed = Installation(Settings(home=tmp_path / "other"))
    try:
        with pytest.raises(InvalidInputError):
            closed.platform("hooks", user="local:test").webhooks.create(PLAIN)
    finally:
        closed.close()


@pytest.mark.anyio
async def test_the_api_answers_problem_json_and_accepts_the_flag(
    installation: Installation, project: Project
) -> None:
    _, secret = installation.keys.create(project.name, Role.ADMIN, name="admin")
    headers = {"authorization": f"Bearer {secret}"}
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        refused = await http.post("/v1/webhooks", json={"url": PLAIN}, headers=headers)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["field"] == "url" and "allow_http" in refused.json()["remedy"]
        made = await http.post(
            "/v1/webhooks", json={"url": PLAIN, "allow_http": True}, headers=headers
        )
        assert made.status_code == 201, made.text


def test_the_cli_says_it_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    refused = runner.invoke(cli, ["webhooks", "add", PLAIN])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ") and "Traceback" not in refused.output
    assert "--allow-http" in refused.stderr
    allowed = runner.invoke(cli, ["webhooks", "add", PLAIN, "--allow-http"])
    assert allowed.exit_code == 0, allowed.output
    assert f"-> {PLAIN}" in allowed.stdout


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
