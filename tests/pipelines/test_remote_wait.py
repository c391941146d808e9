"""Remote runs do not block on one HTTP request: the server answers 202 with the running
run and the client polls it, so a step longer than the client's timeout still ends in
the same result as embedded (status, steps, output); ``wait=False`` returns at once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import podium
from podium.client.http import ApiClient
from podium.client.pipelines import HttpPipelines
from podium.pipelines.types import PipelineRun
from podium.platform import Platform
from tests.cli.assertions import Invoke, assert_one_error
from tests.cli.conftest import home, invoke  # noqa: F401 - fixtures shared with tests/cli
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
NAP = 1.0
TIMEOUT = 0.5  # the client's HTTP timeout: half the step's nap
SLOW = "tests.pipelines.test_remote_wait:slow"
HELD = "tests.pipelines.test_remote_wait:held"
RELEASE: dict[str, threading.Event] = {}


@pytest.fixture(autouse=True)
def _release() -> Iterator[None]:
    """A fresh latch for ``held`` runs; released at the end so no run is left waiting."""
    RELEASE["held"] = threading.Event()
    yield
    RELEASE["held"].set()


@podium.step(cache=False)
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@podium.step(cache=False)
def double(value: float) -> dict[str, float]:
    return {"slept": value, "doubled": value * 2}


@podium.pipeline("slow")
def slow(seconds: float = NAP) -> Any:
    return double(nap(seconds))


@podium.step(cache=False)
def wait_for_release(value: int) -> int:
    assert RELEASE["held"].wait(timeout=20), "the test never released the step"
    return value


@podium.pipeline("held")
def held(value: int = 7) -> Any:
    return wait_for_release(value)


def _client(live_server: LiveServer, project: str) -> HttpPipelines:
    """A client with a short timeout, on a server warmed up by a first run (the server
    builds the project's services on its first request, which may take longer)."""
    key = live_server.key(project)
    warm = HttpPipelines(ApiClient(live_server.url, api_key=key, timeout=30))
    assert warm.run(SLOW, params={"seconds": 0}).status == "succeeded"
    return HttpPipelines(ApiClient(live_server.url, api_key=key, timeout=TIMEOUT))


def _ended(get: Any, run_id: str) -> PipelineRun:
    deadline = time.monotonic() + 30
    while (found := get(run_id)).status == "running":
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.05)
    assert isinstance(found, PipelineRun)
    return found


def test_a_step_longer_than_the_client_timeout_ends_like_an_embedded_run(
    live_server: LiveServer,
) -> None:
    pipelines = _client(live_server, "slow-remote")
    seen: list[tuple[str, str]] = []
    began = time.monotonic()
    run = pipelines.run(slow, on_step=lambda *step: seen.append(step))
    assert time.monotonic() - began >= NAP
    assert run.status == "succeeded" and run.target == SLOW
    assert [(s.name, s.status) for s in run.steps] == [
        ("nap", "succeeded"),
        ("double", "succeeded"),
    ]
    assert seen == [("nap", "succeeded"), ("double", "succeeded")]
    assert run.output == {"slept": NAP, "doubled": 2 * NAP}


def test_wait_false_returns_the_running_run_at_once(
    live_server: LiveServer, platform: Platform
) -> None:
    pipelines = _client(live_server, "held-remote")
    started = pipelines.run(held, params={"value": 3}, wait=False)
    assert started.status == "running" and started.output is None
    now = pipelines.get(started.id)  # held: it cannot have ended
    assert now.status == "running" and now.output is None
    assert now.step("wait_for_release").status in ("pending", "running")
    RELEASE["held"].set()
    done = _ended(pipelines.get, started.id)
    assert done.status == "succeeded" and done.output == 3

    # Embedded, the same switch does the same.
    RELEASE["held"] = threading.Event()
    local = platform.pipelines.run(held, params={"value": 4}, wait=False)
    assert local.status == "running"
    RELEASE["held"].set()
    finished = _ended(platform.pipelines.get, local.id)
    assert finished.status == "succeeded" and finished.output == 4


def test_rest_answers_202_with_the_running_run_and_its_location(live_server: LiveServer) -> None:
    client = _client(live_server, "held-rest")
    headers = {"authorization": f"Bearer {live_server.key('held-rest')}"}
    answer = httpx.post(
        f"{live_server.url}/v1/pipelines/runs",
        json={"target": HELD, "params": {"value": 5}},
        headers=headers,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "running"
    assert answer.headers["location"] == f"/v1/pipelines/runs/{body['id']}"
    early = httpx.get(f"{live_server.url}/v1/pipelines/runs/{body['id']}/output", headers=headers)
    assert early.status_code == 404
    assert early.headers["content-type"].startswith("application/problem+json")
    RELEASE["held"].set()
    assert _ended(client.get, body["id"]).output == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a CLI process: once
def test_the_cli_starts_a_run_on_a_server_without_waiting(
    live_server: LiveServer,
    invoke: Invoke,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    client = _client(live_server, "held-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_HOME=str(tmp_path / "cli-home"), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "podium.cli.app", "--url", live_server.url]
    command += ["--api-key", live_server.key("held-cli"), "pipelines", "run", HELD, "--no-wait"]
    started = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started pipeline run ")
    run_id = started.stdout.split()[3]
    assert started.stdout.strip() == f"started pipeline run {run_id} (running)"
    assert client.get(run_id).status == "running"  # held: it cannot have ended
    RELEASE["held"].set()
    assert _ended(client.get, run_id).output == 7

    refused = invoke("pipelines", "run", HELD, "--no-wait")  # embedded: nothing to leave it to
    assert_one_error(
        refused, "--no-wait needs a server: embedded, the run would stop when this command ends"
    )
