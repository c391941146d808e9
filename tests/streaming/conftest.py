"""Fixtures for streaming: a project with deployment ``churn``, a replica, unique streams.

Streams and subjects get a name of their own per test, so tests sharing one Redis database
or one NATS server never meet; Redis keys are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
import redis
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation, Platform
from podium.replica import Replica, open_replica
from podium.streaming.nats_streams import ensure_stream
from tests.serving.conftest import churn_frame

REDIS_ENV = "PODIUM_TEST_REDIS_URL"
NATS_ENV = "PODIUM_TEST_NATS_URL"


def server_url(env: str) -> str:
    """The test server's URL from ``env``; skips without it, fails in CI."""
    url = os.environ.get(env)
    if not url:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{env} must be set in CI so the streaming suite runs")
        pytest.skip(f"{env} is not set")
    return url


@pytest.fixture
def redis_server() -> str:
    return server_url(REDIS_ENV)


@pytest.fixture
def nats_server() -> str:
    return server_url(NATS_ENV)


@pytest.fixture
def stream_name() -> str:
    """A stream (Redis) or subject (NATS) name no other test uses."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_client(redis_server: str, stream_name: str) -> Iterator[redis.Redis]:
    """A client of the test Redis; every key of this test's streams is deleted after."""
    client = redis.Redis.from_url(redis_server, decode_responses=True)
    yield client
    keys = list(client.scan_iter(match=f"{stream_name}*"))
    if keys:
        client.unlink(*keys)
    client.close()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Installation]:
    """An embedded installation (SQLite) with project ``shop`` and deployment ``churn``."""
    settings = Settings(home=tmp_path / "home", project="shop")
    installation = Installation(settings)
    platform = installation.platform("shop", user="local:test")
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create("churn", model="churn/1", cache={"enabled": False})
    yield installation
    installation.close()


@pytest.fixture
def shop(home: Installation) -> Platform:
    return home.platform("shop", user="local:test")


@pytest.fixture
def replica(home: Installation) -> Iterator[Replica]:
    """A ``podium serve`` replica's runtime for ``churn``, as ``podium stream`` builds it."""
    found = open_replica(home.settings, "shop", "churn")
    yield found
    found.close()


FEATURES = {"tenure_months": 24, "monthly_charges": 89.99, "support_calls": 2}


def event_features(i: int) -> dict[str, float | int]:
    """The features of event ``i`` (varied, so answers differ)."""
    return {"tenure_months": i % 72, "monthly_charges": 20.0 + i % 100, "support_calls": i % 10}


def add_redis_events(client: redis.Redis, stream: str, events: list[dict[str, str]]) -> None:
    """Append stream entries (their fields) to ``stream``, pipelined."""
    pipe = client.pipeline(transaction=False)
    for number, fields in enumerate(events, 1):
        pipe.xadd(stream, fields)
        if number % 2_000 == 0:
            pipe.execute()
    pipe.execute()


def redis_good_events(n: int, *, start: int = 0) -> list[dict[str, str]]:
    return [
        {"id": f"e{i}", "features": json.dumps(event_features(i))} for i in range(start, start + n)
    ]


def redis_outputs(client: redis.Redis, stream: str) -> list[dict[str, str]]:
    """Every entry of ``stream`` (its fields), oldest first."""
    entries: list[dict[str, str]] = []
    last = "-"
    while True:
        batch = client.xrange(stream, min=last, count=10_000)
        if last != "-":
            batch = batch[1:]
        if not batch:
            return entries
        entries.extend(fields for _, fields in batch)
        last = batch[-1][0]


async def add_nats_events(server: str, subject: str, bodies: list[bytes]) -> None:
    """Publish ``bodies`` to ``subject`` on JetStream (creating its stream when missing)."""
    nc = await nats.connect(server)
    try:
        js = nc.jetstream()
        await ensure_stream(js, subject)
        for start in range(0, len(bodies), 2_000):
            futures = [
                await js.publish_async(subject, body) for body in bodies[start : start + 2_000]
            ]
            await asyncio.gather(*futures)
    finally:
        await nc.close()


def nats_good_events(n: int, *, start: int = 0) -> list[bytes]:
    return [
        json.dumps({"id": f"e{i}", "features": event_features(i)}).encode()
        for i in range(start, start + n)
    ]


async def nats_documents(server: str, subject: str) -> list[dict[str, Any]]:
    """Every message of ``subject`` as JSON, oldest first (an ephemeral ordered read)."""
    nc = await nats.connect(server)
    try:
        js = nc.jetstream()
        stream = await ensure_stream(js, subject)
        info = await js.stream_info(stream)
        total = info.state.messages
        found: list[dict[str, Any]] = []
        if total == 0:
            return found
        subscription = await js.subscribe(subject, stream=stream, ordered_consumer=True)
        while len(found) < total:
            msg = await subscription.next_msg(timeout=5)
            found.append(json.loads(msg.data))
        await subscription.unsubscribe()
        return found
    finally:
        await nc.close()


async def delete_nats_streams(server: str, subjects: list[str]) -> None:
    """Delete the streams podium created for ``subjects`` (a test leaves none behind)."""
    nc = await nats.connect(server)
    try:
        js = nc.jetstream()
        for subject in subjects:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(await js.find_stream_name_by_subject(subject))
    finally:
        await nc.close()


@pytest.fixture
def nats_subjects(nats_server: str, stream_name: str) -> Iterator[list[str]]:
    """This test's subjects (input, output, dead letters); their streams are deleted after."""
    subjects = [stream_name, f"{stream_name}.out", f"{stream_name}.dead"]
    yield subjects
    asyncio.run(delete_nats_streams(nats_server, subjects))


@pytest.fixture(params=["redis", "nats"])
def backend(request: pytest.FixtureRequest, stream_name: str) -> str:
    """The server of a test run on both backends; its streams are cleaned up after."""
    if request.param == "redis":
        request.getfixturevalue("redis_client")
        return str(request.getfixturevalue("redis_server"))
    request.getfixturevalue("nats_subjects")
    return str(request.getfixturevalue("nats_server"))


def add_events(server: str, name: str, events: list[dict[str, Any] | bytes]) -> None:
    """Add events given as Redis fields (dicts) or NATS bodies (bytes, or dicts as JSON)."""
    if server.startswith("redis"):
        client = redis.Redis.from_url(server, decode_responses=True)
        add_redis_events(client, name, [e for e in events if isinstance(e, dict)])
        client.close()
    else:
        bodies = [e if isinstance(e, bytes) else json.dumps(e).encode() for e in events]
        asyncio.run(add_nats_events(server, name, bodies))


def read_documents(server: str, name: str) -> list[dict[str, Any]]:
    if server.startswith("redis"):
        client = redis.Redis.from_url(server, decode_responses=True)
        try:
            return [dict(fields) for fields in redis_outputs(client, name)]
        finally:
            client.close()
    return asyncio.run(nats_documents(server, name))


def good_events(server: str, n: int, *, start: int = 0) -> list[dict[str, Any] | bytes]:
    if server.startswith("redis"):
        return list(redis_good_events(n, start=start))
    return list(nats_good_events(n, start=start))
