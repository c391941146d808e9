"""TLS options of the backends' URLs reach their clients: ``rediss://`` with its CA (a
real Redis listening with TLS only) and PostgreSQL's ``sslmode``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy.exc import OperationalError

from podium.access.tls import ServerTls, auto_certificate
from podium.errors import BackendUnavailableError
from podium.features.online.factory import open_online_store
from podium.store.database import Database
from tests.conftest import POSTGRES_ENV, free_port


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, ServerTls]]:
    """A Redis on loopback that speaks TLS only, with a certificate of a local CA."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("redis-server must be on PATH in CI for the rediss:// test")
        pytest.skip("redis-server is not installed")
    tls = auto_certificate(tmp_path / "home", "127.0.0.1")
    assert tls.ca is not None
    port = free_port()
    # fmt: off
    command = [
        binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(tls.cert), "--tls-key-file", str(tls.key),
        "--tls-ca-cert-file", str(tls.ca), "--tls-auth-clients", "no",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
    ]
    # fmt: on
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the TLS Redis did not start") from None
                time.sleep(0.05)
        yield port, tls
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_rediss_url_with_its_ca_reaches_a_tls_redis(tls_redis: tuple[int, ServerTls]) -> None:
    port, tls = tls_redis
    ca = quote(str(tls.ca), safe="")
    store = open_online_store(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}&key_prefix=t:")
    try:
        assert store.write("t", ["k"], [1], ['{"x": 1}']) == 1
        assert store.read("t", ["k"]) == [(1, '{"x": 1}')]
    finally:
        store.close()


def test_rediss_without_the_ca_is_refused_and_plain_gets_nothing(
    tls_redis: tuple[int, ServerTls],
) -> None:
    port, _ = tls_redis
    with pytest.raises(BackendUnavailableError):  # the usual roots do not know the local CA
        open_online_store(f"rediss://127.0.0.1:{port}/0")
    with pytest.raises(BackendUnavailableError):  # plain RESP to a TLS port
        open_online_store(f"redis://127.0.0.1:{port}/0")


def test_postgres_sslmode_reaches_libpq() -> None:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{POSTGRES_ENV} must be set in CI")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    joiner = "&" if "?" in base else "?"
    required = Database(f"{base}{joiner}sslmode=require")
    try:
        assert required.engine.url.query["sslmode"] == "require"
        # The test server has no TLS: libpq refusing proves it was asked for TLS.
        with pytest.raises(OperationalError, match="SSL"), required.engine.connect():
            pass
    finally:
        required.engine.dispose()
    disabled = Database(f"{base}{joiner}sslmode=disable")
    try:
        with disabled.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        disabled.engine.dispose()
