"""pii columns over HTTP (SDK and raw REST) and from the CLI: admins detokenize, others 403."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

import podium
from podium.access.roles import Role
from podium.cli.app import app
from podium.config import Settings
from podium.data.tokens import is_token
from podium.errors import PermissionDeniedError
from podium.platform import Installation
from tests.api.assertions import assert_problem
from tests.cli.assertions import assert_one_error
from tests.conftest import LiveServer

ROWS = pd.DataFrame({"id": [1, 2, 3], "email": ["ana@ex.io", "bo@ex.io", "ana@ex.io"]})


def test_admins_detokenize_over_http_and_readers_get_403(
    live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    writer_key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=writer_key, home=tmp_path / "w") as writer:
        writer.data.write("raw.users", ROWS, pii=["email"])
        tokens = writer.data.read("raw.users").column("email").to_pylist()
        assert all(is_token(t) for t in tokens) and tokens[0] == tokens[2]
        assert writer.data.pii_columns("raw.users") == ["email"]
        with pytest.raises(PermissionDeniedError, match="admin role"):
            writer.data.detokenize("raw.users", "email", tokens)
    home = live_server.installation.settings.home
    assert not [p for p in home.rglob("*") if p.is_file() and b"ana@ex.io" in p.read_bytes()]

    admin_key = live_server.key(project_name, Role.ADMIN)
    with podium.connect(live_server.url, api_key=admin_key, home=tmp_path / "a") as admin:
        assert admin.data.detokenize("raw.users", "email", tokens) == [
            "ana@ex.io",
            "bo@ex.io",
            "ana@ex.io",
        ]

    url = f"{live_server.url}/v1/tables/raw.users/detokenize"
    body = {"column": "email", "tokens": tokens[:1]}
    reader_key = live_server.key(project_name, Role.READER)
    answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {reader_key}"})
    problem = assert_problem(answer, 403, code="permission-denied")
    assert "ana@ex.io" not in answer.text and "admin" in problem["detail"]
    as_admin = {"Authorization": f"Bearer {admin_key}"}
    assert_problem(httpx.post(url, json={"column": "id", "tokens": tokens}, headers=as_admin), 404)
    bad = httpx.post(url, json={"column": "email", "tokens": ["x"]}, headers=as_admin)
    assert_problem(bad, 400)


def test_the_cli_ingests_pii_and_detokenizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "250")
    csv = tmp_path / "users.csv"
    ROWS.to_csv(csv, index=False)
    runner = CliRunner()
    ingested = runner.invoke(app, ["data", "ingest", "raw.users", str(csv), "--pii", "email"])
    assert ingested.exit_code == 0, ingested.output
    installation = Installation(Settings())
    try:
        local = installation.platform("default", user="local:test")
        tokens = local.data.read("raw.users").column("email").to_pylist()
    finally:
        installation.close()
    assert all(is_token(t) for t in tokens)

    listed = runner.invoke(app, ["data", "pii", "raw.users"])
    assert listed.exit_code == 0 and listed.stdout.strip() == "email"
    shown = runner.invoke(app, ["data", "detokenize", "raw.users", "email", tokens[1], "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"bo@ex.io"' in shown.stdout
    refused = runner.invoke(app, ["data", "detokenize", "raw.users", "id", tokens[1]])
    assert_one_error(refused, "column 'id' of table 'raw.users' is not a pii column")
