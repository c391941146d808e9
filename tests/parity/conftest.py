"""The parity fixtures: one ``platform``, embedded or remote, on SQLite or PostgreSQL.

Remote is a real ``podium up`` process on loopback, started once per test session (per
pytest worker) and per database, with a home and database of its own and a clean
environment. Embedded is an :class:`Installation` on the same home and database, in the
test process. The servers run with ``--tls auto`` (HTTPS only; the SDK trusts the CA of
their home), unless ``PODIUM_TEST_TLS=0`` asks for plain HTTP. Each test gets a project
of its own (tenancy keeps tests apart): remote through a key for that project, embedded
through the installation. A test that runs both ways runs the same body, so the same
assertions hold on both sides.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.access.roles import Role
from podium.access.tls import client_verify
from podium.config import Settings
from podium.platform import Installation, Platform
from tests.conftest import POSTGRES_ENV, free_port, postgres_database

_START_SECONDS = 60.0
_FLUSH_SECONDS = 0.05
# The remote side runs over TLS (`podium up --tls auto`) unless PODIUM_TEST_TLS=0.
_TLS = os.environ.get("PODIUM_TEST_TLS", "1") != "0"


@dataclass
class Launch:
    """A ``podium up`` process on its own home and database, maybe not ready yet."""

    url: str
    home: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server (SIGTERM stops it gracefully), then kill it if it hangs."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


@dataclass
class Server:
    """A ready ``podium up`` and an installation on the same home and database."""

    launch: Launch
    installation: Installation
    admin_key: str

    @property
    def url(self) -> str:
        return self.launch.url

    @property
    def home(self) -> Path:
        return self.launch.home

    def key(self, project: str, role: Role, *, name: str) -> str:
        """A new API key of ``project`` (created if needed) with ``role``."""
        self.installation.projects.ensure(project)
        _, secret = self.installation.keys.create(project, role, name=name)
        return secret


@dataclass
class Side:
    """One way of reaching the platform: ``embedded`` or ``remote``, over one database."""

    mode: str
    database: str
    server: Server
    _opened: list[Platform] = field(default_factory=list)

    @property
    def remote(self) -> bool:
        return self.mode == "remote"

    def connect(self, project: str, *, user: str = "parity", role: Role = Role.ADMIN) -> Platform:
        """``project``'s platform for the identity ``user`` with ``role``."""
        if self.remote:
            key = self.server.key(project, role, name=user)
            opened = podium.connect(self.server.url, api_key=key, home=self.server.home)
            self._opened.append(opened)
            return opened
        return self.server.installation.platform(project, user=f"local:{user}", role=role)

    def close(self) -> None:
        for opened in self._opened:
            opened.close()


