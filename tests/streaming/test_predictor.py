"""Streaming inference in process: answers equal /v1/predictions, once per event id,
dead letters with a reason, groups sharing the work, the inference log, on Redis and NATS."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from podium.platform import Installation, Platform
from podium.replica import Replica, open_replica
from podium.serving.log.writer import INFERENCE_LOG_TABLE
from podium.streaming.consumer import StreamConsumer, Validate
from podium.streaming.predictor import ConsumerOptions, open_stream_predictor
from podium.streaming.streams import Message
from podium.streaming.urls import StreamUrl, parse_stream_url
from tests.features.conftest import NOW, seed
from tests.serving.test_online_features import ONLINE
from tests.streaming.conftest import (
    add_events,
    add_nats_events,
    add_redis_events,
    event_features,
    good_events,
    nats_documents,
    nats_good_events,
    read_documents,
    redis_good_events,
    redis_outputs,
)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown()


def _urls(server: str, name: str) -> tuple[StreamUrl, StreamUrl]:
    key = "stream" if server.startswith("redis") else "subject"
    joint = "&" if "?" in server else "?"
    return (
        parse_stream_url(f"{server}{joint}{key}={name}"),
        parse_stream_url(f"{server}{joint}{key}={name}.out"),
    )


async def _consumer(
    replica: Replica,
    server: str,
    name: str,
    executor: ThreadPoolExecutor,
    *,
    consumer: str = "c1",
    batch_size: int = 500,
    claim_idle_ms: int = 30_000,
    validate: Validate | None = None,
) -> StreamConsumer:
    source, output = _urls(server, name)
    return await open_stream_predictor(
        replica.runtime,
        "churn",
        source=source,
        output=output,
        dead_letter=None,
        options=ConsumerOptions(
            group="g", consumer=consumer, batch_size=batch_size, claim_idle_ms=claim_idle_ms
        ),
        executor=executor,
        validate=validate,
    )


async def _drain(consumers: Sequence[StreamConsumer], total: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while sum(c.metrics.scored + c.metrics.dead for c in consumers) < total:
        assert time.monotonic() < deadline, "the consumers did not get through the stream"
        for consumer in consumers:
            await consumer.step()


def _same_answer(streamed: dict[str, Any], answered: dict[str, Any]) -> None:
    """Equal bodies but for request_id and latency_ms, and probabilities up to rounding:
    a model called on a batch sums in another order than on one row."""
    drop = ("request_id", "latency_ms", "probability", "probabilities")
    assert {k: v for k, v in streamed.items() if k not in drop} == {
        k: v for k, v in answered.items() if k not in drop
    }
    assert streamed["probability"] == pytest.approx(answered["probability"], rel=1e-9)
    assert streamed["probabilities"] == pytest.approx(answered["probabilities"], rel=1e-9)
    assert set(streamed) == set(answered)


def test_100k_redis_events_get_one_output_each_equal_to_predictions(
    replica: Replica,
    shop: Platform,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
    executor: ThreadPoolExecutor,
) -> None:
    n = 100_000
    add_redis_events(redis_client, stream_name, redis_good_events(n))

    async def run() -> StreamConsumer:
        consumer = await _consumer(replica, redis_server, stream_name, executor)
        await _drain([consumer], n)
        await consumer.close()
        return consumer

    started = time.perf_counter()
    consumer = asyncio.run(run())
    rate = n / (time.perf_counter() - started)
    outputs = redis_outputs(redis_client, f"{stream_name}.out")
    assert len(outputs) == n and consumer.metrics.dead == 0
    assert Counter(o["id"] for o in outputs) == Counter(f"e{i}" for i in range(n))
    print(f"redis: {rate:,.0f} events/s")
    by_id = {o["id"]: json.loads(o["result"]) for o in outputs}
    for i in (0, 1, 4_242, n - 1):
        expected = shop.predict("churn", features=event_features(i))
        _same_answer(by_id[f"e{i}"], expected)
        assert by_id[f"e{i}"]["model_version"] == "1" and by_id[f"e{i}"]["request_id"]
    assert len({r["request_id"] for r in by_id.values()}) == n
    # Nothing is left pending in the group: every event was acknowledged.
    assert redis_client.xpending(stream_name, "g")["pending"] == 0


def test_100k_nats_events_get_one_output_each(
    replica: Replica,
    nats_server: str,
    nats_subjects: list[str],
    executor: ThreadPoolExecutor,
) -> None:
    n = 100_000
    name = nats_subjects[0]
    asyncio.run(add_nats_events(nats_server, name, nats_good_events(n)))

    async def run() -> StreamConsumer:
        consumer = await _consumer(replica, nats_server, name, executor, batch_size=1_000)
        await _drain([consumer], n)
        await consumer.close()
        return consumer

    started = time.perf_counter()
    consumer = asyncio.run(run())
    rate = n / (time.perf_counter() - started)
    print(f"nats: {rate:,.0f} events/s")
    outputs = asyncio.run(nats_documents(nats_server, f"{name}.out"))
    assert consumer.metrics.dead == 0
    assert Counter(o["id"] for o in outputs) == Counter(f"e{i}" for i in range(n))
    assert outputs[0]["result"]["model_version"] == "1"


def test_malformed_events_go_to_dead_letters_with_a_reason_and_nothing_is_lost(
    replica: Replica, backend: str, stream_name: str, executor: ThreadPoolExecutor
) -> None:
    redis_side = backend.startswith("redis")
    good = good_events(backend, 20)
    if redis_side:
        bad: list[dict[str, Any] | bytes] = [
            {"id": "b-json", "features": "{not json"},
            {"features": json.dumps(event_features(1))},
            {"id": "b-list", "features": "[1, 2]"},
            {"id": "b-type", "features": json.dumps({**event_features(1), "support_calls": "x"})},
            {"id": "b-none"},
        ]
    else:
        bad = [
            b"{not json",
            json.dumps({"features": event_features(1)}).encode(),
            json.dumps({"id": "b-list", "features": [1, 2]}).encode(),
            json.dumps(
                {"id": "b-type", "features": {**event_features(1), "support_calls": "x"}}
            ).encode(),
            json.dumps({"id": "b-none"}).encode(),
        ]
    events = good[:10] + bad + good[10:]
    add_events(backend, stream_name, events)

    async def run() -> StreamConsumer:
        consumer = await _consumer(replica, backend, stream_name, executor, batch_size=7)
        await _drain([consumer], len(events))
        await consumer.close()
        return consumer

    consumer = asyncio.run(run())
    assert (consumer.metrics.scored, consumer.metrics.dead) == (20, 5)
    outputs = read_documents(backend, f"{stream_name}.out")
    assert sorted(o["id"] for o in outputs) == sorted(f"e{i}" for i in range(20))
    dead = read_documents(backend, f"{stream_name}.dead")
    reasons = sorted(d["reason"].split(":", 1)[0] for d in dead)
    assert reasons == sorted(
        ["invalid-json", "missing-id", "invalid-features", "invalid-input", "missing-features"]
    )
    typed = next(d for d in dead if d.get("id") == "b-type")
    assert "support_calls" in typed["reason"] and "b-type" in typed["event"]
    assert all(d["event"] and d["key"] for d in dead)


class _DiesBeforeAck:
    """A source whose consumer "dies" after writing its first batch, before acking it."""

    def __init__(self, source: Any) -> None:
        self.source = source

    async def read(self, count: int, wait_ms: int) -> list[Message]:
        return list(await self.source.read(count, wait_ms))

    async def ack(self, messages: Sequence[Message]) -> None:
        raise ConnectionError("killed between write and ack")

    async def lag(self) -> tuple[int, int]:
        return tuple(await self.source.lag())  # type: ignore[return-value]

    async def close(self) -> None:
        await self.source.close()


def test_a_batch_written_but_not_acknowledged_is_redone_without_a_second_output(
    replica: Replica, backend: str, stream_name: str, executor: ThreadPoolExecutor
) -> None:
    add_events(backend, stream_name, good_events(backend, 300))

    async def run() -> StreamConsumer:
        # (On NATS the group's redelivery delay is fixed when the group is created.)
        first = await _consumer(
            replica, backend, stream_name, executor, batch_size=100, claim_idle_ms=300
        )
        first._source = _DiesBeforeAck(first._source)  # type: ignore[assignment]
        with pytest.raises(ConnectionError):
            await first.step()
        await first.close()
        # Its successor (another name) takes the unacknowledged batch over once idle.
        second = await _consumer(
            replica, backend, stream_name, executor, consumer="c2", claim_idle_ms=300
        )
        deadline = time.monotonic() + 30
        while second.metrics.scored < 300:
            assert time.monotonic() < deadline
            await second.step()
        await second.close()
        return second

    second = asyncio.run(run())
    outputs = read_documents(backend, f"{stream_name}.out")
    assert Counter(o["id"] for o in outputs) == Counter(f"e{i}" for i in range(300))
    assert second.metrics.scored == 300  # the first 100 were scored twice, written once


def test_two_consumers_of_one_group_share_the_work(
    replica: Replica, backend: str, stream_name: str, executor: ThreadPoolExecutor
) -> None:
    n = 2_000
    add_events(backend, stream_name, good_events(backend, n))

    async def run() -> tuple[StreamConsumer, StreamConsumer]:
        one = await _consumer(replica, backend, stream_name, executor, batch_size=100)
        two = await _consumer(
            replica, backend, stream_name, executor, consumer="c2", batch_size=100
        )
        await _drain([one, two], n)
        await one.close()
        await two.close()
        return one, two

    one, two = asyncio.run(run())
    assert one.metrics.scored > 0 and two.metrics.scored > 0
    assert one.metrics.scored + two.metrics.scored == n
    outputs = read_documents(backend, f"{stream_name}.out")
    assert Counter(o["id"] for o in outputs) == Counter(f"e{i}" for i in range(n))


def test_events_failing_their_schema_are_dead_letters(
    replica: Replica,
    shop: Platform,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
    executor: ThreadPoolExecutor,
) -> None:
    schema = {
        "type": "object",
        "required": ["id", "features"],
        "properties": {
            "id": {"type": "string"},
            "features": {
                "type": "object",
                "properties": {"tenure_months": {"type": "integer", "maximum": 100}},
            },
        },
    }
    shop.events.schemas.register("churn-in", schema)

    def validate(document: dict[str, Any]) -> None:
        shop.events.schemas.validate("churn-in", document)

    events = redis_good_events(5)
    events.append(
        {"id": "old", "features": json.dumps({**event_features(1), "tenure_months": 500})}
    )
    add_redis_events(redis_client, stream_name, events)

    async def run() -> StreamConsumer:
        consumer = await _consumer(replica, redis_server, stream_name, executor, validate=validate)
        await _drain([consumer], 6)
        await consumer.close()
        return consumer

    consumer = asyncio.run(run())
    assert (consumer.metrics.scored, consumer.metrics.dead) == (5, 1)
    (dead,) = redis_outputs(redis_client, f"{stream_name}.dead")
    assert dead["id"] == "old" and dead["reason"].startswith("schema-invalid:")
    assert "tenure_months" in dead["reason"]


def test_streamed_predictions_reach_the_inference_log(
    home: Installation,
    replica: Replica,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
    executor: ThreadPoolExecutor,
) -> None:
    add_redis_events(redis_client, stream_name, redis_good_events(50))

    async def run() -> None:
        consumer = await _consumer(replica, redis_server, stream_name, executor)
        await _drain([consumer], 50)
        await consumer.close()

    asyncio.run(run())
    replica.close()  # parks the last records in the spool, as a stopped process does
    assert home.commit_spool(home.projects.get("shop")) == 50
    logged = home.platform("shop", user="local:test").data.read(INFERENCE_LOG_TABLE).to_pylist()
    outputs = redis_outputs(redis_client, f"{stream_name}.out")
    streamed = {json.loads(o["result"])["request_id"] for o in outputs}
    assert {row["request_id"] for row in logged} == streamed
    assert {row["deployment"] for row in logged} == {"churn"}


def test_online_features_are_joined_as_for_predictions(
    home: Installation,
    shop: Platform,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
    executor: ThreadPoolExecutor,
) -> None:
    seed(shop)
    shop.features.materialize(end=NOW)
    shop.deployments.create(
        "churn-online", model="churn/1", features=ONLINE, entity_keys=["customer_id"],
        cache={"enabled": False},
    )  # fmt: skip
    sent = [{"customer_id": 1, "support_calls": 3}, {"customer_id": 2, "support_calls": 1}]
    events = [{"id": f"o{i}", "features": json.dumps(row)} for i, row in enumerate(sent)]
    events.append({"id": "no-key", "features": json.dumps({"support_calls": 1})})
    add_redis_events(redis_client, stream_name, events)
    online = open_replica(home.settings, "shop", "churn-online")
    source, output = _urls(redis_server, stream_name)

    async def run() -> StreamConsumer:
        consumer = await open_stream_predictor(
            online.runtime, "churn-online", source=source, output=output, dead_letter=None,
            options=ConsumerOptions(group="g", consumer="c1"), executor=executor,
        )  # fmt: skip
        await _drain([consumer], 3)
        await consumer.close()
        return consumer

    try:
        consumer = asyncio.run(run())
    finally:
        online.close()
    assert (consumer.metrics.scored, consumer.metrics.dead) == (2, 1)
    results = {o["id"]: json.loads(o["result"]) for o in redis_outputs(redis_client, output.name)}
    for i, row in enumerate(sent):
        _same_answer(results[f"o{i}"], shop.predict("churn-online", features=row))
    (dead,) = redis_outputs(redis_client, f"{stream_name}.dead")
    assert dead["id"] == "no-key" and "customer_id" in dead["reason"]
