"""Streaming inference: micro-batched `podium stream` vs one predict per message.

On Redis Streams and on NATS JetStream, with the same deployment (a scikit-learn logistic
regression on three features) served by the same runtime as `podium serve`:

* throughput: a backlog of events consumed by the micro-batched consumer
  (:class:`podium.streaming.consumer.StreamConsumer`, batches of 500) and by a naive
  consumer that reads one message, answers it with ``runtime.predict`` (the
  ``/v1/predictions`` path), writes the output and acknowledges it, one at a time;
* end-to-end latency: events offered at 1,000 per second for a few seconds, from the
  producer's send to the moment a reader sees the output event (p50, p99).

Targets (issue 15): >= 25,000 msg/s micro-batched; p99 <= 20 ms at 1k msg/s.

    python benchmarks/streaming.py [--quick] [--json results.json] [--no-nats]

Needs Redis (``PODIUM_TEST_REDIS_URL`` or redis://127.0.0.1:6379/15) and NATS with
JetStream (``PODIUM_TEST_NATS_URL`` or nats://127.0.0.1:4222).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pandas as pd
import redis
from _machine import machine_info
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation
from podium.replica import Replica, open_replica
from podium.streaming.nats_streams import ensure_stream
from podium.streaming.predictor import ConsumerOptions, open_stream_predictor
from podium.streaming.redis_streams import seen_set
from podium.streaming.urls import parse_stream_url

REDIS = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NATS = os.environ.get("PODIUM_TEST_NATS_URL", "nats://127.0.0.1:4222")


def features(i: int) -> dict[str, Any]:
    return {"tenure_months": i % 72, "monthly_charges": 20.0 + i % 100, "support_calls": i % 10}


def deployment(home: Path) -> tuple[Installation, Replica]:
    installation = Installation(Settings(home=home, project="bench"))
    p = installation.platform("bench", user="local:bench")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, 500),
            "monthly_charges": rng.uniform(20, 120, 500).round(2),
            "support_calls": rng.integers(0, 10, 500),
        }
    )
    labels = ((frame["tenure_months"] < 20) & (frame["monthly_charges"] > 60)).astype(int)
    p.registry.register(
        "churn", LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels),
        input_example=frame[:5],
    )  # fmt: skip
    p.deployments.create("churn", model="churn/1", cache={"enabled": False})
    return installation, open_replica(installation.settings, "bench", "churn")


# -- backlogs -------------------------------------------------------------------------


def fill_redis(name: str, n: int) -> None:
    client = redis.Redis.from_url(REDIS)
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(name, {"id": f"e{i}", "features": json.dumps(features(i))})
        if i % 2_000 == 1_999:
            pipe.execute()
    pipe.execute()
    client.close()


async def fill_nats(name: str, n: int) -> None:
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    await ensure_stream(js, name)
    for start in range(0, n, 2_000):
        futures = [
            await js.publish_async(
                name, json.dumps({"id": f"e{i}", "features": features(i)}).encode()
            )
            for i in range(start, min(n, start + 2_000))
        ]
        await asyncio.gather(*futures)
    await nc.close()


def cleanup_redis(name: str) -> None:
    client = redis.Redis.from_url(REDIS)
    for key in (name, f"{name}.out", seen_set(f"{name}.out"), f"{name}.dead"):
        client.delete(key)
    client.close()


async def cleanup_nats(name: str) -> None:
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    for subject in (name, f"{name}.out", f"{name}.dead"):
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(await js.find_stream_name_by_subject(subject))
    await nc.close()


def urls(scheme: str, name: str) -> tuple[Any, Any]:
    server, key = (REDIS, "stream") if scheme == "redis" else (NATS, "subject")
    return (
        parse_stream_url(f"{server}?{key}={name}"),
        parse_stream_url(f"{server}?{key}={name}.out"),
    )


# -- throughput -----------------------------------------------------------------------


async def micro_batched(replica: Replica, scheme: str, name: str, n: int) -> tuple[float, float]:
    """(events per second, events per CPU-second of this process)."""
    source, output = urls(scheme, name)
    with ThreadPoolExecutor(2) as executor:
        consumer = await open_stream_predictor(
            replica.runtime, "churn", source=source, output=output, dead_letter=None,
            options=ConsumerOptions(group="bench", consumer="c1", batch_size=500),
            executor=executor,
        )  # fmt: skip
        started, cpu = time.perf_counter(), time.process_time()
        while consumer.metrics.scored + consumer.metrics.dead < n:
            await consumer.step()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await consumer.close()
    assert consumer.metrics.dead == 0
    return n / elapsed, n / cpu


async def naive_redis(replica: Replica, name: str, n: int) -> tuple[float, float]:
    client = redis.asyncio.Redis.from_url(REDIS, decode_responses=True)
    await client.xgroup_create(name, "naive", id="0", mkstream=True)
    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < n:
        answer = await client.xreadgroup("naive", "c1", {name: ">"}, count=1, block=100)
        for _, entries in answer:
            for entry_id, fields in entries:
                body = {"model_id": "churn", "features": json.loads(fields["features"])}
                result = await replica.runtime.predict(body)
                await client.xadd(
                    f"{name}.naive", {"id": fields["id"], "result": json.dumps(result)}
                )
                await client.xack(name, "naive", entry_id)
                done += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await client.delete(f"{name}.naive")
    await client.aclose()
    return n / elapsed, n / cpu


async def naive_nats(replica: Replica, name: str, n: int) -> tuple[float, float]:
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    await ensure_stream(js, f"{name}.naive")
    subscription = await js.pull_subscribe(name, durable="naive")
    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < n:
        for msg in await subscription.fetch(1, timeout=1):
            event = json.loads(msg.data)
            result = await replica.runtime.predict(
                {"model_id": "churn", "features": event["features"]}
            )
            output = json.dumps({"id": event["id"], "result": result}).encode()
            await js.publish(f"{name}.naive", output, headers={"Nats-Msg-Id": event["id"]})
            await msg.ack()
            done += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await js.delete_stream(await js.find_stream_name_by_subject(f"{name}.naive"))
    await nc.close()
    return n / elapsed, n / cpu


# -- latency --------------------------------------------------------------------------


def latency_redis(replica: Replica, name: str, seconds: float, rate: int) -> list[float]:
    """Milliseconds from send to the output seen, for events offered at ``rate`` per s."""
    stop = threading.Event()
    source, output = urls("redis", name)

    def consume() -> None:
        async def run() -> None:
            with ThreadPoolExecutor(2) as executor:
                consumer = await open_stream_predictor(
                    replica.runtime, "churn", source=source, output=output, dead_letter=None,
                    options=ConsumerOptions(group="lat", consumer="c1", batch_size=500,
                                            max_wait_ms=20),
                    executor=executor,
                )  # fmt: skip
                while not stop.is_set():
                    await consumer.step()
                await consumer.close()

        asyncio.run(run())

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(1.0)  # the group exists before the first event
    client = redis.Redis.from_url(REDIS, decode_responses=True)
    total = int(seconds * rate)
    sent: dict[str, float] = {}

    def produce() -> None:
        producer = redis.Redis.from_url(REDIS)
        start = time.perf_counter()
        for i in range(total):
            due = start + i / rate
            while (now := time.perf_counter()) < due:
                time.sleep(max(0.0, due - now - 0.0002))
            sent[f"l{i}"] = time.perf_counter()
            producer.xadd(name, {"id": f"l{i}", "features": json.dumps(features(i))})
        producer.close()

    writer = threading.Thread(target=produce)
    latencies: list[float] = []
    last = "$"
    writer.start()
    deadline = time.monotonic() + seconds + 30
    while len(latencies) < total and time.monotonic() < deadline:
        answer = client.xread({f"{name}.out": last}, block=200, count=1_000)
        now = time.perf_counter()
        for _, entries in answer or []:
            for entry_id, fields in entries:
                last = entry_id
                latencies.append((now - sent[fields["id"]]) * 1000.0)
    writer.join()
    stop.set()
    thread.join()
    client.close()
    assert len(latencies) == total, f"{len(latencies)} of {total} outputs seen"
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5k events, 2 s of latency")
    parser.add_argument("--no-nats", action="store_true", help="Redis Streams only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    n, naive_n, seconds = (5_000, 1_000, 2.0) if args.quick else (50_000, 5_000, 10.0)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        installation, replica = deployment(Path(tmp) / "home")
        try:
            for scheme in ["redis"] + ([] if args.no_nats else ["nats"]):
                name = f"bench-{uuid.uuid4().hex[:8]}"
                try:
                    if scheme == "redis":
                        fill_redis(name, n)
                        batched = asyncio.run(micro_batched(replica, scheme, name, n))
                        cleanup_redis(name)
                        fill_redis(name, naive_n)
                        naive = asyncio.run(naive_redis(replica, name, naive_n))
                    else:
                        asyncio.run(fill_nats(name, n))
                        batched = asyncio.run(micro_batched(replica, scheme, name, n))
                        asyncio.run(cleanup_nats(name))
                        asyncio.run(fill_nats(name, naive_n))
                        naive = asyncio.run(naive_nats(replica, name, naive_n))
                finally:
                    if scheme == "redis":
                        cleanup_redis(name)
                    else:
                        asyncio.run(cleanup_nats(name))
                results[scheme] = {
                    "micro_batched_msg_s": round(batched[0]),
                    "naive_msg_s": round(naive[0]),
                    "speedup": round(batched[0] / naive[0], 1),
                    # Load-independent: events per CPU-second the consumer process used.
                    "micro_batched_msg_per_cpu_s": round(batched[1]),
                    "naive_msg_per_cpu_s": round(naive[1]),
                }
            name = f"bench-{uuid.uuid4().hex[:8]}"
            try:
                latencies = latency_redis(replica, name, seconds, 1_000)
            finally:
                cleanup_redis(name)
            results["redis"]["latency_at_1k_msg_s_ms"] = {
                "p50": round(float(np.percentile(latencies, 50)), 2),
                "p99": round(float(np.percentile(latencies, 99)), 2),
                "events": len(latencies),
            }
        finally:
            replica.close()
            installation.close()
    results["machine"] = machine_info(load)
    print(f"{'backend':<8} {'micro-batched':>14} {'naive':>8} {'ratio':>6}   per CPU-second")
    for scheme in ("redis", "nats"):
        if scheme in results:
            r = results[scheme]
            print(f"{scheme:<8} {r['micro_batched_msg_s']:>10,} /s {r['naive_msg_s']:>6,} /s "
                  f"{r['speedup']:>5}x   {r['micro_batched_msg_per_cpu_s']:,} vs "
                  f"{r['naive_msg_per_cpu_s']:,}")  # fmt: skip
    lat = results["redis"]["latency_at_1k_msg_s_ms"]
    print(f"redis end-to-end at 1k msg/s: p50 {lat['p50']} ms, p99 {lat['p99']} ms")
    fast = results["redis"]["micro_batched_msg_s"] >= 25_000
    print(f"targets: >= 25,000 msg/s micro-batched ({'met' if fast else 'NOT met'} on Redis); "
          f"p99 <= 20 ms ({'met' if lat['p99'] <= 20 else 'NOT met'})")  # fmt: skip
    print(json.dumps(results["machine"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
