"""The online store contract (podium.testing.online_store) on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.features.online import OnlineStore, RedisOnlineStore, SQLiteOnlineStore
from podium.testing.online_store import OnlineStoreContract


class TestSQLiteOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[OnlineStore]:
        store = SQLiteOnlineStore(tmp_path / "online.db")
        yield store
        store.close()


class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, redis_store: RedisOnlineStore) -> OnlineStore:
        return redis_store
