"""``podium up`` follows platform events on the bus: a switch reaches its loaded runtime
at once, not at the dispatcher's next poll.

The server is an installation of its own (as ``podium up`` is a process of its own) with
the server's wiring (:func:`podium.api.server.follow_serving_events`) on the embedded bus
on SQLite; another installation on the same database makes the changes. First with the
server's dispatcher *not* running, so only the bus can bring the event; then with both
running, where each event is handled once and the result is the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.api.server import follow_serving_events
from podium.config import Settings
from podium.events import EventDispatcher
from podium.platform import Installation, Platform
from tests.events.bus.test_replica_follows import FEATURES, SWITCH_LIMIT, churn

__all__ = ["churn"]  # the fixture, shared with the replica's test


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """SQLite metadata, so the embedded bus is the one the server opens."""
    return Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'podium.db'}")


@pytest.fixture
def server(settings: Settings) -> Iterator[Installation]:
    """The server's own installation (the fixture ``installation`` is the writer's)."""
    found = Installation(settings)
    yield found
    found.close()


@pytest.fixture
def dispatcher(server: Installation) -> Iterator[EventDispatcher]:
    found = EventDispatcher(server.db)
    yield found
    found.stop(timeout=5)


@pytest.fixture
def served(churn: Platform, server: Installation) -> Platform:
    """Deployment ``churn`` following ``churn@champion``, loaded in the server's runtime;
    the server's view of the project."""
    churn.deployments.create("churn", model="churn@champion")
    platform = server.platform(churn.project, user="local:test")
    assert _version(platform) == "1"
    assert server.loaded_runtime(churn.project) is not None
    return platform


def _version(platform: Platform) -> str:
    return str(platform.predict("churn", features=FEATURES)["model_version"])


def _seconds_until(platform: Platform, version: str, *, limit: float = 10.0) -> float:
    started = time.monotonic()
    while _version(platform) != version:
        if time.monotonic() - started > limit:
            pytest.fail(f"the server's runtime never switched to version {version}")
        time.sleep(0.005)
    return time.monotonic() - started


def test_the_bus_alone_switches_the_servers_runtime_at_once(
    churn: Platform, served: Platform, server: Installation, dispatcher: EventDispatcher
) -> None:
    stop = follow_serving_events(server, dispatcher)  # the dispatcher is not started
    try:
        churn.registry.set_alias("churn", "champion", 2)
        assert _seconds_until(served, "2") < SWITCH_LIMIT
        churn.deployments.update("churn", model="churn/1")
        assert _seconds_until(served, "1") < SWITCH_LIMIT
    finally:
        stop()
    # Following stopped: nothing reloads the server's runtime any more.
    churn.deployments.update("churn", model="churn/2")
    time.sleep(0.5)
    assert _version(served) == "1"


def test_the_dispatchers_copy_of_an_event_the_bus_brought_is_skipped(
    churn: Platform, served: Platform, server: Installation, dispatcher: EventDispatcher
) -> None:
    stop = follow_serving_events(server, dispatcher)
    try:
        dispatcher.dispatch_once()  # the backlog from before the server followed the bus
        churn.deployments.update("churn", model="churn/2")
        assert _seconds_until(served, "2") < SWITCH_LIMIT
        runtime = server.loaded_runtime(churn.project)
        assert runtime is not None
        time.sleep(0.3)  # let any reload the bus started finish
        before = runtime.state("churn")
        assert dispatcher.dispatch_once() > 0  # the same events again, from the outbox
        time.sleep(0.5)
        assert runtime.state("churn") is before  # not reloaded a second time
        assert _version(served) == "2"
    finally:
        stop()
