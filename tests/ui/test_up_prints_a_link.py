"""`podium up` prints a one-time link that logs a browser into the web UI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.conftest import free_port


def test_the_printed_link_logs_in_once(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "podium.cli.app", "up", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        found = re.search(r"Web UI: (http://127\.0\.0\.1:\d+/ui/login\?token=\S+)", first)
        assert found, first
        link = found.group(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "podium up did not start"
            time.sleep(0.2)
        with httpx.Client() as browser:
            used = browser.get(link)
            assert used.status_code == 303 and used.headers["location"] == "/ui/"
            home = browser.get(f"http://127.0.0.1:{port}/ui/")
            assert home.status_code == 200 and "admin" in home.text
        assert httpx.get(link).status_code == 401  # once only
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
