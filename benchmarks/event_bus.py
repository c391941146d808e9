"""Event bus: replica switch latency after a platform event, and bus throughput/latency.

For each backend (embedded on SQLite, embedded on PostgreSQL, Redis Streams, NATS
JetStream) it measures:

- **switch**: a ``podium serve`` replica (``open_replica``, in process) serves
  deployment ``churn`` following ``churn@champion``; the alias moves between versions 1
  and 2 ``--switches`` times, and each time we clock from the commit (``set_alias``
  returned) until the replica answers with the new version. Target p99 < 100 ms. Before
  the bus, a replica polled every second (about 500 ms on average, 1 s at worst).
- **publish**: messages/s of one thread publishing small JSON bodies.
- **group**: messages/s of one consumer draining a consumer group (batches of 100, each
  message acknowledged).
- **end-to-end**: latency from publish to a consumer of a group, at about 100 msg/s.
- **broadcast**: latency from publish to a subscription's handler, at about 200 msg/s.

    python benchmarks/event_bus.py                  # every backend whose server answers
    python benchmarks/event_bus.py --quick --json results.json

Servers come from ``--postgres``, ``--redis`` and ``--nats`` (defaults: the
``PODIUM_TEST_*_URL`` variables, else the usual loopback ports); an unreachable one is
skipped and said so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _machine import machine_info
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.linear_model import LogisticRegression
from sqlalchemy.engine import make_url

from podium.config import Settings
from podium.errors import PodiumError
from podium.events.bus.opening import open_bus
from podium.events.bus.protocol import BusMessage, EventBus
from podium.platform import Installation
from podium.replica import open_replica

console = Console()
FEATURES = {"tenure_months": 24, "monthly_charges": 89.99, "support_calls": 2}


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of ``samples``, in milliseconds."""
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index] * 1000


@contextlib.contextmanager
def postgres_database(base: str) -> Iterator[str]:
    """A scratch PostgreSQL database on the server of ``base``, dropped afterwards."""
    import psycopg

    name = f"podium_bench_bus_{uuid.uuid4().hex[:8]}"
    admin = make_url(base).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- switch latency --------------------------------------------------------------------


def bench_switch(settings: Settings, switches: int) -> dict[str, float]:
    installation = Installation(settings)
    platform = installation.platform(f"bench-{uuid.uuid4().hex[:8]}", user="local:bench")
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
    platform.deployments.create("churn", model="churn@champion")
    replica = open_replica(settings, platform.project, "churn")
    replica.start()
    samples: list[float] = []
    try:
        for i in range(switches):
            target = 2 if i % 2 == 0 else 1
            platform.registry.set_alias("churn", "champion", target)
            committed = time.perf_counter()
            # A cheap look at what serves (a prediction per poll would compete for the
            # GIL with the reload we are timing); a prediction confirms it afterwards.
            while replica.runtime.state("churn").deployment.traffic.stable != target:
                if time.perf_counter() - committed > 60:
                    raise RuntimeError(f"the replica never switched to version {target}")
                time.sleep(0.0005)
            samples.append(time.perf_counter() - committed)
            answer = replica.runtime.predict_sync("churn", features=FEATURES)
            if str(answer["model_version"]) != str(target):
                raise RuntimeError(f"the replica answered {answer['model_version']}, not {target}")
            time.sleep(0.02)  # let the reload's tail settle before the next switch
    finally:
        replica.close()
        installation.close()
    return {
        "p50_ms": pct(samples, 50),
        "p99_ms": pct(samples, 99),
        "max_ms": max(samples) * 1000,
        "n": len(samples),
    }


# --- bus throughput and latency ----------------------------------------------------------


def bench_bus(bus: EventBus, messages: int) -> dict[str, float]:
    topic = f"bench.{uuid.uuid4().hex[:8]}"
    out: dict[str, float] = {}
    try:
        bus.create_group(topic, "drain")
        started = time.perf_counter()
        for n in range(messages):
            bus.publish(topic, {"n": n, "features": FEATURES})
        out["publish_per_s"] = messages / (time.perf_counter() - started)
        started = time.perf_counter()
        seen = 0
        while seen < messages:
            batch = bus.consume(topic, "drain", "c1", max_messages=100, timeout=5)
            if not batch:
                raise RuntimeError(f"the group stopped after {seen} of {messages} messages")
            for message in batch:
                bus.ack(message)
            seen += len(batch)
        out["group_per_s"] = messages / (time.perf_counter() - started)
        out.update(_end_to_end(bus, topic, min(messages, 500)))
        out.update(_broadcast(bus, topic, min(messages, 400)))
    finally:
        bus.delete_topic(topic)
    return out