def _clean_environment(home: Path, database_url: str) -> dict[str, str]:
    """The server's environment: this one without any PODIUM_* setting, plus its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(
        PODIUM_HOME=str(home),
        PODIUM_DATABASE_URL=database_url,
        PODIUM_METRIC_FLUSH_INTERVAL=str(_FLUSH_SECONDS),
    )
    return env


def _launch(home: Path, database_url: str) -> Launch:
    home.mkdir(parents=True)
    port = free_port()
    log = home.parent / f"{home.name}.log"
    command = [sys.executable, "-m", "podium.cli.app", "up", "--host", "127.0.0.1"]
    if _TLS:
        command += ["--tls", "auto"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=_clean_environment(home, database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    scheme = "https" if _TLS else "http"
    return Launch(f"{scheme}://127.0.0.1:{port}", home, database_url, process, log)


def _wait_ready(launch: Launch) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if launch.process.poll() is not None:
            raise RuntimeError(
                f"podium up exited with {launch.process.returncode}:\n{launch.log.read_text()}"
            )
        try:
            ready = httpx.get(f"{launch.url}/readyz", timeout=2, verify=_trust(launch.home))
            if ready.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"podium up did not get ready in {_START_SECONDS:.0f} s:\n{launch.log.read_text()}"
    )


def _trust(home: Path) -> ssl.SSLContext:
    """What a client of ``home`` trusts: the usual roots and the CA of ``--tls auto``."""
    return client_verify(home)


def _server(launch: Launch) -> Server:
    _wait_ready(launch)
    # Every other setting explicitly at its default: the user's PODIUM_* never leak in.
    settings = Settings(
        home=launch.home,
        database_url=launch.database_url,
        storage_url=None,
        online_store_url=None,
        url=None,
        metric_flush_interval=_FLUSH_SECONDS,
    )
    installation = Installation(settings)
    credentials = launch.home / "credentials"
    if credentials.exists():
        admin_key = str(json.loads(credentials.read_text())["api_key"])
    else:
        # The worker's PostgreSQL database is shared with other tests, which made keys
        # before this server started, so it made no first admin key: make one here.
        installation.projects.ensure(settings.project)
        _, admin_key = installation.keys.create(settings.project, Role.ADMIN, name="parity")
    who = httpx.get(
        f"{launch.url}/v1/whoami",
        headers={"authorization": f"Bearer {admin_key}"},
        verify=_trust(launch.home),
    )
    assert who.status_code == 200, who.text  # the admin key opens the real server
    return Server(launch, installation, admin_key)


@pytest.fixture(scope="session")
def launches(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[dict[str, Launch]]:
    """Both servers started at once (each takes seconds to come up), stopped at the end."""
    started: dict[str, Launch] = {}
    with contextlib.ExitStack() as stack:
        # A database of its own: the server's event dispatcher would otherwise claim the
        # events of every other test on this worker's shared database. Entered first, so
        # it is dropped last, after the servers stopped.
        postgres = None
        if os.environ.get(POSTGRES_ENV):
            postgres = stack.enter_context(postgres_database(f"podium_parity_{worker_id}"))
        stack.callback(lambda: [launch.stop() for launch in started.values()])
        home = tmp_path_factory.mktemp("parity-sqlite") / "home"
        started["sqlite"] = _launch(home, f"sqlite:///{home / 'podium.db'}")
        if postgres is not None:
            home = tmp_path_factory.mktemp("parity-postgres") / "home"
            started["postgres"] = _launch(home, postgres)
        yield started


@pytest.fixture(scope="session")
def sqlite_server(launches: dict[str, Launch]) -> Iterator[Server]:
    server = _server(launches["sqlite"])
    yield server
    server.installation.close()


@pytest.fixture(scope="session")
def postgres_server(launches: dict[str, Launch]) -> Iterator[Server]:
    server = _server(launches["postgres"])
    yield server
    server.installation.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "remote_gap(reason): a known gap of the HTTP side; remote runs are strict xfails",
    )


@pytest.fixture(
    params=[
        ("embedded", "sqlite"),
        ("remote", "sqlite"),
        ("embedded", "postgres"),
        ("remote", "postgres"),
    ],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    """Embedded or remote, on SQLite or PostgreSQL: every parity test runs all four."""
    mode, database = request.param
    gap = request.node.get_closest_marker("remote_gap")
    if gap is not None and mode == "remote":
        # Strict: once the gap is closed the test passes, fails as XPASS, and the mark goes.
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"gap: {gap.args[0]}"))
    server: Server = request.getfixturevalue(f"{database}_server")
    chosen = Side(mode, database, server)
    yield chosen
    chosen.close()


@pytest.fixture
def platform(side: Side, project_name: str) -> Platform:
    """The platform of a project of this test's own, reached the ``side``'s way."""
    return side.connect(project_name)


@dataclass(frozen=True)
class Trained:
    """A tiny fitted classifier and the frame it was fitted on."""

    model: Any
    frame: pd.DataFrame
    labels: np.ndarray


@pytest.fixture(scope="session")
def trained() -> Trained:
    """A LogisticRegression on 40 rows: registry, deployments and monitoring use it."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {"tenure": rng.integers(0, 60, 40).astype("int64"), "spend": rng.normal(50, 10, 40)}
    )
    labels = (frame["tenure"] < 20).astype(int).to_numpy()
    return Trained(LogisticRegression().fit(frame, labels), frame, labels)
