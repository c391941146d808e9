"""Choosing the bus by URL, and what happens when it is wrong or down."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from podium.config import Settings
from podium.errors import BackendUnavailableError, InvalidInputError
from podium.events.bus.embedded import EmbeddedEventBus
from podium.events.bus.opening import open_bus
from podium.events.outbox import record_event
from podium.platform import Installation


def test_the_setting_comes_from_podium_events_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_EVENTS_URL", "nats://bus:4222")
    assert Settings().events_url == "nats://bus:4222"
    assert Settings(_env_file=None).redacted()["events_url"] == "nats://bus:4222"


def test_an_unknown_scheme_names_the_ones_podium_knows() -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_bus("kafka://broker:9092")
    assert caught.value.field == "PODIUM_EVENTS_URL"
    assert "redis://" in str(caught.value.remedy) and "nats://" in str(caught.value.remedy)


def test_the_embedded_bus_needs_a_database() -> None:
    with pytest.raises(InvalidInputError):
        open_bus(None)


def test_a_database_url_opens_an_embedded_bus(tmp_path: Path) -> None:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.db'}")
    try:
        assert isinstance(bus, EmbeddedEventBus)
        assert bus.publish("t", {"a": 1})
    finally:
        bus.close()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "nats://127.0.0.1:1"])
def test_a_bus_that_does_not_answer_is_a_clear_error(url: str) -> None:
    with pytest.raises(BackendUnavailableError) as caught:
        open_bus(url)
    assert "does not answer" in caught.value.message
    assert "PODIUM_EVENTS_URL" in str(caught.value.remedy)


def test_changes_commit_when_the_bus_is_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'podium.db'}",
        events_url="redis://127.0.0.1:1/0",
    )
    installation = Installation(settings)
    try:
        project = installation.projects.ensure(f"t-{uuid.uuid4().hex[:8]}")
        with caplog.at_level(logging.ERROR), installation.db.write() as session:
            record_event(
                session,
                project_id=project.id,
                type="model.stage_changed",
                subject="churn/1",
                payload={"model": "churn"},
                actor="local:test",
            )
        assert installation.announcer.flush(timeout=10)
        assert "announcing platform events" in caplog.text
        platform = installation.platform(project.name, user="local:test")
        assert platform.project == project.name  # the installation still works
    finally:
        installation.close()
