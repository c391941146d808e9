"""Backends that stop and come back under a running server: PostgreSQL (metadata), Redis
(online store, event bus). While one is down, what needs it answers 503 problem+json
with ``Retry-After`` (never a 500, never a hang); what does not need it goes on; when it
is back, the same server process answers again, with nothing restarted."""

from __future__ import annotations

from pathlib import Path

import httpx
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation
from tests.faults.conftest import (
    PrivatePostgres,
    PrivateRedis,
    podium_up,
    server_environment,
    wait_for,
)
from tests.features.conftest import seed
from tests.serving.conftest import FEATURES, churn_frame


def _assert_outage(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["remedy"]


def test_a_postgresql_restart_is_503_with_retry_after_then_recovers_without_a_restart(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    home = tmp_path / "home"
    # A deployment made before the server starts: serving needs no metadata per request.
    installation = Installation(Settings(home=home, database_url=private_postgres.url))
    platform = installation.platform("default", user="local:test")
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create("churn", model="churn/1")
    installation.close()

    env = server_environment(home, database_url=private_postgres.url, scheduler="off")
    with (
        podium_up(env) as server,
        httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client,
    ):
        assert client.get("/v1/experiments").status_code == 200
        predict = {"model_id": "churn", "features": FEATURES}
        assert client.post("/v1/predictions", json=predict).status_code == 200

        private_postgres.stop()
        try:
            for _ in range(3):
                _assert_outage(client.get("/v1/experiments"))
                _assert_outage(client.post("/v1/experiments", json={"name": "during"}))
                # Predictions are answered from memory; their log waits in the buffer.
                answered = client.post("/v1/predictions", json=predict)
                assert answered.status_code == 200, answered.text
        finally:
            private_postgres.start()

        wait_for(lambda: client.get("/v1/experiments").status_code == 200, 30, "recovery")
        created = client.post("/v1/experiments", json={"name": "after-the-outage"})
        assert created.status_code in (200, 201), created.text
        names = [e["name"] for e in client.get("/v1/experiments").json()]
        assert "after-the-outage" in names and "during" not in names
        assert server.process.poll() is None  # the same process throughout


def test_a_redis_online_store_restart_is_503_then_recovers(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    home = tmp_path / "home"
    database = f"sqlite:///{tmp_path / 'podium.db'}"
    settings = Settings(home=home, database_url=database, online_store_url=private_redis.url)
    installation = Installation(settings)
    platform = installation.platform("default", user="local:test")
    seed(platform)
    platform.features.materialize()
    installation.close()

    env = server_environment(
        home, database_url=database, online_store_url=private_redis.url, scheduler="off"
    )
    body = {"entity_rows": [{"customer_id": 1}], "features": ["customer_stats:tenure_months"]}
    with (
        podium_up(env) as server,
        httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as client,
    ):
        first = client.post("/v1/features/online", json=body)
        assert first.status_code == 200, first.text
        assert first.json()["features"]["tenure_months"] == [12]

        private_redis.stop()
        try:
            for _ in range(3):
                _assert_outage(client.post("/v1/features/online", json=body))
            # The rest of the API does not need the online store.
            assert client.get("/v1/experiments").status_code == 200
        finally:
            private_redis.start()

        # Redis kept nothing on disk: materialize again, through the same server.
        wait_for(
            lambda: client.post("/v1/features/materialize", json={}).status_code == 200,
            30,
            "recovery",
        )
        again = client.post("/v1/features/online", json=body)
        assert again.status_code == 200, again.text
        assert again.json()["features"]["tenure_months"] == [12]
