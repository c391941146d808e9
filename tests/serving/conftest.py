"""Fixtures for the serving runtime: a churn model with two versions, and a deployment.

``churn_models`` registers two scikit-learn versions of ``churn`` (fitted on arrays, so
the runtime takes its array fast path) with three numeric features.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.replica_server import create_serving_app
from podium.config import Settings
from podium.platform import Installation, Platform
from podium.registry.signature import infer_signature
from podium.replica import open_replica
from podium.serving.requests.runtime import ServingRuntime
from tests.conftest import LiveServer, loopback_server
from tests.serving import faulty

MAX_BODY = 256 * 1024
FEATURES = {"tenure_months": 24, "monthly_charges": 89.99, "support_calls": 2}


def churn_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic churn training set: short tenure and high charges churn."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows),
            "monthly_charges": rng.uniform(20, 120, rows).round(2),
            "support_calls": rng.integers(0, 10, rows),
        }
    )
    labels = ((frame["tenure_months"] < 20) & (frame["monthly_charges"] > 60)).astype(int)
    return frame, labels.to_numpy()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Installation, dict[str, str]]]:
    """An embedded installation with deployment ``churn`` and the environment a
    ``podium`` subprocess needs to reach it (no ``PODIUM_*`` of the user's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {"PODIUM_HOME": str(tmp_path / "home"), "PODIUM_PROJECT": "shop"}
    installation = Installation(Settings(home=tmp_path / "home", project="shop"))
    platform = installation.platform("shop", user="local:test")
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create("churn", model="churn/1")
    yield installation, env
    installation.close()


def wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    """Wait until the server ``proc`` started listens on ``port`` (fails if it exits)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The root fixture's settings, with a small body limit so 413 is cheap to test."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        metric_flush_interval=0.05,
        max_body_bytes=MAX_BODY,
    )


@pytest.fixture
def churn_models(platform: Platform) -> Platform:
    """``churn`` version 1 and a differently regularised version 2."""
    frame, labels = churn_frame()
    for c in (1.0, 0.01):
        model = LogisticRegression(C=c, max_iter=500).fit(frame.to_numpy(), labels)
        platform.registry.register("churn", model, input_example=frame[:5])
    return platform


RegisterPyfunc = Callable[[str, object], int]


@pytest.fixture
def register_pyfunc(platform: Platform) -> RegisterPyfunc:
    """Register a pyfunc model (one that may not even answer) with churn's signature."""
    frame, _ = churn_frame(10)
    signature = infer_signature(frame[:5])

    def register(name: str, model: object) -> int:
        return platform.registry.register(name, model, signature=signature).version

    return register


@pytest.fixture
def runtime(installation: Installation, churn_models: Platform) -> ServingRuntime:
    """The project's shared runtime, as the installation builds it for predictions."""
    return installation.runtime(churn_models.project)


@pytest.fixture(autouse=True)
def _healthy_flaky() -> Iterator[None]:
    faulty.SWITCH["fail"] = False
    yield
    faulty.SWITCH["fail"] = False


@dataclass
class Api:
    """The platform API in process, with a key of the test's project."""

    http: httpx.Client
    headers: dict[str, str]
    project: str
    kind: str = "platform"
    """``platform`` (the platform server) or ``serve`` (a ``podium serve`` replica)."""

    def predict(
        self, body: object, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        sent = self.headers if headers is None else headers
        return self.http.post("/v1/predictions", json=body, headers=sent, **kwargs)


@pytest.fixture
def api(live_server: LiveServer, churn_models: Platform) -> Iterator[Api]:
    """The platform server on a loopback port and a reader key of the test's project."""
    secret = live_server.key(churn_models.project, Role.READER)
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield Api(http, {"authorization": f"Bearer {secret}"}, churn_models.project)


@pytest.fixture(params=["platform", "serve"])
def predictions_api(
    request: pytest.FixtureRequest, churn_models: Platform, installation: Installation
) -> Iterator[Api]:
    """Deployment ``churn`` (version 1) behind the platform server, then behind
    ``podium serve`` (whose ``POST /v1/predictions`` skips the FastAPI stack): both must
    keep the same contract."""
    churn_models.deployments.create("churn", model="churn/1")
    project = churn_models.project
    _, secret = installation.keys.create(project, Role.READER, name="reader")
    replica = None
    if request.param == "platform":
        app: Any = create_app(installation)
    else:
        replica = open_replica(installation.settings, project, "churn")
        app = create_serving_app(
            replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
        )
    try:
        with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
            yield Api(http, {"authorization": f"Bearer {secret}"}, project, request.param)
    finally:
        if replica is not None:
            replica.close()
