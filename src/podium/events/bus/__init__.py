"""The event bus: topics, consumer groups, acknowledgements and dead letters.

- ``protocol``: :class:`EventBus`, the interface every backend satisfies, and
  :class:`BusMessage`, what a consumer receives.
- ``names``: the rules for topic, group and consumer names.
- ``opening``: :func:`open_bus`, which picks the backend by URL (``PODIUM_EVENTS_URL``).
- ``embedded``: the default, tables in the metadata database (SQLite or PostgreSQL).
- ``redis``: Redis Streams. ``nats``: NATS JetStream.
- ``announcer``: publishes committed platform events (the outbox) on ``podium.events``.
- ``tables``: the embedded backend's tables.

No imports here, so importing one module does not load its siblings (ADR 0021).
"""
