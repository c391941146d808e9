"""Shared fixtures: an installation on SQLite and on PostgreSQL, a project, a live server.

``PODIUM_TEST_POSTGRES_URL`` selects the PostgreSQL server; each pytest worker gets its
own database, and each test its own project in it (tenancy keeps tests apart). In CI
(``CI=true``) a missing URL is an error, so the PostgreSQL suite can never silently skip.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import certifi
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from podium.access.roles import Role
from podium.access.tls import ServerTls, auto_certificate
from podium.api.app import create_app
from podium.api.security_headers import StrictTransport
from podium.config import Settings
from podium.platform import Installation, Platform

POSTGRES_ENV = "PODIUM_TEST_POSTGRES_URL"
# Every loopback_server (live_server, ...) serves HTTPS (loopback_tls()), as the parity
# suite's servers do, unless PODIUM_TEST_TLS=0 asks for plain HTTP.
TLS_ENV = "PODIUM_TEST_TLS"

# Ray reads these when it is first imported, whichever test module imports it first: a
# local Ray then stays on 127.0.0.1 and reports nothing.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(autouse=True)
def _no_podium_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the user's podium settings (``PODIUM_HOME``, ``PODIUM_URL``, ...);
    only ``PODIUM_TEST_*``, which chooses the test servers, is kept."""
    for name in list(os.environ):
        if name.startswith("PODIUM_") and not name.startswith("PODIUM_TEST_"):
            monkeypatch.delenv(name)


def _postgres_base_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI") == "true":
        raise RuntimeError(f"{POSTGRES_ENV} must be set in CI so the PostgreSQL suite runs")
    return url


@contextlib.contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database named ``prefix_<random>``, dropped afterwards.

    Skips when ``PODIUM_TEST_POSTGRES_URL`` is unset (an error in CI). A database of its
    own keeps a long-lived server's background work (its event dispatcher, scheduler and
    leases) away from other tests' rows.
    """
    base = _postgres_base_url()
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_url(base).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test worker, dropped at the end."""
    with postgres_database(f"podium_t_{worker_id}") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata DB URL: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'podium.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, metric_flush_interval=0.05)


@pytest.fixture
def installation(settings: Settings) -> Iterator[Installation]:
    inst = Installation(settings)
    yield inst
    inst.close()


@pytest.fixture
def project_name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def platform(installation: Installation, project_name: str) -> Platform:
    """An embedded platform for a project of its own."""
    return installation.platform(project_name, user="local:test")


@dataclass
class LiveServer:
    """A real uvicorn server on a loopback port, serving ``installation``."""

    url: str
    installation: Installation

    def key(self, project: str, role: Role | str = Role.WRITER) -> str:
        """A new API key for ``project`` (created if needed) with ``role``."""
        self.installation.projects.ensure(project)
        _, secret = self.installation.keys.create(project, Role(role), name="test")
        return secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def loopback_tls() -> ServerTls | None:
    """Unless ``PODIUM_TEST_TLS=0``, the TLS of every :func:`loopback_server`: a local CA
    and server certificate made once per test process (``--tls auto``'s), trusted by every
    client of the process (``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE`` name certifi's
    roots plus that CA, ``NODE_EXTRA_CA_CERTS`` that CA; Chromium trusts the server's key
    by :func:`loopback_spki`). ``None`` otherwise: plain HTTP."""
    if os.environ.get(TLS_ENV) == "0":
        return None
    folder = Path(tempfile.mkdtemp(prefix="podium-test-tls-"))
    tls = auto_certificate(folder, "127.0.0.1")
    assert tls.ca is not None
    bundle = folder / "trusted.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + tls.ca.read_bytes())
    os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    os.environ["NODE_EXTRA_CA_CERTS"] = str(tls.ca)  # Playwright's driver (page.request)
    return tls


def loopback_spki() -> str | None:
    """The base64 SHA-256 of :func:`loopback_tls`'s server public key, for Chromium's
    ``--ignore-certificate-errors-spki-list`` (which trusts that one key, nothing else);
    ``None`` under plain HTTP."""
    tls = loopback_tls()
    if tls is None:
        return None
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public = x509.load_pem_x509_certificate(tls.cert.read_bytes()).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextlib.contextmanager
def loopback_server(app: Any, *, tls: ServerTls | Literal[False] | None = None) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn on a free loopback port; yields its base URL.

    ``tls`` is the certificate to serve HTTPS with (and ``Strict-Transport-Security``):
    ``None`` means :func:`loopback_tls` (HTTPS unless ``PODIUM_TEST_TLS=0``), ``False`` plain.
    """
    chosen = loopback_tls() if tls is None else tls
    port = free_port()
    ssl_files: dict[str, Any] = {}
    if isinstance(chosen, ServerTls):
        app = StrictTransport(app)
        ssl_files = {"ssl_certfile": str(chosen.cert), "ssl_keyfile": str(chosen.key)}
    # An idle keep-alive TLS connection whose client never reads again would hold the
    # shutdown until its close_notify times out (30 s): a test's requests are answered
    # by the time it stops the server, so wait for connections a quarter of a second.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=0.25,
        **ssl_files,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if ssl_files else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(installation: Installation) -> Iterator[LiveServer]:
    with loopback_server(create_app(installation)) as url:
        yield LiveServer(url=url, installation=installation)
