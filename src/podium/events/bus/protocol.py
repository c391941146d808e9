"""The event bus interface: publish JSON messages on topics, consume them in groups.

The nouns are those of Redis Streams, NATS JetStream and Kafka (ADR 0023):

- A **topic** is a named, ordered log of messages (a Redis stream, a JetStream stream,
  a Kafka topic). :meth:`EventBus.publish` appends a JSON object and returns its id.
- A **consumer group** reads a topic as a work queue: every group gets every message,
  and the consumers of one group share them (each message goes to one consumer of the
  group at a time). A group starts at the topic's first message (``start="earliest"``)
  or at the next one published (``start="latest"``).
- Delivery is **at least once**: a message handed out by :meth:`EventBus.consume` and not
  acknowledged (:meth:`EventBus.ack`) within the group's ``visibility_timeout`` is
  delivered again, to any consumer of the group. Handlers must tolerate repeats.
- **Dead letters**: a message delivered ``max_deliveries`` times without an
  acknowledgement, or one a consumer gives up on (:meth:`EventBus.dead_letter`), is
  published on ``<topic>.dead`` as ``{"topic", "id", "deliveries", "reason", "message"}``
  and leaves the group.
- A **subscription** (:meth:`EventBus.subscribe`) is a broadcast: every subscriber, in
  every process, gets every message published after it subscribed, with no
  acknowledgement and no redelivery (serving replicas follow platform events this way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "BusMessage",
    "BusSubscription",
    "EventBus",
    "MessageHandler",
    "Start",
    "dead_letter_body",
    "dead_letter_topic",
]

DEAD_LETTER_SUFFIX = ".dead"
"""Dead letters of topic ``t`` are published on ``t.dead``."""

Start = Literal["earliest", "latest"]
"""Where a new consumer group begins: the topic's first message, or the next one."""


def dead_letter_topic(topic: str) -> str:
    """The topic where dead letters of ``topic`` go (``<topic>.dead``)."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"


@dataclass(frozen=True)
class BusMessage:
    """One message as a consumer or subscriber receives it.

    ``id`` is the backend's id (a Redis stream entry id, a JetStream sequence, a row id),
    unique within the topic and increasing in publication order. ``deliveries`` counts
    how many times the group has handed this message out, 1 the first time (0 for a
    broadcast subscription). ``group`` and ``consumer`` are empty for a subscription.
    """

    topic: str
    id: str
    body: dict[str, Any]
    deliveries: int = 0
    group: str = ""
    consumer: str = ""
    receipt: Any = field(default=None, compare=False, repr=False)
    """What the backend needs to acknowledge this delivery (NATS: its message)."""


MessageHandler = Callable[[BusMessage], None]
"""Called with each message of a subscription, in order, in a thread of the bus."""


@runtime_checkable
class BusSubscription(Protocol):
    """A running broadcast subscription; :meth:`close` ends it."""

    def close(self) -> None:
        """Stop receiving; waits for the handler's current call to return."""
        ...


@runtime_checkable
class EventBus(Protocol):
    """A message bus with topics, consumer groups, acknowledgements and dead letters.

    Every backend passes :class:`podium.testing.event_bus.EventBusContract`. Methods are
    thread-safe; one bus per process is enough.
    """

    url: str
    """Where the bus lives, without a password (``redis://host:6379/0``, ``sqlite://...``)."""

    def publish(self, topic: str, body: dict[str, Any]) -> str:
        """Append the JSON object ``body`` to ``topic`` (created on first use); its id.

        Raises ``InvalidInputError`` for a bad topic name or a body that is not a JSON
        object, ``BackendUnavailableError`` when the backend does not answer.
        """
        ...

    def create_group(
        self,
        topic: str,
        group: str,
        *,
        start: Start = "earliest",
        visibility_timeout: float = 30.0,
        max_deliveries: int = 5,
    ) -> None:
        """Create consumer group ``group`` of ``topic`` (a no-op when it exists).

        ``visibility_timeout`` (seconds) is how long a consumer has to acknowledge a
        message before it is delivered again; after ``max_deliveries`` deliveries without
        an acknowledgement the message becomes a dead letter. :meth:`consume` creates a
        missing group with these defaults.
        """
        ...

    def consume(
        self,
        topic: str,
        group: str,
        consumer: str,
        *,
        max_messages: int = 10,
        timeout: float = 1.0,
    ) -> list[BusMessage]:
        """Up to ``max_messages`` messages for ``consumer`` of ``group``, oldest first.

        Messages whose visibility timeout passed come first (redeliveries), then new
        ones. Waits up to ``timeout`` seconds for the first; ``[]`` when none came.
        """
        ...

    def ack(self, message: BusMessage) -> None:
        """Acknowledge a consumed message: the group is done with it (idempotent)."""
        ...

    def dead_letter(self, message: BusMessage, reason: str) -> None:
        """Give up on a consumed message: publish it on ``<topic>.dead`` with ``reason``
        and remove it from the group, so it is never delivered to the group again."""
        ...

    def subscribe(self, topic: str, handler: MessageHandler) -> BusSubscription:
        """Call ``handler`` with every message published on ``topic`` from now on.

        A broadcast: every subscription gets every message; none is acknowledged or
        redelivered, and a handler that raises is logged and skipped.
        """
        ...

    def delete_topic(self, topic: str) -> None:
        """Delete ``topic``, its messages and its groups (not its dead letters)."""
        ...

    def close(self) -> None:
        """End every subscription and disconnect."""
        ...


def dead_letter_body(message: BusMessage, reason: str) -> dict[str, Any]:
    """The body of the dead letter of ``message`` (what ``<topic>.dead`` receives)."""
    return {
        "topic": message.topic,
        "id": message.id,
        "group": message.group,
        "deliveries": message.deliveries,
        "reason": reason,
        "message": message.body,
    }
