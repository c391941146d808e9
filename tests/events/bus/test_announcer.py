"""Platform events on the bus: published as they commit, caught up by the dispatcher."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from podium.events.bus.embedded import EmbeddedEventBus
from podium.events.bus.opening import PLATFORM_TOPIC
from podium.events.bus.protocol import BusMessage
from podium.events.dispatcher import EventDispatcher
from podium.events.outbox import record_event
from podium.platform import Installation
from podium.store.database import Database


@pytest.fixture
def heard(installation: Installation) -> Iterator[list[BusMessage]]:
    """What a subscriber of ``podium.events`` on the installation's bus receives."""
    bus = EmbeddedEventBus(installation.db)
    got: list[BusMessage] = []
    sub = bus.subscribe(PLATFORM_TOPIC, got.append)
    yield got
    sub.close()
    bus.close()


def _record(db: Database, project_id: int, subject: str, *, fail: bool = False) -> None:
    with db.write() as session:
        record_event(
            session,
            project_id=project_id,
            type="model.stage_changed",
            subject=subject,
            payload={"model": "churn", "version": 3},
            actor="local:test",
        )
        if fail:
            raise RuntimeError("the change failed")


def _wait(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)


def test_a_committed_event_is_on_the_bus_within_milliseconds(
    installation: Installation, heard: list[BusMessage]
) -> None:
    project = installation.projects.ensure(f"t-{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    _record(installation.db, project.id, "churn/3")
    _wait(lambda: heard)
    elapsed = time.monotonic() - started
    [message] = heard
    assert message.body["project"] == project.name
    assert message.body["type"] == "model.stage_changed"
    assert message.body["subject"] == "churn/3"
    assert message.body["payload"] == {"model": "churn", "version": 3}
    assert isinstance(message.body["id"], int)  # the outbox id: repeats are recognisable
    assert elapsed < 0.5, f"the event took {elapsed * 1000:.0f} ms to reach the bus"


def test_a_rolled_back_event_is_never_published(
    installation: Installation, heard: list[BusMessage]
) -> None:
    project = installation.projects.ensure(f"t-{uuid.uuid4().hex[:8]}")
    with pytest.raises(RuntimeError):
        _record(installation.db, project.id, "churn/1", fail=True)
    _record(installation.db, project.id, "churn/2")
    _wait(lambda: heard)
    assert installation.announcer.flush()
    time.sleep(0.1)
    assert [m.body["subject"] for m in heard] == ["churn/2"]


def test_the_dispatcher_publishes_what_no_announcer_did_and_nothing_twice(
    installation: Installation, heard: list[BusMessage]
) -> None:
    project = installation.projects.ensure(f"t-{uuid.uuid4().hex[:8]}")
    # Another process (its own engine, no announcer) commits an event: nobody publishes it.
    other = Database(installation.settings.resolved_database_url)
    try:
        _record(other, project.id, "churn/missed")
    finally:
        other.dispose()
    _record(installation.db, project.id, "churn/announced")
    _wait(lambda: heard)
    assert installation.announcer.flush()
    assert [m.body["subject"] for m in heard] == ["churn/announced"]
    dispatcher = EventDispatcher(installation.db)
    dispatcher.subscribe(installation.announcer.catch_up)
    try:
        while dispatcher.dispatch_once():
            pass
    finally:
        dispatcher.stop(timeout=5)
    _wait(lambda: len(heard) >= 2)
    time.sleep(0.1)
    mine = [m.body["subject"] for m in heard if m.body["project"] == project.name]
    assert sorted(mine) == ["churn/announced", "churn/missed"]


def test_events_of_concurrent_writers_are_all_published(
    installation: Installation, heard: list[BusMessage]
) -> None:
    project = installation.projects.ensure(f"t-{uuid.uuid4().hex[:8]}")

    def write(n: int) -> None:
        for i in range(5):
            _record(installation.db, project.id, f"churn/{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait(lambda: len(heard) >= 20)
    assert sorted(m.body["subject"] for m in heard) == sorted(
        f"churn/{n}-{i}" for n in range(4) for i in range(5)
    )
