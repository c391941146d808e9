"""The event bus on NATS JetStream: a stream per topic, a durable pull consumer per group.

A topic is the JetStream stream ``PODIUM_BUS_<topic>`` capturing the subject
``podium.bus.<topic>`` (a prefix, so the bus never overlaps streams of other tools on the
same server); a consumer group is a durable pull consumer of that stream with explicit
acknowledgements, ``ack_wait`` = the visibility timeout and ``max_deliver`` one more than
``max_deliveries``: the delivery past the limit is turned into a dead letter here and
terminated (``Term``), so every backend reports dead letters the same way. A subscription
is an ordered push consumer that starts at the next message.

nats-py is asyncio; the bus runs one event loop in a background thread and every method
waits for its coroutine there, so callers stay synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import queue
import re
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
    import nats
    import nats.errors
    import nats.js.errors
    from nats.aio.msg import Msg
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
except ImportError as exc:
    raise MissingDependencyError("nats-py", extra="nats") from exc

__all__ = ["NatsEventBus"]

T = TypeVar("T")

_log = logging.getLogger(__name__)
_SUBJECT_PREFIX = "podium.bus."
_WAIT_SECONDS = 30.0  # longest any single request to the server may take
_SLICE_SECONDS = 0.2  # a subscription's longest wait, so close() is quick


class NatsEventBus:
    """An :class:`~podium.events.bus.protocol.EventBus` on NATS JetStream (``nats://``)."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 4222
        self.url = f"nats://{host}:{port}"
        server = f"nats://{parts.netloc}" if parts.netloc else self.url
        _probe(host, port, connect_timeout, self.url)  # nats-py retries a refused start
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="podium-bus-nats", daemon=True
        )
        self._thread.start()
        self._streams: set[str] = set()
        self._groups: dict[tuple[str, str], tuple[float, int]] = {}
        self._pulls: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._subscriptions: list[ThreadSubscription] = []
        try:
            self._nc = self._run(
                nats.connect(
                    servers=[server],
                    connect_timeout=connect_timeout,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    error_cb=_log_error,
                ),
                timeout=connect_timeout + 5,
            )
        except BaseException:
            self._stop_loop()
            raise
        self._js = self._nc.jetstream(timeout=_WAIT_SECONDS)

    def publish(self, topic: str, body: dict[str, Any]) -> str:
        """See :meth:`~podium.events.bus.protocol.EventBus.publish`."""
        check_name(topic, kind="topic")
        data = encode_body(body).encode()
        return self._run(self._publish(topic, data))

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
        self._run(self._create_group(topic, group, start, visibility_timeout, max_deliveries))

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
        check_name(topic, kind="topic")
        check_name(group, kind="group")
        check_name(consumer, kind="consumer")
        return self._run(
            self._consume(topic, group, consumer, max(1, max_messages), max(timeout, 0.001)),
            timeout=timeout + _WAIT_SECONDS,
        )

    def ack(self, message: BusMessage) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.ack`."""
        self._run(_ack(message.receipt))

    def dead_letter(self, message: BusMessage, reason: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.dead_letter`."""
        data = encode_body(dead_letter_body(message, reason)).encode()
        self._run(self._dead(message.topic, message.receipt, data))

    def subscribe(self, topic: str, handler: MessageHandler) -> BusSubscription:
        """See :meth:`~podium.events.bus.protocol.EventBus.subscribe`."""
        check_name(topic, kind="topic")
        arrived: queue.Queue[BusMessage] = queue.Queue()

        async def deliver(msg: Msg) -> None:
            arrived.put(
                BusMessage(
                    topic=topic, id=str(msg.metadata.sequence.stream), body=json.loads(msg.data)
                )
            )

        async def start() -> Any:
            await self._ensure_stream(topic)
            return await self._js.subscribe(
                _subject(topic),
                stream=_stream(topic),
                cb=deliver,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
            )

        sub = self._run(start())

        def fetch() -> list[BusMessage]:
            try:
                first = arrived.get(timeout=_SLICE_SECONDS)
            except queue.Empty:
                return []
            batch = [first]
            while True:
                try:
                    batch.append(arrived.get_nowait())
                except queue.Empty:
                    return batch

        def unsubscribe() -> None:
            if not self._loop.is_closed():
                # When the connection is gone already, so is the consumer.
                with contextlib.suppress(BackendUnavailableError, nats.errors.Error):
                    self._run(sub.unsubscribe(), timeout=5)

        subscription = ThreadSubscription(
            f"podium-bus-{topic}"[:60], fetch, handler, on_close=unsubscribe
        )
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def delete_topic(self, topic: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.delete_topic`."""
        check_name(topic, kind="topic")
        self._run(self._delete_topic(topic))

    def close(self) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.close`."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()
        if self._loop.is_closed():
            return
        try:
            self._run(self._nc.close(), timeout=5)
        finally:
            self._stop_loop()

    # --- coroutines, run in the bus's loop ---------------------------------------------

    async def _publish(self, topic: str, data: bytes) -> str:
        await self._ensure_stream(topic)
        ack = await self._js.publish(_subject(topic), data, stream=_stream(topic))
        return str(ack.seq)

    async def _ensure_stream(self, topic: str) -> None:
        name = _stream(topic)
        if name in self._streams:
            return
        try:
            await self._js.stream_info(name)
        except nats.js.errors.NotFoundError:
            try:
                await self._js.add_stream(StreamConfig(name=name, subjects=[_subject(topic)]))
            except nats.js.errors.BadRequestError:
                await self._js.stream_info(name)  # created by another process meanwhile
        self._streams.add(name)

    async def _create_group(
        self, topic: str, group: str, start: Start, visibility: float, max_deliveries: int
    ) -> None:
        await self._ensure_stream(topic)
        stream, durable = _stream(topic), _durable(group)
        try:
            info = await self._js.consumer_info(stream, durable)
        except nats.js.errors.NotFoundError:
            config = ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=visibility,
                max_deliver=max_deliveries + 1,  # the last one becomes the dead letter
                deliver_policy=DeliverPolicy.ALL if start == "earliest" else DeliverPolicy.NEW,
                filter_subject=_subject(topic),
                max_ack_pending=-1,
            )
            try:
                info = await self._js.add_consumer(stream, config)
            except nats.js.errors.BadRequestError:
                info = await self._js.consumer_info(stream, durable)
        config = info.config
        settings = (float(config.ack_wait or visibility), int(config.max_deliver or 0) - 1)
        self._groups[(topic, group)] = settings

    async def _consume(
        self, topic: str, group: str, consumer: str, limit: int, timeout: float
    ) -> list[BusMessage]:
        if (topic, group) not in self._groups:
            await self._create_group(topic, group, "earliest", 30.0, 5)
        visibility, max_deliveries = self._groups[(topic, group)]
        pull = self._pulls.get((topic, group))
        if pull is None:
            pull = await self._js.pull_subscribe_bind(
                durable=_durable(group), stream=_stream(topic)
            )
            self._pulls[(topic, group)] = pull
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            try:
                msgs = await pull.fetch(limit, timeout=max(remaining, 0.01))
            except (nats.errors.TimeoutError, TimeoutError):  # nothing came in time
                return []
            out = []
            for msg in msgs:
                meta = msg.metadata
                deliveries = int(meta.num_delivered)
                base = BusMessage(
                    topic,
                    str(meta.sequence.stream),
                    json.loads(msg.data),
                    deliveries,
                    group,
                    consumer,
                    msg,
                )
                if max_deliveries > 0 and deliveries > max_deliveries:
                    reason = (
                        f"not acknowledged after {deliveries - 1} deliveries "
                        f"(visibility timeout {visibility:g} s)"
                    )
                    late = BusMessage(topic, base.id, base.body, deliveries - 1, group)
                    data = encode_body(dead_letter_body(late, reason)).encode()
                    await self._dead(topic, msg, data)
                else:
                    out.append(base)
            if out or loop.time() >= deadline:
                return out

    async def _dead(self, topic: str, msg: Msg | None, data: bytes) -> None:
        await self._publish(dead_letter_topic(topic), data)
        if msg is not None and not msg.is_acked:
            await msg.term()

    async def _delete_topic(self, topic: str) -> None:
        name = _stream(topic)
        for key in [k for k in self._pulls if k[0] == topic]:
            pull = self._pulls.pop(key)
            with contextlib.suppress(nats.errors.Error):
                await pull.unsubscribe()
        for key in [k for k in self._groups if k[0] == topic]:
            del self._groups[key]
        self._streams.discard(name)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self._js.delete_stream(name)

    # --- the loop ---------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T], *, timeout: float = _WAIT_SECONDS) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except (
            TimeoutError,
            nats.errors.NoServersError,
            nats.errors.ConnectionClosedError,
            nats.errors.TimeoutError,
            OSError,
        ) as exc:
            future.cancel()
            raise BackendUnavailableError(
                f"the event bus at {self.url} does not answer: {exc.__class__.__name__} {exc}",
                remedy="start nats-server with JetStream (-js) there, or point "
                "PODIUM_EVENTS_URL at a running one",
            ) from exc

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def _probe(host: str, port: int, timeout: float, url: str) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise BackendUnavailableError(
            f"the event bus at {url} does not answer: {exc}",
            remedy="start nats-server with JetStream (-js) there, or point "
            "PODIUM_EVENTS_URL at a running one",
        ) from exc


async def _log_error(exc: Exception) -> None:
    # One line per connection problem (nats-py retries on its own), not a traceback.
    _log.warning("NATS event bus: %s: %s", exc.__class__.__name__, exc)


async def _ack(msg: Msg | None) -> None:
    if msg is not None and not msg.is_acked:  # acknowledging twice is harmless elsewhere too
        await msg.ack()


def _subject(topic: str) -> str:
    return f"{_SUBJECT_PREFIX}{topic}"


def _safe(name: str) -> str:
    """``name`` as a JetStream stream or consumer name (no '.', '*', '>' or spaces)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    if cleaned == name and len(name) <= 64:
        return name
    return f"{cleaned[:48]}_{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _stream(topic: str) -> str:
    return f"PODIUM_BUS_{_safe(topic)}"


def _durable(group: str) -> str:
    return _safe(group)
