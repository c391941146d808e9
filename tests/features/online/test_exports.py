"""The online store package's public names are curated: this fails when they drift."""

from __future__ import annotations

import podium.features.online
import podium.testing.online_store


def test_exported_members_are_exactly_the_documented_ones() -> None:
    assert set(podium.features.online.__all__) == {
        "OnlineStore",
        "RedisOnlineStore",
        "SQLiteOnlineStore",
        "default_online_store_url",
        "open_online_store",
    }
    assert podium.testing.online_store.__all__ == ["OnlineStoreContract"]
    for name in podium.features.online.__all__:
        assert hasattr(podium.features.online, name), name
