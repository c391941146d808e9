"""Rate limits and quotas counted in Redis: two app instances draw from one budget."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from podium.access.ratelimit import RedisTokenBuckets, open_token_buckets, parse_rate_limit
from podium.access.roles import Role
from podium.api.app import create_app
from podium.config import Settings
from podium.errors import InvalidInputError, RateLimitedError
from podium.platform import Installation
from tests.conftest import loopback_server

REDIS_ENV = "PODIUM_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{REDIS_ENV} must be set in CI so the Redis suite runs")
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


@pytest.fixture
def replicas(tmp_path: Path, redis_url: str) -> Iterator[tuple[Installation, Installation]]:
    """Two installations on one database, counting in one Redis (two replicas' view)."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'podium.db'}",
        rate_limit_url=redis_url,
    )
    first = Installation(settings)
    second = Installation(settings, migrate=False)
    yield first, second
    second.close()
    first.close()


def test_two_servers_share_one_key_budget_and_one_project_quota(
    replicas: tuple[Installation, Installation],
) -> None:
    first, second = replicas
    project = f"r-{uuid.uuid4().hex[:8]}"
    first.projects.create(project, rate_limit=parse_rate_limit("1/m", burst=6))
    _, limited = first.keys.create(
        project, Role.READER, rate_limit=parse_rate_limit("1/m", burst=4)
    )
    _, free = first.keys.create(project, Role.READER)
    first.projects.create(f"{project}-o", rate_limit=parse_rate_limit("1/m", burst=6))
    _, elsewhere = first.keys.create(f"{project}-o", Role.READER)
    with (
        loopback_server(create_app(first), tls=False) as one,
        loopback_server(create_app(second), tls=False) as two,
        httpx.Client() as client,
    ):

        def whoami(base: str, secret: str) -> int:
            answer = client.get(f"{base}/v1/whoami", headers={"authorization": f"Bearer {secret}"})
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) >= 1
            return answer.status_code

        # The key's 4 tokens are spent across both servers: alone, each would admit 4.
        codes = [whoami(base, limited) for base in (one, two) * 3]
        assert codes == [200, 200, 200, 200, 429, 429], codes
        # The project's 6 (4 taken by the key above) are shared by its other keys too.
        codes = [whoami(base, free) for base in (one, two) * 2]
        assert codes == [200, 200, 429, 429], codes
        # Another project has a budget of its own.
        assert [whoami(base, elsewhere) for base in (one, two) * 3] == [200] * 6


def test_buckets_fall_back_to_this_process_while_redis_does_not_answer() -> None:
    buckets = RedisTokenBuckets("redis://127.0.0.1:1/0")  # nothing listens on port 1
    limit = parse_rate_limit("1/m", burst=2)
    buckets.take("key:a", limit)
    buckets.take("key:a", limit)
    with pytest.raises(RateLimitedError):
        buckets.take("key:a", limit)
    buckets.close()


def test_the_rate_limit_store_must_be_redis(redis_url: str) -> None:
    assert isinstance(open_token_buckets(redis_url), RedisTokenBuckets)
    with pytest.raises(InvalidInputError, match="must be a redis:// URL") as info:
        open_token_buckets("nats://127.0.0.1:4222")
    assert "PODIUM_RATE_LIMIT_URL" in str(info.value.remedy)
