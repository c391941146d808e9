"""The event bus on Redis Streams: a stream per topic, Redis consumer groups.

A topic is the stream ``podium:bus:<topic>`` (``XADD``, trimmed to about ``max_length``
entries); a consumer group is a Redis consumer group (``XGROUP CREATE``, ``XREADGROUP``,
``XACK``), whose settings live in the hash ``podium:bus:<topic>:groups``. Redelivery
looks at the group's pending entries list: entries idle longer than the visibility
timeout are claimed (``XPENDING ... IDLE``, ``XCLAIM``), or become dead letters once
delivered ``max_deliveries`` times. A subscription is a plain ``XREAD`` from the
stream's last entry on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from podium.errors import BackendUnavailableError, MissingDependencyError
from podium.events.bus.protocol import (
    BusMessage,
    BusSubscription,
    MessageHandler,
    Start,
    dead_letter_body,
    dead_letter_topic,
)
from podium.events.bus.subscription import ThreadSubscription
from podium.events.bus.validation import check_group_settings, check_name, encode_body

try:
    import redis
except ImportError as exc:  # pragma: no cover - redis is a core dependency today
    raise MissingDependencyError("redis", extra="redis") from exc

__all__ = ["RedisEventBus"]

_PREFIX = "podium:bus:"
_SLICE_MS = 200  # longest single block, so expiring deliveries are noticed soon
_DEFAULTS = {"visibility_timeout": 30.0, "max_deliveries": 5}

_Entries = list[tuple[bytes, dict[bytes, bytes] | None]]
"""Stream entries as redis-py returns them: ``(id, fields)``, fields None once deleted."""
_Streams = list[tuple[bytes, _Entries]]
"""What ``XREAD``/``XREADGROUP`` return: entries per stream key."""


class RedisEventBus:
    """An :class:`~podium.events.bus.protocol.EventBus` on Redis Streams (``redis://``)."""

    def __init__(self, url: str, *, max_length: int = 1_000_000) -> None:
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5)
        kwargs = self._client.connection_pool.connection_kwargs
        self.url = (
            f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
        )
        self._raw_url = url
        self._max_length = max_length
        self._groups: dict[tuple[str, str], dict[str, float]] = {}
        self._lock = threading.Lock()
        self._subscriptions: list[ThreadSubscription] = []
        with self._outage():
            self._client.ping()

    def publish(self, topic: str, body: dict[str, Any]) -> str:
        """See :meth:`~podium.events.bus.protocol.EventBus.publish`."""
        check_name(topic, kind="topic")
        text = encode_body(body)
        with self._outage():
            entry = self._client.xadd(
                _key(topic), {"body": text}, maxlen=self._max_length, approximate=True
            )
        return _text(entry)

    def create_group(
        self,
        topic: str,
        group: str,
        *,
        start: Start = "earliest",
        visibility_timeout: float = 30.0,
        max_deliveries: int = 5,
    ) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.create_group`."""
        check_name(topic, kind="topic")
        check_name(group, kind="group")
        check_group_settings(visibility_timeout, max_deliveries)
        settings = json.dumps(
            {"visibility_timeout": visibility_timeout, "max_deliveries": max_deliveries}
        )
        with self._outage():
            try:
                self._client.xgroup_create(
                    _key(topic), group, id="0" if start == "earliest" else "$", mkstream=True
                )
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._client.hsetnx(_groups_key(topic), group, settings)

    def consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        *,
        max_messages: int = 10,
        timeout: float = 1.0,
    ) -> list[BusMessage]:
        """See :meth:`~podium.events.bus.protocol.EventBus.consume`."""
        check_name(consumer, kind="consumer")
        settings = self._settings(topic, group)
        limit = max(1, max_messages)
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._outage():
            while True:
                got = self._redeliver(topic, group, consumer, limit, settings)
                remaining = deadline - time.monotonic()
                block = (
                    None if got or remaining <= 0 else max(1, int(min(remaining * 1000, _SLICE_MS)))
                )
                got += self._read_new(topic, group, consumer, limit - len(got), block)
                if got or time.monotonic() >= deadline:
                    return got

    def ack(self, message: BusMessage) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.ack`."""
        with self._outage():
            self._client.xack(_key(message.topic), message.group, message.id)

    def dead_letter(self, message: BusMessage, reason: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.dead_letter`."""
        text = encode_body(dead_letter_body(message, reason))
        with self._outage():
            self._dead(message.topic, message.group, message.id, text)

    def subscribe(self, topic: str, handler: MessageHandler) -> BusSubscription:
        """See :meth:`~podium.events.bus.protocol.EventBus.subscribe`."""
        check_name(topic, kind="topic")
        client = redis.Redis.from_url(self._raw_url, socket_connect_timeout=5)
        with self._outage():
            last = cast("_Entries", client.xrevrange(_key(topic), count=1))
        cursor = [_text(last[0][0]) if last else "0-0"]

        def fetch() -> list[BusMessage]:
            with self._outage():
                found = cast(
                    "_Streams", client.xread({_key(topic): cursor[0]}, count=500, block=_SLICE_MS)
                )
            messages = [
                BusMessage(topic=topic, id=_text(entry), body=_body(fields))
                for _, entries in found
                for entry, fields in entries
                if fields is not None
            ]
            if messages:
                cursor[0] = messages[-1].id
            return messages

        subscription = ThreadSubscription(
            f"podium-bus-{topic}"[:60], fetch, handler, on_close=client.close
        )
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def delete_topic(self, topic: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.delete_topic`."""
        check_name(topic, kind="topic")
        with self._outage():
            self._client.delete(_key(topic), _groups_key(topic))
        with self._lock:
            for key in [k for k in self._groups if k[0] == topic]:
                del self._groups[key]

    def close(self) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.close`."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()
        self._client.close()

    # --- internals ----------------------------------------------------------------------

    def _settings(self, topic: str, group: str) -> dict[str, float]:
        with self._lock:
            cached = self._groups.get((topic, group))
        if cached is not None:
            return cached
        self.create_group(topic, group)  # a no-op when it exists; makes sure it does
        with self._outage():
            stored = self._client.hget(_groups_key(topic), group)
        settings = json.loads(stored) if stored else dict(_DEFAULTS)
        with self._lock:
            self._groups[(topic, group)] = settings
        return settings

    def _redeliver(
        self, topic: str, group: str, consumer: str, limit: int, settings: dict[str, float]
    ) -> list[BusMessage]:
        idle_ms = int(settings["visibility_timeout"] * 1000)
        try:
            pending: list[dict[str, Any]] = self._client.xpending_range(
                _key(topic), group, min="-", max="+", count=limit, idle=idle_ms
            )
        except redis.ResponseError as exc:
            return self._lost_group(topic, group, exc)
        if not pending:
            return []
        claim: dict[str, int] = {}
        for entry in pending:
            entry_id, times = _text(entry["message_id"]), int(entry["times_delivered"])
            if times >= settings["max_deliveries"]:
                found = cast("_Entries", self._client.xrange(_key(topic), entry_id, entry_id))
                body = _body(found[0][1]) if found and found[0][1] is not None else {}
                gone = BusMessage(topic, entry_id, body, times, group)
                reason = (
                    f"not acknowledged after {times} deliveries "
                    f"(visibility timeout {settings['visibility_timeout']:g} s)"
                )
                self._dead(topic, group, entry_id, encode_body(dead_letter_body(gone, reason)))
            else:
                claim[entry_id] = times + 1
        if not claim:
            return []
        claimed = cast(
            "_Entries",
            self._client.xclaim(
                _key(topic), group, consumer, min_idle_time=idle_ms, message_ids=list(claim)
            ),
        )
        return [
            BusMessage(
                topic, _text(entry), _body(fields), claim.get(_text(entry), 2), group, consumer
            )
            for entry, fields in claimed
            if fields is not None  # deleted (trimmed) entries come back empty
        ]

    def _read_new(
        self, topic: str, group: str, consumer: str, count: int, block: int | None
    ) -> list[BusMessage]:
        if count <= 0:
            return []
        try:
            found = cast(
                "_Streams | None",
                self._client.xreadgroup(
                    group, consumer, {_key(topic): ">"}, count=count, block=block
                ),
            )
        except redis.ResponseError as exc:
            return self._lost_group(topic, group, exc)
        return [
            BusMessage(topic, _text(entry), _body(fields), 1, group, consumer)
            for _, entries in found or []
            for entry, fields in entries
            if fields is not None
        ]

    def _lost_group(self, topic: str, group: str, exc: redis.ResponseError) -> list[BusMessage]:
        if "NOGROUP" not in str(exc):
            raise exc
        with self._lock:  # the topic was deleted meanwhile: recreate it on the next call
            self._groups.pop((topic, group), None)
        return []

    def _dead(self, topic: str, group: str, entry_id: str, text: str) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(
            _key(dead_letter_topic(topic)),
            {"body": text},
            maxlen=self._max_length,
            approximate=True,
        )
        pipe.xack(_key(topic), group, entry_id)
        pipe.execute()

    @contextmanager
    def _outage(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BackendUnavailableError(
                f"the event bus at {self.url} does not answer: {exc}",
                remedy="start Redis there, or point PODIUM_EVENTS_URL at a running one",
            ) from exc


def _key(topic: str) -> str:
    return f"{_PREFIX}{topic}"


def _groups_key(topic: str) -> str:
    return f"{_PREFIX}{topic}:groups"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _body(fields: dict[bytes, bytes]) -> dict[str, Any]:
    raw = fields.get(b"body", b"{}")
    decoded: dict[str, Any] = json.loads(raw)
    return decoded
