"""Tables of the embedded event bus (migration 0014), in the metadata database.

``event_bus_messages`` is every topic's log (a row per message, ids increasing);
``event_bus_groups`` holds each consumer group's settings and its cursor (the last
message id it has handed out); ``event_bus_pending`` is the group's pending list, a row
per message handed out and not yet acknowledged, with when it becomes visible again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from podium.store.base import Base, UTCDateTime, utcnow

__all__ = ["BusGroupRow", "BusMessageRow", "BusPendingRow"]

_BIGINT_PK = BigInteger().with_variant(Integer, "sqlite")


class BusMessageRow(Base):
    """One message of one topic; ``body`` is its JSON text."""

    __tablename__ = "event_bus_messages"
    __table_args__ = (Index("ix_event_bus_messages_topic_id", "topic", "id"),)

    id: Mapped[int] = mapped_column(_BIGINT_PK, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class BusGroupRow(Base):
    """A consumer group of a topic: its settings and the last message id handed out."""

    __tablename__ = "event_bus_groups"

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    visibility_timeout: Mapped[float] = mapped_column(Float)
    max_deliveries: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusPendingRow(Base):
    """A message handed out to a consumer of a group and not acknowledged yet."""

    __tablename__ = "event_bus_pending"
    __table_args__ = (Index("ix_event_bus_pending_visible", "topic", "group_name", "visible_at"),)

    topic: Mapped[str] = mapped_column(String(200), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    consumer: Mapped[str] = mapped_column(String(200))
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    visible_at: Mapped[datetime] = mapped_column(UTCDateTime)
