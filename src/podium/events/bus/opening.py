"""Choosing the event bus backend by URL (``PODIUM_EVENTS_URL``).

========================================  ==============================================
URL                                       backend
========================================  ==============================================
unset                                     embedded, in the metadata database given
``sqlite:///path`` / ``postgresql://...``  embedded, in that database (migrated here)
``redis://host:6379/0``                   Redis Streams
``nats://host:4222``                      NATS JetStream
========================================  ==============================================
"""

from __future__ import annotations

from podium.errors import InvalidInputError
from podium.events.bus.protocol import EventBus
from podium.store.database import Database

__all__ = ["PLATFORM_TOPIC", "open_bus"]

PLATFORM_TOPIC = "podium.events"
"""Where platform events (the outbox: registry, deployments, alerts, ...) are published."""

_SCHEMES = "redis://, rediss://, nats://, sqlite:/// or postgresql://"


def open_bus(url: str | None = None, *, database: Database | None = None) -> EventBus:
    """The event bus at ``url``; with no URL, the embedded bus on ``database``.

    Raises ``InvalidInputError`` for an unknown scheme, ``MissingDependencyError`` when the
    backend's client library is missing, ``BackendUnavailableError`` when it is down.
    """
    if not url:
        if database is None:
            raise InvalidInputError(
                "the embedded event bus needs the metadata database",
                field="PODIUM_EVENTS_URL",
                remedy=f"pass database=..., or set PODIUM_EVENTS_URL to a {_SCHEMES} URL",
            )
        from podium.events.bus.embedded import EmbeddedEventBus

        return EmbeddedEventBus(database)
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis", "rediss", "unix"):
        from podium.events.bus.redis import RedisEventBus

        return RedisEventBus(url)
    if scheme in ("nats", "tls"):
        from podium.events.bus.nats import NatsEventBus

        return NatsEventBus(url)
    if scheme.startswith(("sqlite", "postgresql", "postgres")):
        from podium.events.bus.embedded import EmbeddedEventBus

        own = Database(url)
        own.upgrade()
        return EmbeddedEventBus(own, owns_database=True)
    raise InvalidInputError(
        f"the event bus URL {url!r} has a scheme podium does not know",
        field="PODIUM_EVENTS_URL",
        remedy=f"use a {_SCHEMES} URL, or unset PODIUM_EVENTS_URL for the embedded bus",
    )
