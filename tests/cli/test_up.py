"""``podium up`` (and ``quickstart`` serving) as real processes on a real socket.

The socket is the point here: the first-start key, the credentials file and its mode,
and a clean stop on Ctrl-C (SIGINT) are what a user meets.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

STARTUP_SECONDS = 60


@contextmanager
def _podium(home: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``podium ARGS`` with PODIUM_HOME=home; stop it with SIGINT afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_HOME"] = str(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "podium.cli.app", *args, "--port", str(port)],
        env=env,
        cwd=home.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail(f"podium exited early ({process.returncode}):\n{out}\n{err}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("podium did not answer /healthz in time")
            time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _stopped_cleanly(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert out.rstrip().endswith("stopped")
    return out


def test_up_bootstraps_a_key_and_requires_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _podium(home, "up") as (process, url):
        credentials = home / "credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        key = _read_key(credentials)

        who = httpx.get(f"{url}/v1/whoami", headers={"authorization": f"Bearer {key}"})
        assert who.status_code == 200
        assert who.json()["role"] == "admin"

        anonymous = httpx.get(f"{url}/v1/whoami")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        assert anonymous.json()["code"] == "unauthenticated"

        out = _stopped_cleanly(process)
    assert key in out  # shown once, at first start


@pytest.mark.slow
def test_quickstart_serves_its_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _podium(home, "quickstart", "--rows", "300") as (process, url):
        key = _read_key(home / "credentials")
        found = httpx.post(
            f"{url}/v1/runs/search",
            headers={"authorization": f"Bearer {key}"},
            json={"experiments": ["churn"], "order_by": ["metrics.auc DESC"]},
        )
        assert found.status_code == 200, found.text
        runs = found.json()["runs"]
        assert len(runs) == 6
        assert all(run["status"] == "FINISHED" for run in runs)
        out = _stopped_cleanly(process)
    assert "/v1/runs/search" in out and "credentials" in out


def _read_key(path: Path) -> str:
    return str(json.loads(path.read_text())["api_key"])


def test_up_after_keys_create_says_how_to_get_an_admin_key(tmp_path: Path) -> None:
    """Keys exist (from `keys create`), so `up` creates none: it says why and what to do."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    for args in (
        ("projects", "create", "default"),
        ("keys", "create", "-p", "default", "-r", "reader"),
    ):
        subprocess.run(
            [sys.executable, "-m", "podium.cli.app", *args],
            env={**env, "PODIUM_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    with _podium(home, "up") as (process, _):
        out = _stopped_cleanly(process)
    said = " ".join(out.split())
    assert "No admin key was created: this installation has keys already" in said
    assert "`podium keys create --project default --role admin`" in said
    assert "PODIUM_API_KEY" in said and str(home / "credentials") in said


def test_up_again_says_where_the_key_is(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _podium(home, "up") as (process, _):
        _stopped_cleanly(process)
    with _podium(home, "up") as (process, _):
        out = _stopped_cleanly(process)
    said = " ".join(out.split())
    assert f"Clients use the key saved in {home / 'credentials'}" in said
    assert "create another with `podium keys create --project default --role admin`" in said
