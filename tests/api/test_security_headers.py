"""Security headers on every answer, the Host allow-list, and CORS off by default."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.replica_server import create_serving_app
from podium.api.security_headers import API_POLICY, DOCS_POLICY, default_allowed_hosts
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.replica import open_replica
from podium.ui.headers import CONTENT_SECURITY_POLICY as UI_POLICY
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys
from tests.conftest import loopback_server

ROW = {"a": 1.0, "b": 2.0}


def assert_secured(response: httpx.Response, *, policy: str = API_POLICY) -> None:
    """The headers every API answer carries, whatever its status."""
    headers: Mapping[str, str] = response.headers
    for name in ("x-content-type-options", "content-security-policy", "cache-control"):
        assert len(response.headers.get_list(name)) <= 1, (name, response.url)  # never twice
    assert headers["x-content-type-options"] == "nosniff", response.url
    assert headers["referrer-policy"] == "no-referrer", response.url
    assert headers["x-frame-options"] == "DENY", response.url
    assert headers["content-security-policy"] == policy, response.url
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "access-control-allow-origin" not in headers, response.url


@pytest.fixture
def deployed(platform: Platform) -> Platform:
    """Deployment ``small`` of a two-feature model in the test's project."""
    features = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0]])
    model = LogisticRegression().fit(features, [0, 1, 0, 1])
    example = pd.DataFrame(features, columns=["a", "b"])
    platform.registry.register("small", model, input_example=example)
    platform.deployments.create("small", model="small/1")
    return platform


@pytest.mark.anyio
async def test_every_kind_of_platform_answer_is_secured(
    client: httpx.AsyncClient, keys: Keys, deployed: Platform
) -> None:
    headers = keys.headers(deployed.project, Role.READER)
    answers = {
        "json": await client.get("/v1/whoami", headers=headers),
        "401": await client.get("/v1/whoami"),
        "404": await client.get("/v1/runs/0123456789abcdef", headers=headers),
        "400": await client.post("/v1/predictions", json={"nope": 1}, headers=headers),
        "prediction": await client.post(
            "/v1/predictions", json={"model_id": "small", "features": ROW}, headers=headers
        ),
        "metrics": await client.get("/metrics", headers=headers),
        "v2": await client.get("/v2", headers=headers),
        "healthz": await client.get("/healthz"),
        "openapi": await client.get("/openapi.json"),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "json": 200,
        "401": 401,
        "404": 404,
        "400": 400,
        "prediction": 200,
        "metrics": 200,
        "v2": 200,
        "healthz": 200,
        "openapi": 200,
    }
    for answer in answers.values():
        assert_secured(answer)
        assert answer.headers["cache-control"] == "no-store"
    assert_problem(answers["401"], 401)


@pytest.mark.anyio
async def test_an_unexpected_500_is_secured_too(installation: Installation, keys: Keys) -> None:
    app = create_app(installation)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
        answer = await http.get("/v1/broken", headers=keys.headers("p-broken"))
    assert_problem(answer, 500)
    assert_secured(answer)


