"""``podium serve`` as a user runs it: a real process, lean, whose log reaches the lake."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from podium.access.roles import Role
from podium.monitoring.inference import InferenceLogReader
from podium.platform import Installation, Platform
from podium.replica import open_replica
from podium.serving.log.spool import parked_projects
from podium.serving.log.writer import INFERENCE_LOG_TABLE
from tests.conftest import free_port
from tests.serving.conftest import FEATURES, wait_for_port

PODIUM = Path(sys.executable).parent / "podium"


def _start(command: str, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """``podium serve churn`` or ``podium up`` on ``port``, its output captured."""
    args = ["serve", "churn"] if command == "serve" else ["up"]
    return subprocess.Popen(
        [str(PODIUM), *args, "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_replica_serves_without_the_data_layer_and_its_log_reaches_the_lake(
    home: tuple[Installation, dict[str, str]],
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="replica")
    port = free_port()
    proc = _start("serve", port, env)
    try:
        wait_for_port(port, proc)
        ids = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(3):
                answer = http.post(
                    "/v1/predictions",
                    json={"model_id": "churn", "features": FEATURES},
                    headers={"authorization": f"Bearer {secret}"},
                )
                assert answer.status_code == 200, answer.text
                ids.append(answer.json()["request_id"])
        # The command replaced itself with the lean replica (same process id), which
        # never maps the lake's or the warehouse's native libraries.
        assert "podium.api.replica_server" in Path(f"/proc/{proc.pid}/cmdline").read_text()
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "deltalake" not in maps and "duckdb" not in maps
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "serving deployment 'churn' of project 'shop'" in out and "stopped" in out
    # What the replica parked on its way out, the platform commits to the lake.
    project = installation.projects.get("shop")
    assert installation.commit_spool(project) == 3
    platform = installation.platform("shop", user="local:test")
    logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)
    assert installation.commit_spool(project) == 0


def test_a_missing_deployment_is_one_line_before_anything_starts(
    home: tuple[Installation, dict[str, str]],
) -> None:
    _, env = home
    done = subprocess.run(
        [str(PODIUM), "serve", "nope", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: deployment 'nope' does not exist")
    assert "Traceback" not in done.stderr


def test_reading_the_log_commits_what_replicas_parked(
    churn_models: Platform, installation: Installation
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    replica = open_replica(installation.settings, churn_models.project, "churn")
    try:
        for months in range(1, 5):
            replica.runtime.predict_sync("churn", features={**FEATURES, "tenure_months": months})
    finally:
        replica.close()  # parks what it still holds
    assert INFERENCE_LOG_TABLE not in churn_models.data.tables()  # parked, not in the lake
    assert churn_models.project in parked_projects(installation.db)  # the database may be shared
    # Monitoring brings parked batches in before it reads: no wait for the server's loop.
    overall = churn_models.monitoring.performance("churn").overall
    assert overall is not None and overall.requests == 4
    assert churn_models.project not in parked_projects(installation.db)
    assert installation.commit_spool(installation.projects.get(churn_models.project)) == 0


def test_the_platform_server_commits_what_replicas_parked(
    home: tuple[Installation, dict[str, str]],
) -> None:
    installation, env = home
    replica = open_replica(installation.settings, "shop", "churn")
    try:
        answer = replica.runtime.predict_sync("churn", features=FEATURES)
    finally:
        replica.close()  # parks the record
    platform = installation.platform("shop", user="local:test")
    assert INFERENCE_LOG_TABLE not in platform.data.tables()
    port = free_port()
    server = _start("up", port, env)
    try:
        wait_for_port(port, server)
        deadline = time.monotonic() + 30  # the server commits every 5 seconds
        while INFERENCE_LOG_TABLE not in platform.data.tables():
            assert time.monotonic() < deadline, "the server did not commit the spool"
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert [row["request_id"] for row in logged] == [answer["request_id"]]


def test_a_failing_commit_of_parked_batches_does_not_break_reads(
    churn_models: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise OSError("lake unavailable")

    log = InferenceLogReader(churn_models.data, refresh=broken)
    assert log.exists() is False  # read on, without the parked batches
    assert log.exists() is False  # and the next second's read retries, not this one
    assert calls == [1]
    assert "committing parked inference batches failed" in caplog.text


def _predict_over_http(port: int, secret: str, n: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for months in range(n):
            answer = http.post(
                "/v1/predictions",
                json={"model_id": "churn", "features": {**FEATURES, "tenure_months": months}},
                headers={"authorization": f"Bearer {secret}"},
            )
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["request_id"])
    return ids


def test_a_replica_stopped_by_sigterm_parks_its_last_records(
    home: tuple[Installation, dict[str, str]],
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="replica")
    port = free_port()
    proc = _start("serve", port, env)
    try:
        wait_for_port(port, proc)
        ids = _predict_over_http(port, secret, 7)
    finally:
        proc.send_signal(signal.SIGTERM)  # right after answering: all 7 still buffered
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out
    assert installation.commit_spool(installation.projects.get("shop")) == 7
    platform = installation.platform("shop", user="local:test")
    logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)


def test_a_replica_killed_outright_loses_no_answer_and_the_next_one_parks_them(
    home: tuple[Installation, dict[str, str]],
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="replica")
    ids: list[str] = []
    for count in (5, 2):  # the first replica is killed; the second parks its journal
        port = free_port()
        proc = _start("serve", port, env)
        try:
            wait_for_port(port, proc)
            ids += _predict_over_http(port, secret, count)
        finally:
            proc.send_signal(signal.SIGKILL if count == 5 else signal.SIGTERM)
            proc.communicate(timeout=30)
    assert installation.commit_spool(installation.projects.get("shop")) == 7
    platform = installation.platform("shop", user="local:test")
    logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)  # once each


def test_podium_up_stopped_by_sigterm_writes_its_last_records(
    home: tuple[Installation, dict[str, str]],
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="up")
    port = free_port()
    server = _start("up", port, env)
    try:
        wait_for_port(port, server)
        ids = _predict_over_http(port, secret, 6)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert "stopped" in out
    platform = installation.platform("shop", user="local:test")
    logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)
