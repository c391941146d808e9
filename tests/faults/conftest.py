"""Fixtures for fault injection: backends of the test's own that it may stop and start
(never the machine's shared PostgreSQL and Redis), and a ``podium up`` subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port, loopback_tls

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def wait_for(check: object, seconds: float, what: str) -> float:
    """Poll ``check()`` until it is true; the seconds it took (fails after ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen in {seconds} s")


def listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on a port of its own."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN[-1] / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.root / "data"), "-l", str(self.root / "log"),
                  "-w", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        """Stop at once, as a crash would (no clean shutdown of the sessions)."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    if not PG_BIN:
        pytest.fail("PostgreSQL's server binaries are missing (/usr/lib/postgresql/*/bin)")
    # Not under pytest's temporary folder: the postgres user cannot enter root's.
    root = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    server = PrivatePostgres(root)
    try:
        server.init()
        server.start()
        yield server
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class PrivateRedis:
    """A redis-server on a port of its own that keeps nothing on disk."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: listens(self.port), 20, "redis-server listening")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@dataclass
class Server:
    """A ``podium up`` subprocess and the admin key it made."""

    process: subprocess.Popen[str]
    url: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def server_environment(home: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_HOME"] = str(home)
    env.update({f"PODIUM_{name.upper()}": value for name, value in settings.items()})
    return env


@contextlib.contextmanager
def podium_up(env: dict[str, str]) -> Iterator[Server]:
    """Start ``podium up`` with ``env`` on a free port (HTTPS, see :func:`loopback_tls`);
    stop it afterwards."""
    port = free_port()
    podium = str(Path(sys.executable).with_name("podium"))
    # Over TLS, with the test servers' certificate, which every client of this test
    # process trusts (unless PODIUM_TEST_TLS=0).
    tls = loopback_tls()
    secure = [] if tls is None else ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    process = subprocess.Popen(
        [podium, "up", "--port", str(port), *secure],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: listens(port) or process.poll() is not None, 90, "podium up")
        assert process.poll() is None, process.communicate()[0]
        credentials = json.loads((Path(env["PODIUM_HOME"]) / "credentials").read_text())
        scheme = "http" if tls is None else "https"
        yield Server(process, f"{scheme}://127.0.0.1:{port}", credentials["api_key"])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
