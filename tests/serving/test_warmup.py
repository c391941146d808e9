"""Servers warm their deployments up before they say they are ready.

``podium up`` (the platform app with a :class:`Warmup`) answers ``/readyz`` with 503 while
it loads; a ``podium serve`` replica loads and warms before it listens. Either way the
first prediction after ready finds the model loaded and tried once: no request pays for
the load.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.replica_server import create_serving_app
from podium.platform import Installation, Platform
from podium.replica import open_replica
from podium.serving.requests.warmup import Warmup, deployed_projects
from tests.conftest import loopback_server
from tests.serving import faulty
from tests.serving.conftest import FEATURES, RegisterPyfunc


@pytest.fixture
def elsewhere(installation: Installation) -> Iterator[Installation]:
    """A server process's view of the same installation: nothing loaded yet."""
    fresh = Installation(installation.settings, migrate=False)
    yield fresh
    fresh.close()


@pytest.fixture
def gate() -> Iterator[None]:
    """Hold every load of a GatedModel until the test opens the gate again."""
    faulty.LOAD_GATE.clear()
    yield
    faulty.LOAD_GATE.set()


def _poll_ready(http: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        answer = http.get("/readyz")
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_readyz_says_503_until_every_deployment_is_warm(
    churn_models: Platform,
    register_pyfunc: RegisterPyfunc,
    elsewhere: Installation,
    gate: None,
) -> None:
    faulty.LOAD_GATE.set()  # registering and creating load the model once, here
    version = register_pyfunc("gated", faulty.GatedModel())
    # 30 s for the model: the first prediction on a loaded CI machine may take over 1 s.
    churn_models.deployments.create("gated", model=f"gated/{version}", timeout_ms=30_000)
    churn_models.deployments.create("churn", model="churn/1")
    faulty.LOAD_GATE.clear()
    project = churn_models.project
    _, secret = elsewhere.keys.create(project, Role.READER, name="reader")
    headers = {"authorization": f"Bearer {secret}"}
    # This project only: on a shared PostgreSQL database other tests' deployments exist.
    warmup = Warmup(lambda: elsewhere.warm_deployments([project]))
    app = create_app(elsewhere, warmup=warmup)
    warmup.start()
    with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        warming = http.get("/readyz")
        oip_warming = http.get("/v2/health/ready")
        assert not warmup.ready  # the gated model is still loading
        faulty.LOAD_GATE.set()
        ready = _poll_ready(http)
        runtime = elsewhere.runtime(project)
        loads = runtime.model_loads
        state = runtime.state("gated")
        answers = [
            http.post(
                "/v1/predictions", json={"model_id": name, "features": FEATURES}, headers=headers
            )
            for name in ("gated", "churn")
        ]
    assert warming.status_code == 503 and warming.json()["status"] == "warming"
    assert oip_warming.status_code == 503 and oip_warming.json() == {"ready": False}
    assert ready.status_code == 200, ready.text
    assert runtime.loaded() == ["churn/1", f"gated/{version}"]
    assert state.paths[str(version)].model.warmed
    assert runtime.state("churn").paths["1"].model.warmed
    assert [a.status_code for a in answers] == [200, 200]
    assert runtime.model_loads == loads == 2  # the predictions loaded nothing
    assert state is runtime.state("gated")  # nor rebuilt the deployment


def test_warming_logs_no_prediction(churn_models: Platform, elsewhere: Installation) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    assert churn_models.project in deployed_projects(elsewhere.db)
    assert elsewhere.warm_deployments([churn_models.project]) == 1
    runtime = elsewhere.runtime(churn_models.project)
    assert runtime.inference_log is not None and runtime.inference_log.pending == 0
    assert "podium_predictions_total{" not in runtime.render_metrics().decode()


def test_a_replica_is_warm_when_it_starts_listening(
    churn_models: Platform, installation: Installation
) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    _, secret = installation.keys.create(churn_models.project, Role.READER, name="reader")
    replica = open_replica(installation.settings, churn_models.project, "churn")
    try:
        runtime = replica.runtime
        assert runtime.state("churn").paths["1"].model.warmed
        assert runtime.model_loads == 1
        app = create_serving_app(runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes)
        with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
            ready = http.get("/readyz")
            answer = http.post(
                "/v1/predictions",
                json={"model_id": "churn", "features": FEATURES},
                headers={"authorization": f"Bearer {secret}"},
            )
        assert runtime.model_loads == 1
    finally:
        replica.close()
    assert ready.status_code == 200
    assert answer.status_code == 200, answer.text
