"""open_online_store: the URL schemes it accepts, the ones it refuses, and the default."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from podium.errors import BackendUnavailableError, InvalidInputError, MissingDependencyError
from podium.features.online import (
    RedisOnlineStore,
    SQLiteOnlineStore,
    default_online_store_url,
    open_online_store,
)
from podium.features.online.redis import DEFAULT_KEY_PREFIX, redact_url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_default_is_a_sqlite_file_under_home(tmp_path: Path) -> None:
    url = default_online_store_url(tmp_path / "home")
    assert url == f"sqlite:///{(tmp_path / 'home' / 'online.db').resolve()}"
    store = open_online_store(url)
    try:
        assert isinstance(store, SQLiteOnlineStore)
        assert store.path == (tmp_path / "home" / "online.db").resolve()
        assert store.path.exists()
        assert store.url == url
    finally:
        store.close()


def test_a_relative_sqlite_path_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_online_store("sqlite:///state/online.db")
    try:
        assert isinstance(store, SQLiteOnlineStore)
        assert store.path == (tmp_path / "state" / "online.db").resolve()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("online.db", "no scheme"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("sqlite://host/online.db", "names no file"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///online.db?mode=ro", "'?'"),
        ("postgresql://user:secret@db/podium", "'postgresql' is not supported"),
        ("memcached://cache:11211", "'memcached' is not supported"),
    ],
)
def test_unsupported_urls_are_refused_naming_the_supported_schemes(url: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_online_store(url)
    error = caught.value
    assert error.field == "online_store_url"
    assert reason in error.message
    assert "secret" not in str(error)
    assert error.remedy is not None
    assert "sqlite:///" in error.remedy and "redis://" in error.remedy


def test_a_redis_url_opens_a_redis_store_with_its_key_prefix_option(redis_url: str) -> None:
    separator = "&" if "?" in redis_url else "?"
    store = open_online_store(f"{redis_url}{separator}key_prefix=team-a:&socket_timeout=3")
    try:
        assert isinstance(store, RedisOnlineStore)
        assert store.key_prefix == "team-a:"
        assert store.read("never/written/v1", ["k"]) == [None]
    finally:
        store.close()
    plain = open_online_store(redis_url)
    try:
        assert isinstance(plain, RedisOnlineStore)
        assert plain.key_prefix == DEFAULT_KEY_PREFIX
    finally:
        plain.close()


def test_an_unreachable_redis_is_backend_unavailable_with_the_url_redacted() -> None:
    port = _closed_port()
    with pytest.raises(BackendUnavailableError) as caught:
        open_online_store(f"redis://:hunter2@127.0.0.1:{port}/0")
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in (caught.value.remedy or "")
    assert "hunter2" not in text
    assert "********" in text


def test_a_redis_url_without_the_redis_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # makes `import redis` fail
    with pytest.raises(MissingDependencyError) as caught:
        open_online_store("redis://127.0.0.1:6379/0")
    assert isinstance(caught.value, ImportError)
    assert caught.value.remedy == "pip install 'podium[redis]'"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:********@host:6379/0"),
        (
            "rediss://user:p%40ss@host/1?ssl_cert_reqs=none",
            "rediss://user:********@host/1?ssl_cert_reqs=none",
        ),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host", "redis://user@host"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