def _end_to_end(bus: EventBus, topic: str, count: int) -> dict[str, float]:
    bus.create_group(topic, "live", start="latest")
    latencies: list[float] = []
    done = threading.Event()

    def consume() -> None:
        while len(latencies) < count and not done.is_set():
            for message in bus.consume(topic, "live", "c1", max_messages=100, timeout=0.5):
                latencies.append(time.time() - message.body["sent"])
                bus.ack(message)

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.2)
    for n in range(count):
        bus.publish(topic, {"n": n, "sent": time.time()})
        time.sleep(0.01)
    consumer.join(timeout=30)
    done.set()
    return {"e2e_p50_ms": pct(latencies, 50), "e2e_p99_ms": pct(latencies, 99)}


def _broadcast(bus: EventBus, topic: str, count: int) -> dict[str, float]:
    latencies: list[float] = []

    def heard(message: BusMessage) -> None:
        latencies.append(time.time() - message.body["sent"])

    subscription = bus.subscribe(topic, heard)
    try:
        for n in range(count):
            bus.publish(topic, {"n": n, "sent": time.time()})
            time.sleep(0.005)
        deadline = time.monotonic() + 10
        while len(latencies) < count and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        subscription.close()
    return {"broadcast_p50_ms": pct(latencies, 50), "broadcast_p99_ms": pct(latencies, 99)}


# --- the run -------------------------------------------------------------------------------


def backends(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> dict[str, Any]:
    """Name -> (database URL, events URL) of every backend that answers."""
    found: dict[str, Any] = {"embedded-sqlite": (f"sqlite:///{tmp / 'podium.db'}", None)}
    try:
        found["embedded-postgres"] = (stack.enter_context(postgres_database(args.postgres)), None)
    except Exception as exc:  # an unreachable server is reported and skipped
        console.print(f"[yellow]skipping PostgreSQL ({args.postgres}): {exc}")
    for name, url in (("redis", args.redis), ("nats", args.nats)):
        try:
            open_bus(url).close()
            found[name] = (f"sqlite:///{tmp / f'podium-{name}.db'}", url)
        except PodiumError as exc:
            console.print(f"[yellow]skipping {name} ({url}): {exc}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument(
        "--postgres",
        default=env("PODIUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--redis", default=env("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--nats", default=env("PODIUM_TEST_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="10 switches, 500 messages")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--only", nargs="*", help="backends to run, e.g. redis nats")
    args = parser.parse_args(argv)
    if args.quick:
        args.switches, args.messages = 10, 500
    load_before = os.getloadavg()[0]
    results: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="podium-bench-bus-") as tmp_dir,
        contextlib.ExitStack() as stack,
    ):
        tmp = Path(tmp_dir)
        found = backends(args, tmp, stack)
        if args.only:
            found = {name: urls for name, urls in found.items() if name in args.only}
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("event bus", total=len(found) * 2)
            for name, (database_url, events_url) in found.items():
                progress.update(task, description=f"{name}: switches")
                settings = Settings(
                    home=tmp / name, database_url=database_url, events_url=events_url
                )
                row = {f"switch_{k}": v for k, v in bench_switch(settings, args.switches).items()}
                progress.advance(task)
                progress.update(task, description=f"{name}: bus")
                if events_url is None:
                    installation = Installation(settings)
                    bus = open_bus(None, database=installation.db)
                else:
                    installation, bus = None, open_bus(events_url)
                try:
                    row.update(bench_bus(bus, args.messages))
                finally:
                    bus.close()
                    if installation is not None:
                        installation.close()
                progress.advance(task)
                results[name] = row
    info = machine_info(load_before)
    console.print(", ".join(f"{k}: {v}" for k, v in info.items()))
    table = Table(title=f"Event bus ({args.switches} switches, {args.messages:,} messages)")
    for column in (
        "backend",
        "switch p50 ms",
        "switch p99 ms",
        "p99 < 100 ms",
        "publish msg/s",
        "group msg/s",
        "e2e p50 ms",
        "e2e p99 ms",
        "broadcast p50 ms",
        "broadcast p99 ms",
    ):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for name, row in results.items():
        table.add_row(
            name,
            f"{row['switch_p50_ms']:.1f}",
            f"{row['switch_p99_ms']:.1f}",
            "yes" if row["switch_p99_ms"] < 100 else "NO",
            f"{row['publish_per_s']:,.0f}",
            f"{row['group_per_s']:,.0f}",
            f"{row['e2e_p50_ms']:.2f}",
            f"{row['e2e_p99_ms']:.2f}",
            f"{row['broadcast_p50_ms']:.2f}",
            f"{row['broadcast_p99_ms']:.2f}",
        )
    Console(width=160).print(table)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    return 0 if all(r["switch_p99_ms"] < 100 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
