"""What the stream engines need from a stream backend: a source to consume, a sink to write.

(Backend protocols, not an SDK area protocol: users reach streams through URLs.)

Two small protocols, one module per backend (:mod:`podium.streaming.redis_streams`,
:mod:`podium.streaming.nats_streams`), chosen by the URL's scheme
(:func:`podium.streaming.backends.open_source`).

A :class:`StreamSource` is one consumer of a consumer group: several sources with the same
group share the stream's messages, each message goes to one of them, and a message is
delivered again (to any member) until it is acknowledged: at-least-once. A
:class:`StreamSink` writes documents idempotently: writing a document whose key was
written already changes nothing, so an output written twice (a redelivered input) is
seen once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Message", "StreamSink", "StreamSource"]


@dataclass(frozen=True)
class Message:
    """One delivered message, undecoded.

    ``key`` is the backend's own position of the message (a Redis entry id, a JetStream
    stream sequence), unique in its stream. A Redis message has ``fields`` (the stream
    entry's fields); a NATS message has ``body`` (its payload bytes).
    """

    key: str
    fields: Mapping[str, str] | None = None
    body: bytes | None = None
    handle: Any = field(default=None, compare=False, repr=False)
    """What the backend needs to acknowledge it."""


class StreamSource(Protocol):
    """One consumer of a consumer group on an input stream."""

    async def read(self, count: int, wait_ms: int) -> list[Message]:
        """Up to ``count`` messages for this consumer: messages other consumers left
        unacknowledged for too long first, then new ones. Waits up to ``wait_ms`` for the
        first message and returns at once with what is there (maybe nothing)."""
        ...

    async def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge ``messages``: they are done and are not delivered again."""
        ...

    async def lag(self) -> tuple[int, int]:
        """``(undelivered, pending)``: messages the group has not been given yet, and
        messages given to a consumer and not yet acknowledged."""
        ...

    async def close(self) -> None:
        """Disconnect (unacknowledged messages stay pending for the group)."""
        ...


class StreamSink(Protocol):
    """An output stream written idempotently, by key."""

    async def write(self, documents: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        """Append each ``(key, document)`` whose key was never written here; return how
        many were new. All or nothing per call on Redis; per document on NATS."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...
