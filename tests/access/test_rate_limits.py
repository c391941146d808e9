"""Per-key rate limits: a token bucket per key, 429 with Retry-After past it, on a real server."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import podium
from podium.access.ratelimit import RateLimit, TokenBuckets, parse_rate_limit
from podium.access.roles import Principal, Role
from podium.api.app import create_app
from podium.api.prediction_front import PredictionFront
from podium.cli.app import app as cli
from podium.errors import InvalidInputError, NotFoundError, RateLimitedError
from podium.platform import Installation
from podium.serving.requests.runtime import ServingRuntime
from tests.conftest import loopback_server


@pytest.mark.parametrize(
    ("spec", "burst", "rate", "size", "shown"),
    [
        ("20/s", None, 20.0, 20, "20/s"),
        ("600/m", None, 10.0, 10, "600/m"),
        ("30/min", 5, 0.5, 5, "30/m"),
        ("1/m", None, 1 / 60, 1, "1/m"),
        ("2.5/s", 1, 2.5, 1, "2.5/s"),
    ],
)
def test_rate_limits_parse_per_second_and_per_minute(
    spec: str, burst: int | None, rate: float, size: int, shown: str
) -> None:
    assert parse_rate_limit(spec, burst=burst) == RateLimit(spec=shown, rate=rate, burst=size)


@pytest.mark.parametrize("spec", ["", "20", "20/h", "0/s", "-1/s", "fast", "20/s/s", "1e3/s"])
def test_bad_rate_limits_are_refused_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(InvalidInputError, match="a rate limit is a positive number") as info:
        parse_rate_limit(spec)
    assert info.value.remedy is not None and "20/s" in info.value.remedy


def test_a_bucket_empties_tells_when_to_retry_and_refills() -> None:
    now = [100.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    limit = parse_rate_limit("2/s", burst=3)
    for _ in range(3):
        buckets.take("a", limit)
    with pytest.raises(RateLimitedError) as info:
        buckets.take("a", limit)
    assert info.value.status == 429 and info.value.retry_after == 1
    buckets.take("b", limit)  # another key has a bucket of its own
    now[0] += 0.5  # one token back at 2/s
    buckets.take("a", limit)
    with pytest.raises(RateLimitedError):
        buckets.take("a", limit)
    slow = parse_rate_limit("6/m", burst=1)
    buckets.take("slow", slow)
    with pytest.raises(RateLimitedError) as info:
        buckets.take("slow", slow)
    assert info.value.retry_after == 10  # whole seconds until the next token


def _key(installation: Installation, project: str, spec: str | None, burst: int = 3) -> str:
    installation.projects.ensure(project)
    limit = parse_rate_limit(spec, burst=burst) if spec else None
    _, secret = installation.keys.create(project, Role.READER, name="rl", rate_limit=limit)
    return secret


def test_a_burst_over_a_keys_limit_gets_429_with_retry_after_and_others_are_unaffected(
    installation: Installation,
) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    limited = _key(installation, project, "1/s")
    other = _key(installation, project, "1/s")
    unlimited = _key(installation, project, None)
    with loopback_server(create_app(installation)) as url, httpx.Client(base_url=url) as client:

        def whoami(secret: str) -> httpx.Response:
            return client.get("/v1/whoami", headers={"authorization": f"Bearer {secret}"})

        codes = [whoami(limited).status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429, 429], codes
        refused = whoami(limited)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        body = refused.json()
        assert body["code"] == "rate-limited" and body["retry_after"] >= 1
        assert "1/s (burst 3)" in body["detail"] and body["request_id"]

        assert [whoami(other).status_code for _ in range(3)] == [200, 200, 200]
        assert all(whoami(unlimited).status_code == 200 for _ in range(20))

        time.sleep(1.05)  # a token refills every second
        assert whoami(limited).status_code == 200


def test_the_prediction_fast_path_limits_remembered_keys_too(installation: Installation) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    limited = _key(installation, project, "1/s", burst=2)
    other = _key(installation, project, None)

    def no_deployment(principal: Principal) -> ServingRuntime:
        raise NotFoundError("no deployment here", remedy="admitted requests end here")

    front = PredictionFront(
        create_app(installation),
        keys=installation.keys,
        runtime_for=no_deployment,
        max_bytes=1024,
        remember_seconds=60.0,
    )
    with loopback_server(front) as url, httpx.Client(base_url=url) as client:

        def predict(secret: str) -> httpx.Response:
            return client.post(
                "/v1/predictions", json={}, headers={"authorization": f"Bearer {secret}"}
            )

        assert [predict(limited).status_code for _ in range(4)] == [404, 404, 429, 429]
        assert int(predict(limited).headers["retry-after"]) >= 1
        assert predict(other).status_code == 404


def test_the_sdk_raises_rate_limited_error_with_retry_after(installation: Installation) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    limited = _key(installation, project, "1/m", burst=8)
    with (
        loopback_server(create_app(installation)) as url,
        podium.connect(url, api_key=limited, project=project) as remote,
        pytest.raises(podium.RateLimitedError) as info,
    ):
        for _ in range(10):
            remote.tracking.list_experiments()
    assert info.value.status == 429 and info.value.code == "rate-limited"
    assert 1 <= info.value.retry_after <= 60


def _cli(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"PODIUM_HOME": str(home), "COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_keys_create_takes_a_rate_limit_and_refuses_bad_ones_in_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, _ = _cli(home, "projects", "create", "fraud")
    assert code == 0, out
    code, out, err = _cli(
        home, "keys", "create", "-p", "fraud", "-r", "reader", "--rate-limit", "600/m"
    )
    assert code == 0, err
    assert "limited to 600/m (burst 10)" in out
    code, out, _ = _cli(home, "keys", "ls", "-p", "fraud")
    assert "600/m (burst 10)" in out

    for args, message in [
        (["--rate-limit", "20/h"], "a rate limit is a positive number per second or minute"),
        (["--rate-limit", "0/s"], "a rate limit is a positive number per second or minute"),
        (["--rate-limit", "5/s", "--burst", "0"], "a burst is between 1 and 1000000"),
        (["--burst", "3"], "--burst needs --rate-limit"),
    ]:
        code, out, err = _cli(home, "keys", "create", "-p", "fraud", "-r", "reader", *args)
        assert code == 1, (args, out, err)
        lines = err.splitlines()
        assert lines[0].startswith("error: ") and message in lines[0], lines
        assert len(lines) <= 2 and "Traceback" not in err
