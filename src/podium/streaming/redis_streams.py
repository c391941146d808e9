"""Redis Streams: a consumer-group source and an idempotent sink (redis-py, asyncio).

Source: ``XREADGROUP`` on the group (created at the stream's start, with ``MKSTREAM``,
when missing). On start the consumer first re-reads its own pending entries (a consumer
restarted under the same name picks up where it died); every ``claim_idle_ms`` it takes
over entries another consumer has held unacknowledged for that long (``XAUTOCLAIM``), so a
killed consumer's work is finished by the others or by its successor.

Sink: one Lua script per write, run atomically by Redis, appends an entry (``XADD``) only
for keys that are not yet in the stream's seen-set ``NAME:podium:ids`` (``SADD`` returns
1), so a redelivered input never gets a second output. The set keeps one member per
written key (about 60 bytes each) until it is deleted; trim it together with the stream.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import redis.asyncio as redis
from redis.exceptions import ResponseError

from podium.streaming.events import fields_of
from podium.streaming.streams import Message

__all__ = ["RedisSink", "RedisSource", "default_consumer", "seen_set"]

_WRITE_ONCE = """
local written = 0
for _, document in ipairs(cjson.decode(ARGV[1])) do
  if redis.call('SADD', KEYS[2], document[1]) == 1 then
    redis.call('XADD', KEYS[1], '*', unpack(document[2]))
    written = written + 1
  end
end
return written
"""


def default_consumer() -> str:
    """``host-pid``: a consumer name unique to this process."""
    return f"{socket.gethostname()}-{os.getpid()}"


def seen_set(stream: str) -> str:
    """The key of the set of keys written to ``stream``."""
    return f"{stream}:podium:ids"


class RedisSource:
    """One consumer of ``group`` on the Redis stream ``stream``."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        *,
        group: str,
        consumer: str,
        claim_idle_ms: int = 30_000,
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._claim_idle_ms = claim_idle_ms
        self._own_pending = True  # first read the entries this consumer left pending
        self._next_claim = 0.0
        self._claim_cursor = "0-0"

    @classmethod
    async def open(cls, server: str, stream: str, **options: Any) -> RedisSource:
        """Connect to ``server`` and make sure the group exists."""
        client = redis.Redis.from_url(server, decode_responses=True)
        source = cls(client, stream, **options)
        try:
            await client.xgroup_create(stream, source._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                await client.aclose()
                raise
        return source

    async def read(self, count: int, wait_ms: int) -> list[Message]:
        if self._own_pending:
            found = await self._read("0", count, None)
            if found:
                return found
            self._own_pending = False
        if time.monotonic() >= self._next_claim:
            claimed = await self._claim(count)
            if claimed:
                return claimed
        return await self._read(">", count, max(wait_ms, 1))

    async def _read(self, start: str, count: int, block: int | None) -> list[Message]:
        answer: Any = await self._client.xreadgroup(
            self._group, self._consumer, {self._stream: start}, count=count, block=block
        )
        messages: list[Message] = []
        gone: list[str] = []
        for _, entries in answer or []:
            for entry_id, fields in entries:
                if fields is None:  # deleted from the stream while pending
                    gone.append(entry_id)
                else:
                    messages.append(Message(key=entry_id, fields=fields))
        if gone:
            await self._client.xack(self._stream, self._group, *gone)
        return messages

    async def _claim(self, count: int) -> list[Message]:
        answer = await self._client.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=count,
        )
        cursor, entries = answer[0], answer[1]
        if cursor == "0-0":  # went round the whole pending list: rest a while
            self._next_claim = time.monotonic() + self._claim_idle_ms / 2000.0
        self._claim_cursor = cursor
        deleted = answer[2] if len(answer) > 2 else []
        if deleted:
            await self._client.xack(self._stream, self._group, *deleted)
        return [Message(key=entry_id, fields=fields) for entry_id, fields in entries if fields]

    async def ack(self, messages: Sequence[Message]) -> None:
        if messages:
            await self._client.xack(self._stream, self._group, *(m.key for m in messages))

    async def lag(self) -> tuple[int, int]:
        for group in await self._client.xinfo_groups(self._stream):
            if group["name"] == self._group:
                undelivered = group.get("lag")
                if undelivered is None:  # Redis cannot tell (entries were deleted)
                    undelivered = 0
                return int(undelivered), int(group["pending"])
        return 0, 0

    async def close(self) -> None:
        await self._client.aclose()


class RedisSink:
    """Appends documents to the Redis stream ``stream``, each key at most once."""

    def __init__(self, client: redis.Redis, stream: str) -> None:
        self._client = client
        self._stream = stream
        self._script = client.register_script(_WRITE_ONCE)

    @classmethod
    def open(cls, server: str, stream: str) -> RedisSink:
        """A sink on ``stream`` of the server at ``server``."""
        return cls(redis.Redis.from_url(server, decode_responses=True), stream)

    async def write(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        if not documents:
            return 0
        # One JSON argument: [[key, [field, value, ...]], ...], decoded by the script.
        batch = [
            [key, [part for item in fields_of(document).items() for part in item]]
            for key, document in documents
        ]
        written = await self._script(
            keys=[self._stream, seen_set(self._stream)], args=[orjson.dumps(batch)]
        )
        return int(written)

    async def close(self) -> None:
        await self._client.aclose()
