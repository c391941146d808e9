"""Event bus fixtures: the URLs of the Redis and NATS servers the bus suites run against.

``PODIUM_TEST_REDIS_URL`` and ``PODIUM_TEST_NATS_URL`` choose them; unset, those suites
skip, except in CI (``CI=true``), where a missing URL is an error.
"""

from __future__ import annotations

import os

import pytest

REDIS_ENV = "PODIUM_TEST_REDIS_URL"
NATS_ENV = "PODIUM_TEST_NATS_URL"


def server_url(env: str) -> str:
    """The URL in ``env``; skips the test when unset (an error in CI)."""
    url = os.environ.get(env)
    if not url:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{env} must be set in CI so the event bus suite runs")
        pytest.skip(f"{env} is not set")
    return url


@pytest.fixture
def redis_url() -> str:
    return server_url(REDIS_ENV)


@pytest.fixture
def nats_url() -> str:
    return server_url(NATS_ENV)
