"""NATS JetStream: a durable pull consumer as the source, idempotent publishes as the sink.

Streams are found by subject; a subject no stream captures gets one of its own
(``podium-<subject>-<hash>``, file storage). The consumer group is a durable pull consumer
named after the group: every process fetching from it shares its messages, and a message
not acknowledged within ``claim_idle_ms`` (the consumer's ``ack_wait``) is delivered again,
to any of them.

The sink publishes each document with the header ``Nats-Msg-Id: <key>``: JetStream drops
a message whose id it has seen within the stream's **duplicate window** (two minutes on
the streams podium creates, :data:`DUPLICATE_WINDOW_SECONDS`; whatever the operator set on
existing ones). That is the limit of exactly-once output on NATS: an input redelivered
after the window (a consumer down for longer than that, with the message pending) gets a
second output.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError as StreamNotFound

from podium.streaming.streams import Message

__all__ = ["DUPLICATE_WINDOW_SECONDS", "NatsSink", "NatsSource", "connect", "ensure_stream"]

_log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
"""The duplicate window of the streams podium creates."""
_PUBLISH_TIMEOUT_SECONDS = 30.0


async def ensure_stream(js: JetStreamContext, subject: str) -> str:
    """The name of the stream capturing ``subject``, created when none does."""
    try:
        return await js.find_stream_name_by_subject(subject)
    except StreamNotFound:
        pass
    digest = hashlib.sha256(subject.encode()).hexdigest()[:8]
    name = f"podium-{re.sub(r'[^A-Za-z0-9_-]', '_', subject)[:48]}-{digest}"
    await js.add_stream(
        StreamConfig(name=name, subjects=[subject], duplicate_window=DUPLICATE_WINDOW_SECONDS)
    )
    return name


class NatsSource:
    """One member of the durable pull consumer ``group`` on ``subject``."""

    def __init__(self, nc: Client, subscription: JetStreamContext.PullSubscription) -> None:
        self._nc = nc
        self._subscription = subscription

    @classmethod
    async def open(
        cls, server: str, subject: str, *, group: str, consumer: str, claim_idle_ms: int = 30_000
    ) -> NatsSource:
        """Connect and bind to (or create) the durable consumer ``group``. ``consumer``
        only names the connection: JetStream tells pull consumers apart by request."""
        nc = await connect(server, name=consumer)
        try:
            js = nc.jetstream()
            stream = await ensure_stream(js, subject)
            subscription = await js.pull_subscribe(
                subject,
                durable=_durable(group),
                stream=stream,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=claim_idle_ms / 1000.0,
                    max_ack_pending=100_000,
                ),
            )
        except BaseException:
            await nc.close()
            raise
        return cls(nc, subscription)

    async def read(self, count: int, wait_ms: int) -> list[Message]:
        try:
            fetched = await self._subscription.fetch(count, timeout=max(wait_ms, 1) / 1000.0)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        return [
            Message(key=str(msg.metadata.sequence.stream), body=msg.data, handle=msg)
            for msg in fetched
        ]

    async def ack(self, messages: Sequence[Message]) -> None:
        for message in messages:
            await message.handle.ack()
        await self._nc.flush()

    async def lag(self) -> tuple[int, int]:
        info = await self._subscription.consumer_info()
        return int(info.num_pending or 0), int(info.num_ack_pending or 0)

    async def close(self) -> None:
        await self._nc.close()


class NatsSink:
    """Publishes documents to ``subject`` as JSON, deduplicated by ``Nats-Msg-Id``."""

    def __init__(self, nc: Client, js: JetStreamContext, subject: str) -> None:
        self._nc = nc
        self._js = js
        self._subject = subject

    @classmethod
    async def open(cls, server: str, subject: str) -> NatsSink:
        """Connect and make sure a stream captures ``subject``."""
        nc = await connect(server)
        js = nc.jetstream()
        try:
            await ensure_stream(js, subject)
        except BaseException:
            await nc.close()
            raise
        return cls(nc, js, subject)

    async def write(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        # Publish all, then wait for every acknowledgement: one round trip per batch.
        futures = [
            await self._js.publish_async(
                self._subject, orjson.dumps(document), headers={"Nats-Msg-Id": key}
            )
            for key, document in documents
        ]
        acks = await asyncio.wait_for(asyncio.gather(*futures), _PUBLISH_TIMEOUT_SECONDS)
        return sum(1 for ack in acks if not ack.duplicate)

    async def close(self) -> None:
        await self._nc.close()


async def connect(server: str, *, name: str | None = None) -> Client:
    """A connection to ``server`` that gives up after a few failed attempts (rather than
    retrying for minutes), logging each failure as one line, not a traceback."""
    return await nats.connect(
        server,
        name=name,
        connect_timeout=2,
        max_reconnect_attempts=5,
        reconnect_time_wait=1,
        error_cb=_log_error,
    )


async def _log_error(exc: Exception) -> None:
    _log.warning("nats: %s: %s", type(exc).__name__, exc)


def _durable(group: str) -> str:
    # Durable names cannot hold '.', '*', '>' or whitespace.
    return re.sub(r"[^A-Za-z0-9_-]", "_", group)
