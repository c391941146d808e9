"""A real server with ``--tls auto``'s certificate: its home's SDK and CLI trust it, plain
HTTP to it gets nothing, a client of another CA is refused, HSTS on every answer."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from typer.testing import CliRunner

import podium
from podium.access.roles import Role
from podium.access.tls import ServerTls, auto_certificate, client_verify
from podium.api.app import create_app
from podium.api.stopping import GRACEFUL_SHUTDOWN_SECONDS
from podium.cli.app import app as cli
from podium.config import Settings
from podium.errors import BackendUnavailableError
from podium.platform import Installation
from podium.serving.grpc import with_grpc
from podium.serving.grpc.server import SERVICE
from tests.conftest import free_port, loopback_server

HSTS = "strict-transport-security"


@dataclass
class TlsServer:
    url: str
    home: Path
    tls: ServerTls
    admin_key: str


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    """On SQLite only: TLS is the same whatever the metadata database."""
    opened = Installation(Settings(home=tmp_path / "home"))
    yield opened
    opened.close()


@pytest.fixture
def tls_server(installation: Installation, project_name: str) -> Iterator[TlsServer]:
    home = installation.settings.home
    tls = auto_certificate(home, "127.0.0.1")  # what `podium up --tls auto` makes
    installation.projects.ensure(project_name)
    _, key = installation.keys.create(project_name, Role.ADMIN, name="tls")
    with loopback_server(create_app(installation), tls=tls) as url:
        assert url.startswith("https://")
        yield TlsServer(url, home, tls, key)


def test_the_sdk_of_the_home_trusts_its_ca(tls_server: TlsServer, project_name: str) -> None:
    with podium.connect(tls_server.url, api_key=tls_server.admin_key, home=tls_server.home) as p:
        assert p.project == project_name
        assert p.webhooks.list() == []


def test_every_answer_carries_hsts(tls_server: TlsServer) -> None:
    with httpx.Client(base_url=tls_server.url, verify=client_verify(tls_server.home)) as http:
        for answer in (http.get("/healthz"), http.get("/v1/whoami"), http.get("/ui/login")):
            assert answer.headers[HSTS] == "max-age=31536000", answer.url
        assert http.get("/v1/whoami").status_code == 401  # an error answer has it too


def test_a_plain_server_sends_no_hsts(installation: Installation) -> None:
    with loopback_server(create_app(installation), tls=False) as url:
        assert url.startswith("http://")
        assert HSTS not in httpx.get(f"{url}/healthz").headers


def test_plain_http_to_the_tls_port_gets_no_http_answer(tls_server: TlsServer) -> None:
    port = int(tls_server.url.rsplit(":", 1)[1])
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            while chunk := raw.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"HTTP/" not in received and b"ok" not in received
    plain = tls_server.url.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/healthz", timeout=20)
    with pytest.raises(BackendUnavailableError) as refused:
        podium.connect(plain, api_key=tls_server.admin_key, home=tls_server.home)
    assert "https://" in str(refused.value.remedy)


def test_a_client_of_another_ca_is_refused(tls_server: TlsServer, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    auto_certificate(elsewhere, "127.0.0.1")  # another home, another CA
    with pytest.raises(BackendUnavailableError) as refused:
        podium.connect(tls_server.url, api_key=tls_server.admin_key, home=elsewhere)
    assert refused.value.code == "tls-untrusted"
    assert "PODIUM_CA_BUNDLE" in str(refused.value.remedy)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        other_ca = ssl.create_default_context(cafile=str(elsewhere / "tls" / "ca.pem"))
        httpx.get(f"{tls_server.url}/healthz", verify=other_ca)


def test_podium_ca_bundle_trusts_a_server_of_another_home(
    tls_server: TlsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_CA_BUNDLE", str(tls_server.tls.ca))
    with podium.connect(tls_server.url, api_key=tls_server.admin_key, home=tmp_path / "x") as p:
        assert p.webhooks.list() == []


def test_the_cli_of_the_home_trusts_it_and_another_says_why_not(
    tls_server: TlsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    remote = ["--url", tls_server.url, "--api-key", tls_server.admin_key]
    runner = CliRunner()
    monkeypatch.setenv("PODIUM_HOME", str(tls_server.home))
    listed = runner.invoke(cli, ["webhooks", "ls", "--json", *remote])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.strip() == "[]"
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "stranger"))
    refused = runner.invoke(cli, ["webhooks", "ls", *remote])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ") and "Traceback" not in refused.output
    assert "not trusted" in refused.stderr and "PODIUM_CA_BUNDLE" in refused.stderr


def test_the_grpc_port_uses_the_same_certificate(
    tls_server: TlsServer, installation: Installation
) -> None:
    port = free_port()
    served = with_grpc(
        create_app(installation),
        keys=installation.keys,
        runtime_for=lambda caller: installation.runtime(caller.project),
        host="127.0.0.1",
        port=port,
        max_message_bytes=1 << 20,
        tls=tls_server.tls.pem_pair(),
    )
    assert tls_server.tls.ca is not None
    trusted = grpc.ssl_channel_credentials(root_certificates=tls_server.tls.ca.read_bytes())
    with loopback_server(served, tls=tls_server.tls):
        with grpc.secure_channel(f"127.0.0.1:{port}", trusted) as channel:
            live = channel.unary_unary(f"/{SERVICE}/ServerLive")
            assert live(b"", timeout=20) == b"\x08\x01"  # ServerLiveResponse(live=True)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.RpcError) as plain:
                channel.unary_unary(f"/{SERVICE}/ServerLive")(b"", timeout=5)
            assert plain.value.code() == grpc.StatusCode.UNAVAILABLE


def _clean_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_HOME"] = str(home)
    return env


def test_podium_up_tls_auto_reuses_the_certificate_of_an_earlier_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    earlier = auto_certificate(home, "127.0.0.1")  # as an earlier `podium up --tls auto` did
    assert earlier.ca is not None
    files = {path: path.read_bytes() for path in (earlier.cert, earlier.key, earlier.ca)}
    port = free_port()
    log = tmp_path / "up.log"
    command = [sys.executable, "-m", "podium.cli.app", "up", "--port", str(port), "--tls", "auto"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=_clean_environment(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_ready(f"https://127.0.0.1:{port}", home, process, log)
        served = ssl.get_server_certificate(("127.0.0.1", port), ca_certs=str(earlier.ca))
        assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(
            files[earlier.cert].decode()
        )
        assert {path: path.read_bytes() for path in files} == files
        output = log.read_text()
        assert f"Web UI: https://127.0.0.1:{port}/ui/" in output
        assert f"podium API on https://127.0.0.1:{port}" in output

        # An idle keep-alive client never answers the TLS close: SIGTERM must not wait
        # for it longer than the graceful bound (it held the stop for 30 s).
        with httpx.Client(verify=client_verify(home)) as idle:
            assert idle.get(f"https://127.0.0.1:{port}/readyz").status_code == 200
            started = time.monotonic()
            process.terminate()
            process.wait(timeout=60)
            assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS + 8
        assert process.returncode == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _wait_ready(url: str, home: Path, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 60
    verify = client_verify(home)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"podium up exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", verify=verify, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"podium up did not get ready:\n{log.read_text()}")
