"""Serving replicas follow platform events on the bus: a switch reaches them at once.

A real replica (``open_replica``, what ``podium serve`` runs) behind a real HTTP server on
loopback; the platform moves an alias or a deployment, and the replica answers with the
new version long before its 30 s safety poll would have noticed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.api.replica_server import create_serving_app
from podium.config import Settings
from podium.platform import Installation, Platform
from podium.replica import SAFETY_POLL_SECONDS, open_replica
from tests.conftest import loopback_server
from tests.events.bus.conftest import NATS_ENV, REDIS_ENV, server_url

FEATURES = {"tenure_months": 24, "monthly_charges": 89.99, "support_calls": 2}
SWITCH_LIMIT = 5.0  # seconds: far below the 30 s safety poll, so only the bus explains it; the
# speed itself (target 0.1 s) is measured by benchmarks/event_bus.py, not here


@pytest.fixture(
    params=[("sqlite", None), ("postgres", None), ("sqlite", REDIS_ENV), ("sqlite", NATS_ENV)],
    ids=["embedded-sqlite", "embedded-postgres", "redis", "nats"],
)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    database, events_env = request.param
    if database == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'podium.db'}"
    else:
        database_url = str(request.getfixturevalue("postgres_url"))
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        events_url=server_url(events_env) if events_env else None,
    )


@pytest.fixture
def churn(installation: Installation) -> Platform:
    """Project with ``churn`` versions 1 and 2 (they differ), alias ``champion`` on 1."""
    platform = installation.platform(f"t-{uuid.uuid4().hex[:10]}", user="local:test")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, 200),
            "monthly_charges": rng.uniform(20, 120, 200).round(2),
            "support_calls": rng.integers(0, 10, 200),
        }
    )
    labels = ((frame["tenure_months"] < 20) & (frame["monthly_charges"] > 60)).astype(int)
    for c in (1.0, 0.01):
        model = LogisticRegression(C=c, max_iter=500).fit(frame.to_numpy(), labels.to_numpy())
        platform.registry.register("churn", model, input_example=frame[:5])
    platform.registry.set_alias("churn", "champion", 1)
    return platform


@pytest.fixture
def replica_http(churn: Platform, installation: Installation) -> Iterator[httpx.Client]:
    """``podium serve``'s app for deployment ``churn`` (following ``churn@champion``)."""
    churn.deployments.create("churn", model="churn@champion")
    _, secret = installation.keys.create(churn.project, Role.READER, name="reader")
    replica = open_replica(installation.settings, churn.project, "churn")
    replica.start()
    app = create_serving_app(
        replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
    )
    try:
        with (
            loopback_server(app) as url,
            httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}) as http,
        ):
            yield http
    finally:
        replica.close()


def _served(http: httpx.Client) -> str:
    answer = http.post("/v1/predictions", json={"model_id": "churn", "features": FEATURES})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["model_version"])


def _seconds_until(http: httpx.Client, version: str) -> float:
    started = time.monotonic()
    while _served(http) != version:
        if time.monotonic() - started > SAFETY_POLL_SECONDS / 3:
            pytest.fail(f"the replica never switched to version {version}")
        time.sleep(0.002)
    return time.monotonic() - started


def test_moving_the_alias_switches_the_replica_at_once(
    churn: Platform, replica_http: httpx.Client
) -> None:
    assert _served(replica_http) == "1"
    churn.registry.set_alias("churn", "champion", 2)
    assert _seconds_until(replica_http, "2") < SWITCH_LIMIT
    churn.registry.set_alias("churn", "champion", 1)
    assert _seconds_until(replica_http, "1") < SWITCH_LIMIT


def test_updating_the_deployment_switches_the_replica_at_once(
    churn: Platform, replica_http: httpx.Client
) -> None:
    assert _served(replica_http) == "1"
    churn.deployments.update("churn", model="churn/2")
    assert _seconds_until(replica_http, "2") < SWITCH_LIMIT
