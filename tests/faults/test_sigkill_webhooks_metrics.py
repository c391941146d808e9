"""SIGKILL of ``podium up`` while it delivers a webhook and while metric points stream in.

The kill lands during a delivery deterministically: the loopback receiver holds the
first request it gets open, and the test kills the server only once it sees that request
arrive (and some metric batches acknowledged). Guarantees checked after a restart:

* webhooks are delivered **at least once**: every outbox event reaches the receiver,
  and any repeat carries the same event id, so a receiver that dedupes by id sees each
  event exactly once (unique ids == events);
* metric points are **exactly once for what was acknowledged**: every batch answered
  204 is present once; the one batch in flight at the kill is there whole or not at all.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from sklearn.linear_model import LogisticRegression

from podium.config import Settings
from podium.platform import Installation
from tests.conftest import postgres_database
from tests.faults.conftest import podium_up, server_environment, wait_for
from tests.serving.conftest import churn_frame

BATCH = 10  # metric points per request


class Receiver:
    """A loopback webhook receiver that records every request and holds the first one."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, str]] = []  # (event id, delivery id)
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def handle(self, body: bytes, delivery: str) -> None:
        with self._lock:
            self.requests.append((int(json.loads(body)["id"]), delivery))
            first = len(self.requests) == 1
        if first:
            self.holding.set()
            self.release.wait(60)


@contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.handle(body, self.headers.get("X-Podium-Delivery", ""))
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass  # the server died while we held its request

        def log_message(self, *args: object) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{http.server_address[1]}/hook"
    finally:
        receiver.release.set()
        http.shutdown()
        http.server_close()


def _prepare(home: Path, database: str, hook: str) -> None:
    """A model, a few alias moves (events in the outbox) and a webhook for every type."""
    installation = Installation(Settings(home=home, database_url=database))
    try:
        platform = installation.platform("default", user="local:test")
        platform.webhooks.create(hook, allow_http=True)
        frame, labels = churn_frame()
        model = LogisticRegression(max_iter=300).fit(frame.to_numpy(), labels)
        platform.registry.register("churn", model, input_example=frame[:5])
        for alias in ("champion", "challenger", "shadow", "canary"):
            platform.registry.set_alias("churn", alias, 1)
    finally:
        installation.close()


class MetricLogger:
    """Posts metric batches (steps ``i*BATCH .. i*BATCH+BATCH-1``) until stopped."""

    def __init__(self, url: str, headers: dict[str, str], run_id: str) -> None:
        self.acknowledged: list[int] = []
        self.in_flight: int | None = None
        self._stop = threading.Event()
        self._args = (url, headers, run_id)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        url, headers, run_id = self._args
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for i in range(100_000):
                if self._stop.is_set():
                    return
                points = [
                    {"key": "loss", "value": float(s), "step": s, "timestamp": 1_700_000_000_000}
                    for s in range(i * BATCH, (i + 1) * BATCH)
                ]
                self.in_flight = i
                try:
                    answer = client.post(f"/v1/runs/{run_id}/metrics", json={"metrics": points})
                except httpx.HTTPError:
                    return  # the server is gone: batch i was never acknowledged
                assert answer.status_code == 204, answer.text
                self.acknowledged.append(i)
                self.in_flight = None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def test_webhooks_and_metric_points_survive_a_sigkill_mid_delivery(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with (
        postgres_database("podium_faults_hooks") as database,
        receiving() as (receiver, hook),
        psycopg.connect(database, autocommit=True) as db,
    ):
        _prepare(home, database, hook)
        env = server_environment(home, database_url=database, scheduler="off")
        with podium_up(env) as server:
            client = httpx.Client(base_url=server.url, headers=server.headers, timeout=60)
            assert client.post("/v1/experiments", json={"name": "faults"}).status_code == 201
            run = client.post("/v1/runs", json={"experiment": "faults"})
            assert run.status_code == 201, run.text
            run_id = run.json()["id"]
            client.close()
            metrics = MetricLogger(server.url, server.headers, run_id)
            assert receiver.holding.wait(60), "the dispatcher never delivered"
            wait_for(lambda: len(metrics.acknowledged) >= 5, 60, "metric batches answered")
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=30)
            metrics.stop()
            receiver.release.set()

        # The killed server's lease on its in-flight delivery would let a restarted
        # server retry it after timeout*4 + 30 s; expire it now, as that time would.
        db.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second' "
            "WHERE status <> 'delivered'"
        )
        with podium_up(env):
            undelivered = "SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"
            wait_for(lambda: db.execute(undelivered).fetchone() == (0,), 60, "redelivery")

        events = {int(str(r[0])) for r in db.execute("SELECT id FROM events_outbox").fetchall()}
        deliveries = db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()
        assert deliveries == (len(events),)  # one delivery row per event
        received = [event for event, _ in receiver.requests]
        assert set(received) == events  # nothing lost; dedupe by id leaves each once
        by_delivery: dict[str, set[int]] = {}
        for event, delivery in receiver.requests:
            by_delivery.setdefault(delivery, set()).add(event)
        assert all(len(ids) == 1 for ids in by_delivery.values())  # repeats keep their id
        assert len(received) > len(events)  # the held delivery was retried

        counts: dict[int, int] = dict(
            db.execute(
                "SELECT step, count(*) FROM metrics WHERE run_id = %s GROUP BY step", (run_id,)
            ).fetchall()
        )
        assert set(counts.values()) == {1}  # no point twice
        expected = {s for i in metrics.acknowledged for s in range(i * BATCH, (i + 1) * BATCH)}
        stored = set(counts)
        assert expected <= stored  # every acknowledged point is there
        extra = stored - expected
        if extra:  # the batch in flight at the kill, whole
            i = metrics.in_flight
            assert i is not None and extra == set(range(i * BATCH, (i + 1) * BATCH))