@pytest.mark.anyio
async def test_docs_pages_may_load_their_cdn_and_the_ui_keeps_its_policy(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200
        assert_secured(page, policy=DOCS_POLICY)
        # What the page loads is what the policy allows.
        assert "https://cdn.jsdelivr.net/" in page.text
    login = await client.get("/ui/login")
    assert_secured(login, policy=UI_POLICY)
    assert login.headers["cache-control"] == "no-store"
    static = await client.get("/ui/static/ui.css")
    assert static.status_code == 200
    assert_secured(static, policy=UI_POLICY)
    assert "no-store" not in static.headers.get("cache-control", "")  # files stay cacheable


def test_a_replica_secures_predictions_errors_and_its_other_routes(
    installation: Installation, deployed: Platform
) -> None:
    _, secret = installation.keys.create(deployed.project, Role.READER, name="reader")
    headers = {"authorization": f"Bearer {secret}"}
    replica = open_replica(installation.settings, deployed.project, "small")
    app = create_serving_app(
        replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
    )
    try:
        with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
            body = {"model_id": "small", "features": ROW}
            answers = [
                http.post("/v1/predictions", json=body, headers=headers),  # the fast path
                http.post("/v1/predictions", json=body),  # its 401
                http.post("/v1/predictions", content=b"{", headers=headers),  # its 400
                http.get("/metrics", headers=headers),
                http.get("/v2", headers=headers),
                http.get("/v2/models/nope", headers=headers),
                http.get("/healthz"),
            ]
    finally:
        replica.close()
    assert [answer.status_code for answer in answers] == [200, 401, 400, 200, 200, 404, 200]
    for answer in answers:
        assert_secured(answer)
        assert answer.headers["cache-control"] == "no-store"
    assert answers[0].json()["model_version"] == "1"


@pytest.fixture
def guarded(tmp_path: Path, database_url: str) -> Iterator[httpx.Client]:
    """A server answering only ``api.example.com`` and names under ``.corp.example``."""
    settings = Settings(
        home=tmp_path / "guarded",
        database_url=database_url,
        allowed_hosts="api.example.com, .corp.example",
    )
    installation = Installation(settings)
    try:
        with (
            loopback_server(create_app(installation)) as url,
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            yield http
    finally:
        installation.close()


def test_a_host_not_allowed_is_a_400_problem(guarded: httpx.Client) -> None:
    refused = guarded.get("/healthz", headers={"host": "evil.example:8000"})
    assert_problem(refused, 400)
    assert refused.json()["field"] == "Host"
    assert "PODIUM_ALLOWED_HOSTS" in refused.json()["remedy"]
    assert_secured(refused)
    for host in ("api.example.com", "API.example.com:8000", "corp.example", "a.b.corp.example"):
        assert guarded.get("/healthz", headers={"host": host}).status_code == 200, host
    for host in ("example.com", "evilcorp.example", "api.example.com.evil.test"):
        assert guarded.get("/healthz", headers={"host": host}).status_code == 400, host


def test_the_default_hosts_follow_the_bind_address() -> None:
    assert default_allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "::1")
    assert default_allowed_hosts("localhost") == ("127.0.0.1", "localhost", "::1")
    assert default_allowed_hosts("0.0.0.0") == ("*",)
    assert default_allowed_hosts("10.1.2.3") == ("10.1.2.3", "127.0.0.1", "localhost", "::1")


def test_a_bad_allowed_hosts_setting_is_a_clear_error(tmp_path: Path) -> None:
    installation = Installation(Settings(home=tmp_path / "bad", allowed_hosts="https://x.io/"))
    try:
        with pytest.raises(InvalidInputError, match="not a host name") as caught:
            create_app(installation)
        assert caught.value.remedy
    finally:
        installation.close()


@pytest.mark.anyio
async def test_cors_is_off_by_default(client: httpx.AsyncClient, keys: Keys) -> None:
    origin = {"origin": "https://evil.example"}
    preflight = await client.options(
        "/v1/whoami",
        headers={
            **origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-headers" not in preflight.headers
    answer = await client.get("/v1/whoami", headers={**origin, **keys.headers("p-cors")})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def _podium_up(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_HOME"] = str(home)
    command = [sys.executable, "-m", "podium.cli.app", "up", *args]
    return subprocess.Popen(
        command, env=env, cwd=home.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_podium_up_answers_only_loopback_names_by_default(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = _podium_up(tmp_path / "home", "--port", str(port))
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "podium up did not answer /healthz"
            time.sleep(0.1)
        assert httpx.get(url, headers={"host": f"localhost:{port}"}).status_code == 200
        rebound = httpx.get(url, headers={"host": f"attacker.example:{port}"})
        assert_problem(rebound, 400)
        assert_secured(rebound)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)


def test_podium_up_refuses_a_bad_allowed_hosts_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from podium.cli.app import app

    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["up", "--allowed-hosts", "https://podium.example/"])
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "not a host name" in result.output
    assert "Traceback" not in result.output
