"""The production online store on Redis: one hash per table, newest-wins writes in Lua.

Each online table is one Redis hash, ``<key_prefix><table>``, whose fields are the entity
keys and whose values are the event time (20 fixed-width digits, offset so that string
order is time order) followed by the payload. So a read of any number of keys is one
``HMGET``, ``count`` is ``HLEN`` and ``drop`` is ``UNLINK``. Writes run a Lua script
(``EVALSHA``) over 1,000 rows at a time, pipelined: the script reads the stored values with
one ``HMGET``, keeps a row only when it is as new as or newer than the stored one (and the
rows before it in the call), and sets the winners with one ``HSET``, atomically, so late
rows never win.

A table is one hash, so in Redis Cluster one table lives on one shard.

The ``redis`` package is the optional extra ``podium[redis]``, imported when a store is
built, so podium imports without it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from podium.errors import (
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    MissingDependencyError,
)
from podium.features.online.protocol import check_keys, check_rows, check_table

__all__ = ["DEFAULT_KEY_PREFIX", "RedisOnlineStore", "redact_url"]

DEFAULT_KEY_PREFIX = "podium:online:"
"""Prepended to every table's hash key, so podium's keys never mix with others'."""

_TS_BIAS = 2**63  # int64 times become 0 .. 2**64-1: 20 digits, string order = time order
_TS_WIDTH = 20
_WRITE_CHUNK = 1_000  # rows per script call, which blocks Redis for a few milliseconds

_UPSERT_NEWER = """
local fields = {}
for i = 1, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local winners = {}
local updates = {}
local n = 0
for i = 1, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  local current = winners[field] or stored[(i + 1) / 2]
  if (not current) or string.sub(current, 1, 20) <= string.sub(value, 1, 20) then
    if not winners[field] then
      updates[#updates + 1] = field
    end
    winners[field] = value
    n = n + 1
  end
end
if #updates > 0 then
  local args = {}
  for _, field in ipairs(updates) do
    args[#args + 1] = field
    args[#args + 1] = winners[field]
  end
  redis.call('HSET', KEYS[1], unpack(args))
end
return n
"""


class RedisOnlineStore:
    """An online store in the Redis server at ``url`` (``redis://`` or ``rediss://``).

    Safe to share between threads: commands go through a thread-safe connection pool.

    Args:
        url: e.g. ``redis://:password@host:6379/0``; query options of redis-py
            (``?socket_timeout=2``) are honoured.
        key_prefix: prepended to every table's key; give installations that share one
            Redis database different prefixes.
        connect_timeout: seconds to wait for a connection unless the URL says otherwise.
        timeout: seconds to wait for a reply unless the URL says otherwise.

    Raises:
        MissingDependencyError: the ``redis`` package is not installed.
        InvalidInputError: (field ``online_store_url``) the URL cannot be parsed.
        BackendUnavailableError: the server does not answer or refuses the credentials;
            the same error comes from any later call when it goes away.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        connect_timeout: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        try:
            import redis as redis_lib
        except ImportError as exc:
            raise MissingDependencyError("redis", extra="redis") from exc
        self._errors = redis_lib.exceptions
        self._url = redact_url(url)
        self.key_prefix = key_prefix
        self._closed = False
        try:
            self._client: redis_lib.Redis = redis_lib.Redis.from_url(
                url, socket_connect_timeout=connect_timeout, socket_timeout=timeout
            )
        except ValueError as exc:
            raise InvalidInputError(
                f"the Redis URL {self._url!r} cannot be used: {exc}",
                field="online_store_url",
                remedy="use redis://[:password@]host:6379/0 or rediss:// for TLS",
            ) from exc
        self._upsert = self._client.register_script(_UPSERT_NEWER)
        with self._translate():
            self._client.ping()

    @property
    def url(self) -> str:
        """The server's URL with any password replaced by ``********``."""
        return self._url

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self._url!r}, key_prefix={self.key_prefix!r})"

    def write(
        self,
        table: str,
        keys: Sequence[str],
        event_ts_us: Sequence[int],
        payloads: Sequence[str],
    ) -> int:
        """Upsert rows, newest event wins, in pipelined script calls of 1,000 rows.

        See :meth:`podium.features.online.OnlineStore.write`. Each script call is atomic;
        a failure part way leaves earlier calls applied, which rewriting makes whole.
        """
        n = check_rows(table, keys, event_ts_us, payloads)
        if n == 0:
            return 0
        hash_key = self._hash_key(table)
        with self._translate():
            pipe = self._client.pipeline(transaction=False)
            for start in range(0, n, _WRITE_CHUNK):
                stop = min(start + _WRITE_CHUNK, n)
                args: list[str] = []
                for i in range(start, stop):
                    args.append(keys[i])
                    args.append(f"{event_ts_us[i] + _TS_BIAS:020d}{payloads[i]}")
                self._upsert(keys=[hash_key], args=args, client=pipe)
            return sum(int(stored) for stored in pipe.execute())

    def read(self, table: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        """``(event_ts_us, payload)`` per key, in order, from one ``HMGET``."""
        hash_key = self._hash_key(table)
        if not check_keys(keys):
            return []
        with self._translate():
            values = cast("list[bytes | None]", self._client.hmget(hash_key, list(keys)))
        return [
            None
            if value is None
            else (int(value[:_TS_WIDTH]) - _TS_BIAS, value[_TS_WIDTH:].decode("utf-8"))
            for value in values
        ]

    def drop(self, table: str) -> None:
        """Delete the table's hash (``UNLINK``: freed in the background)."""
        hash_key = self._hash_key(table)
        with self._translate():
            self._client.unlink(hash_key)

    def count(self, table: str) -> int:
        """How many keys the table holds (``HLEN``)."""
        hash_key = self._hash_key(table)
        with self._translate():
            return int(self._client.hlen(hash_key))

    def close(self) -> None:
        """Disconnect the pool; later calls raise BackendUnavailableError."""
        self._closed = True
        self._client.close()

    def _hash_key(self, table: str) -> bytes:
        if self._closed:
            raise BackendUnavailableError(
                f"the online store at {self._url} is closed",
                remedy="open a new one with podium.features.online.open_online_store",
            )
        return (self.key_prefix + check_table(table)).encode("utf-8", "surrogatepass")

    @contextmanager
    def _translate(self) -> Iterator[None]:
        errors: Any = self._errors
        try:
            yield
        except errors.AuthenticationError as exc:
            raise BackendUnavailableError(
                f"Redis at {self._url} refused the credentials: {exc}",
                remedy=f"put the right password in PODIUM_ONLINE_STORE_URL ({self._url})",
            ) from exc
        except (errors.ConnectionError, errors.TimeoutError) as exc:
            raise BackendUnavailableError(
                f"Redis at {self._url} does not answer: {exc}",
                remedy=f"check that Redis runs and that PODIUM_ONLINE_STORE_URL "
                f"({self._url}) points at it",
            ) from exc
        except errors.ResponseError as exc:
            if "WRONGTYPE" in str(exc):  # also inside "Command # 1 of pipeline ..."
                raise ConflictError(
                    f"a key of another kind already uses the online store's key prefix "
                    f"{self.key_prefix!r} at {self._url}",
                    remedy="give this store its own key_prefix or Redis database number",
                ) from exc
            raise BackendUnavailableError(
                f"Redis at {self._url} refused a command: {exc}",
                remedy="check the server's memory limit (maxmemory) and the user's ACL",
            ) from exc


def redact_url(url: str) -> str:
    """``url`` with the password (if any) replaced by ``********``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:********@{host}"))
