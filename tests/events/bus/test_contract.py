"""The event bus contract (podium.testing.event_bus) on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.events.bus.embedded import EmbeddedEventBus
from podium.events.bus.opening import open_bus
from podium.events.bus.protocol import EventBus
from podium.store.database import Database
from podium.testing.event_bus import EventBusContract


class TestEmbeddedEventBusOnSQLite(EventBusContract):
    @pytest.fixture
    def bus(self, tmp_path: Path) -> Iterator[EventBus]:
        db = Database(f"sqlite:///{tmp_path / 'podium.db'}")
        db.upgrade()
        bus = EmbeddedEventBus(db)
        yield bus
        bus.close()
        db.dispose()


class TestEmbeddedEventBusOnPostgreSQL(EventBusContract):
    @pytest.fixture
    def bus(self, postgres_url: str) -> Iterator[EventBus]:
        bus = open_bus(postgres_url)  # migrates the worker's database once
        yield bus
        bus.close()


class TestRedisEventBus(EventBusContract):
    @pytest.fixture
    def bus(self, redis_url: str) -> Iterator[EventBus]:
        bus = open_bus(redis_url)
        yield bus
        bus.close()


class TestNatsEventBus(EventBusContract):
    @pytest.fixture
    def bus(self, nats_url: str) -> Iterator[EventBus]:
        bus = open_bus(nats_url)
        yield bus
        bus.close()
