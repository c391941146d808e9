"""Online store fixtures: a Redis URL (``PODIUM_TEST_REDIS_URL``) and Redis stores of their own.

Each Redis store gets a unique key prefix, removed after the test, so pytest workers
sharing one Redis database never meet. In CI (``CI=true``) a missing URL is an error, so
the Redis suite can never silently skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from podium.features.online import RedisOnlineStore

REDIS_ENV = "PODIUM_TEST_REDIS_URL"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis database's URL, or a skip (an error in CI) when it is not set."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{REDIS_ENV} must be set in CI so the Redis suite runs")
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    prefix = f"podium-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_store(redis_url: str, redis_prefix: str) -> Iterator[RedisOnlineStore]:
    """A Redis online store with a key prefix of its own."""
    store = RedisOnlineStore(redis_url, key_prefix=redis_prefix)
    yield store
    store.close()
