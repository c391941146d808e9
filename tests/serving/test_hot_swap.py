"""Versions change under load over a real socket with zero failed requests.

A bounded loop of concurrent clients posts predictions to a live server on loopback while
the deployment is switched blue-green, rolled back during a canary, promoted, and moved by
a registry alias event; every request must answer 200, and the new version must serve.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from podium.access.roles import Role
from podium.events import EventDispatcher
from podium.platform import Platform
from podium.serving.control.events import ServingEvents
from tests.conftest import LiveServer
from tests.serving.conftest import FEATURES

CLIENTS = 4


@dataclass
class Load:
    """What the clients saw: status codes and the versions that answered, in order."""

    statuses: Counter[int] = field(default_factory=Counter)
    versions: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def served_since(self, start: int) -> set[str]:
        with self.lock:
            return set(self.versions[start:])

    def last(self, count: int) -> list[str]:
        with self.lock:
            return self.versions[-count:]


@contextmanager
def load(url: str, key: str) -> Iterator[Load]:
    seen = Load()
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        # Generous timeouts: on a loaded CI machine a slow answer is not a failed one.
        with httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            while not stop.is_set():
                features = {**FEATURES, "tenure_months": rng.randint(1, 72)}
                try:
                    response = http.post(
                        "/v1/predictions", json={"model_id": "churn", "features": features}
                    )
                    status = response.status_code
                    version = response.json().get("model_version", "") if status == 200 else ""
                except httpx.HTTPError:
                    status, version = 0, ""
                with seen.lock:
                    seen.statuses[status] += 1
                    if version:
                        seen.versions.append(version)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def settle(seen: Load, version: str) -> None:
    """Wait until only ``version`` answers, then keep the load on a while longer.

    A deadline, not a speed check: on two loaded cores (the whole suite under xdist, plus
    this test's load threads) the event, the resync and the reload took over 10 s once.
    """
    wait_for(lambda: seen.last(20) == [version] * 20, timeout=30.0)
    time.sleep(0.3)


def change(live_server: LiveServer, key: str, path: str, body: object) -> None:
    response = httpx.post(
        f"{live_server.url}/v1/deployments/churn/{path}",
        json=body,
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_blue_green_switch_under_load(churn_models: Platform, live_server: LiveServer) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    reader = live_server.key(churn_models.project, Role.READER)
    writer = live_server.key(churn_models.project, Role.WRITER)
    with load(live_server.url, reader) as seen:
        wait_for(lambda: len(seen.versions) > 20)
        change(live_server, writer, "stage", {"version": 2})
        time.sleep(0.5)
        change(live_server, writer, "switch", {})
        settle(seen, "2")
    assert set(seen.statuses) == {200}, seen.statuses
    assert seen.versions[0] == "1" and seen.versions[-1] == "2"


def test_canary_rollback_under_load(churn_models: Platform, live_server: LiveServer) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    reader = live_server.key(churn_models.project, Role.READER)
    writer = live_server.key(churn_models.project, Role.WRITER)
    with load(live_server.url, reader) as seen:
        wait_for(lambda: len(seen.versions) > 20)
        change(live_server, writer, "canary", {"version": 2, "weight": 0.5, "auto": False})
        wait_for(lambda: "2" in seen.served_since(0))
        change(live_server, writer, "rollback", {"reason": "test"})
        settle(seen, "1")
    assert set(seen.statuses) == {200}, seen.statuses
    assert set(seen.versions) == {"1", "2"}


def test_promotion_under_load(churn_models: Platform, live_server: LiveServer) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    reader = live_server.key(churn_models.project, Role.READER)
    writer = live_server.key(churn_models.project, Role.WRITER)
    with load(live_server.url, reader) as seen:
        wait_for(lambda: len(seen.versions) > 20)
        change(live_server, writer, "canary", {"version": 2, "weight": 0.25, "auto": False})
        wait_for(lambda: "2" in seen.served_since(0))
        change(live_server, writer, "promote", {})
        settle(seen, "2")
    assert set(seen.statuses) == {200}, seen.statuses


def test_a_registry_alias_event_moves_the_deployment_under_load(
    churn_models: Platform, live_server: LiveServer
) -> None:
    installation = live_server.installation
    churn_models.registry.set_alias("churn", "champion", 1)
    churn_models.deployments.create("churn", model="churn@champion")
    dispatcher = EventDispatcher(installation.db)
    # Drain the events so far first, with nobody listening: on PostgreSQL every test of
    # this worker shares one database, and other tests' backlog is not this test's.
    while dispatcher.dispatch_once():
        pass
    dispatcher.subscribe(
        ServingEvents(installation.loaded_runtime, installation.serving_deployments)
    )
    dispatcher.start()
    try:
        reader = live_server.key(churn_models.project, Role.READER)
        with load(live_server.url, reader) as seen:
            wait_for(lambda: len(seen.versions) > 20)
            churn_models.registry.set_alias("churn", "champion", 2)
            settle(seen, "2")
    finally:
        dispatcher.stop(timeout=5)
    assert set(seen.statuses) == {200}, seen.statuses
    assert churn_models.deployments.get("churn").traffic.stable == 2
