"""``podium stream`` as a process: killed with SIGKILL mid-way and restarted, every event id
has exactly one output; ``/metrics`` shows lag and throughput; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from podium.platform import Installation
from tests.conftest import free_port
from tests.streaming.conftest import add_events, good_events, read_documents

PODIUM = Path(sys.executable).parent / "podium"


def _env(home: Installation) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return env | {"PODIUM_HOME": str(home.settings.home), "PODIUM_PROJECT": "shop"}


def _start(home: Installation, server: str, name: str, *extra: str) -> subprocess.Popen[str]:
    key = "stream" if server.startswith("redis") else "subject"
    joint = "&" if "?" in server else "?"
    return subprocess.Popen(
        [
            str(PODIUM), "stream", "churn",
            "--from", f"{server}{joint}{key}={name}",
            "--to", f"{server}{joint}{key}={name}.out",
            "--claim-idle-ms", "500",
            *extra,
        ],
        env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait(until: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while not until():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _count(server: str, name: str) -> int:
    if server.startswith("redis"):
        import redis

        client = redis.Redis.from_url(server)
        try:
            return int(client.xlen(name)) if client.exists(name) else 0
        finally:
            client.close()
    return _nats_count(server, name)


def _nats_count(server: str, name: str) -> int:
    import asyncio

    import nats

    from podium.streaming.nats_streams import ensure_stream

    async def count() -> int:
        nc = await nats.connect(server)
        try:
            js = nc.jetstream()
            info = await js.stream_info(await ensure_stream(js, name))
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


@pytest.mark.parametrize("n", [5_000])
def test_a_consumer_killed_mid_way_and_restarted_leaves_one_output_per_event(
    home: Installation, backend: str, stream_name: str, n: int
) -> None:
    add_events(backend, stream_name, good_events(backend, n))
    out = f"{stream_name}.out"
    first = _start(home, backend, stream_name, "--batch-size", "10")
    try:
        _wait(lambda: _count(backend, out) >= 200, first, "the first outputs")
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    written = _count(backend, out)
    assert written < n, "the consumer finished before it could be killed; use more events"
    port = free_port()
    second = _start(home, backend, stream_name, "--metrics-port", str(port))
    try:
        _wait(lambda: _count(backend, out) >= n, second, "every output")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        second.send_signal(signal.SIGTERM)
        stdout, stderr = second.communicate(timeout=60)
    assert second.returncode == 0, stderr
    assert "stopped:" in stdout and "Traceback" not in stderr
    outputs = read_documents(backend, out)
    assert Counter(o["id"] for o in outputs) == Counter(f"e{i}" for i in range(n))
    assert f'podium_stream_lag{{group="podium-churn",stream="{stream_name}"}}' in metrics
    assert "podium_stream_throughput{" in metrics
    assert "podium_stream_events_total{" in metrics and "podium_predictions_total{" in metrics


def test_a_bad_stream_url_is_one_line(home: Installation) -> None:
    done = subprocess.run(
        [str(PODIUM), "stream", "churn", "--from", "kafka://x", "--to", "redis://h/0?stream=o"],
        env=_env(home), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: the --from must be a redis:// or nats:// stream URL")
    assert "hint:" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_deployment_is_one_line(home: Installation) -> None:
    done = subprocess.run(
        [str(PODIUM), "stream", "nope", "--from", "redis://127.0.0.1:1/0?stream=i",
         "--to", "redis://127.0.0.1:1/0?stream=o"],
        env=_env(home), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: deployment 'nope' does not exist")
