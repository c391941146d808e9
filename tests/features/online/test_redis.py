"""What is particular to the Redis online store: its key layout and its failures."""

from __future__ import annotations

import socket

import pytest
import redis

from podium.errors import BackendUnavailableError, ConflictError
from podium.features.online import RedisOnlineStore

T0 = 1_700_000_000_000_000


def test_a_table_is_one_hash_under_the_key_prefix(
    redis_store: RedisOnlineStore, redis_url: str, redis_prefix: str
) -> None:
    redis_store.write("churn/stats/v1", ["1\x1fa", "2\x1fb"], [T0, T0], ["{}", "{}"])
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.type(f"{redis_prefix}churn/stats/v1") == b"hash"
        assert client.hlen(f"{redis_prefix}churn/stats/v1") == 2
        redis_store.drop("churn/stats/v1")
        assert client.exists(f"{redis_prefix}churn/stats/v1") == 0
    finally:
        client.close()


def test_a_foreign_key_under_the_prefix_is_a_conflict(
    redis_store: RedisOnlineStore, redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{redis_prefix}taken", "not a hash")
    finally:
        client.close()
    with pytest.raises(ConflictError) as caught:
        redis_store.write("taken", ["k"], [T0], ["{}"])
    assert "key_prefix" in (caught.value.remedy or "")
    with pytest.raises(ConflictError):
        redis_store.read("taken", ["k"])


def test_a_server_gone_during_use_is_backend_unavailable(redis_url: str) -> None:
    store = RedisOnlineStore(redis_url, key_prefix="podium-test:gone:")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = int(sock.getsockname()[1])
    pool = store._client.connection_pool
    pool.connection_kwargs.update(host="127.0.0.1", port=closed_port)
    pool.reset()  # forget the open connections: the next command dials the closed port
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            store.read("t", ["k"])
        assert "PODIUM_ONLINE_STORE_URL" in (caught.value.remedy or "")
        with pytest.raises(BackendUnavailableError):
            store.write("t", ["k"], [T0], ["{}"])
    finally:
        store.close()


def test_wrong_credentials_are_backend_unavailable_without_the_password(redis_url: str) -> None:
    scheme, _, rest = redis_url.partition("://")
    host = rest.rpartition("@")[2]
    with pytest.raises(BackendUnavailableError) as caught:
        RedisOnlineStore(f"{scheme}://podium-nobody:hunter2@{host}")
    assert "credentials" in str(caught.value)
    assert "hunter2" not in str(caught.value)
