"""Feature store fixtures: churn-like source rows and a platform per online store backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis

from podium.config import Settings
from podium.features.definitions import Entity, Feature, FeatureView
from podium.platform import Installation, Platform

REDIS_ENV = "PODIUM_TEST_REDIS_URL"
NOW = datetime.now(UTC).replace(microsecond=0)


def redis_url() -> str | None:
    url = os.environ.get(REDIS_ENV)
    if not url and os.environ.get("CI") == "true":
        raise RuntimeError(f"{REDIS_ENV} must be set in CI so the Redis suite runs")
    return url


@pytest.fixture(params=["sqlite", "redis"])
def online_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The online store URL: tests using it run on SQLite and on Redis."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'online.db'}"
    url = redis_url()
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


@pytest.fixture
def store_platform(tmp_path: Path, online_url: str) -> Iterator[Platform]:
    """An embedded platform (SQLite metadata) whose online store is ``online_url``."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'podium.db'}",
        online_store_url=online_url,
    )
    installation = Installation(settings)
    # A project of its own, so tests sharing one Redis database never meet.
    project = f"t-{uuid.uuid4().hex[:10]}"
    yield installation.platform(project, user="local:test")
    installation.close()
    if online_url.startswith("redis"):
        client = redis.Redis.from_url(online_url)
        keys = list(client.scan_iter(match=f"podium:online:{project}/*"))
        if keys:
            client.unlink(*keys)
        client.close()


def customer_rows(now: datetime = NOW) -> pd.DataFrame:
    """Three customers with a little history each; customer 3's last row is stale."""
    return pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2, 3],
            "event_ts": [
                now - timedelta(days=9),
                now - timedelta(days=5),
                now - timedelta(days=1),
                now - timedelta(days=3),
                now - timedelta(hours=2),
                now - timedelta(days=60),
            ],
            "tenure_months": [10, 11, 12, 3, 4, 40],
            "monthly_charges": [50.5, 55.25, 60.125, 20.0, 21.0, 99.9],
            "plan": ["basic", "basic", "pro", "basic", "basic", "pro"],
        }
    )


CUSTOMER = Entity("customer", join_keys=["customer_id"], description="a paying customer")
STATS = FeatureView(
    "customer_stats",
    entities=[CUSTOMER],
    source="raw.customers",
    timestamp_field="event_ts",
    ttl=timedelta(days=30),
    features=[
        Feature("tenure_months", "int64"),
        Feature("monthly_charges", "float64"),
        Feature("plan", "string"),
    ],
    owner="growth-team",
    description="how long and how much customers pay",
)


def seed(platform: Platform) -> None:
    """Write the customer rows and apply the entity and view."""
    platform.data.write("raw.customers", customer_rows(), mode="overwrite")
    platform.features.apply([CUSTOMER, STATS])
