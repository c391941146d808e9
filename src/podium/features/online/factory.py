"""Open the online store a URL names: a SQLite file (embedded default) or a Redis server."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from podium.errors import InvalidInputError
from podium.features.online.protocol import OnlineStore
from podium.features.online.redis import DEFAULT_KEY_PREFIX, RedisOnlineStore, redact_url
from podium.features.online.sqlite import SQLiteOnlineStore

__all__ = ["default_online_store_url", "open_online_store"]

_SCHEMES = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, "
    "redis://[:password@]host:6379/0 or rediss:// (TLS)"
)


def default_online_store_url(home: Path) -> str:
    """The embedded default: ``sqlite:///`` and the absolute path of ``home/online.db``."""
    return f"sqlite:///{(home / 'online.db').resolve()}"


def open_online_store(url: str) -> OnlineStore:
    """The online store at ``url`` (``PODIUM_ONLINE_STORE_URL``).

    * ``sqlite:///path/online.db`` (relative) or ``sqlite:////abs/online.db``: a
      :class:`~podium.features.online.SQLiteOnlineStore`, file and folder created on use.
    * ``redis://`` or ``rediss://`` (TLS): a
      :class:`~podium.features.online.RedisOnlineStore`; an optional ``key_prefix`` query
      option (``redis://host/0?key_prefix=team-a:``) sets its key prefix, other query
      options go to redis-py.

    Raises:
        InvalidInputError: (field ``online_store_url``) an unsupported scheme, an
            in-memory or malformed SQLite URL.
        BackendUnavailableError: the file cannot be opened or the server does not answer.
        MissingDependencyError: a Redis URL without ``podium[redis]`` installed.
    """
    if not isinstance(url, str) or not url.strip():
        _refuse(url, "it is empty")
    scheme, sep, rest = url.partition("://")
    if not sep:
        _refuse(url, "it has no scheme")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            _refuse(url, "it names no file (the form is sqlite:///path)")
        path = rest[1:]
        if "?" in path or "#" in path:
            _refuse(url, "it has a '?' or '#' part")
        if path in (":memory:", "") or path.startswith("file:"):
            _refuse(url, "an in-memory database is not shared between threads")
        return SQLiteOnlineStore(Path(path))
    if scheme in ("redis", "rediss"):
        parts = urlsplit(url)
        options = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [value for name, value in options if name == "key_prefix"]
        rest_query = urlencode([(name, value) for name, value in options if name != "key_prefix"])
        return RedisOnlineStore(
            urlunsplit(parts._replace(query=rest_query)),
            key_prefix=prefixes[-1] if prefixes else DEFAULT_KEY_PREFIX,
        )
    _refuse(url, f"the scheme {scheme!r} is not supported")


def _refuse(url: object, reason: str) -> NoReturn:
    shown = redact_url(url) if isinstance(url, str) else url
    raise InvalidInputError(
        f"cannot open an online store at {shown!r}: {reason}",
        field="online_store_url",
        remedy=f"set PODIUM_ONLINE_STORE_URL to {_SCHEMES}",
    )
