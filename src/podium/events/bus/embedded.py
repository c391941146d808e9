"""The embedded event bus: topics and consumer groups as tables of the metadata database.

No extra process: messages, groups and pending lists live in SQLite or PostgreSQL beside
the rest of podium's state (``tables.py``). Consumers and subscribers poll an index
(``topic, id``), so an idle poll is one small read; on PostgreSQL a subscription waits
for a ``NOTIFY`` that every publish sends at commit instead, and reads every 0.2 s only
as a safety net; :meth:`EmbeddedEventBus.consume`
claims in a write transaction (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on the
group's row on PostgreSQL), so two consumers of a group never get the same delivery.
Messages older than ``retention`` are deleted as new ones are published.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from podium.events.bus.protocol import (
    BusMessage,
    BusSubscription,
    MessageHandler,
    Start,
    dead_letter_body,
    dead_letter_topic,
)
from podium.events.bus.subscription import ThreadSubscription
from podium.events.bus.tables import BusGroupRow, BusMessageRow, BusPendingRow
from podium.events.bus.validation import check_group_settings, check_name, encode_body
from podium.store.database import Database

__all__ = ["EmbeddedEventBus"]

_SUBSCRIPTION_BATCH = 500
_CHANNEL = "podium_bus"  # PostgreSQL NOTIFY channel; the payload is the topic
_NOTIFY_WAIT = 0.2  # longest wait for a NOTIFY before reading anyway
_TRIM_EVERY = 1_000  # publishes between two deletions of expired messages


class EmbeddedEventBus:
    """An :class:`~podium.events.bus.protocol.EventBus` on the metadata database.

    ``poll_interval`` is how often an idle consumer or subscriber looks for new messages
    (seconds; it bounds the extra latency); ``retention`` how long messages are kept.
    """

    def __init__(
        self,
        db: Database,
        *,
        poll_interval: float = 0.01,
        retention: timedelta = timedelta(days=7),
        owns_database: bool = False,
    ) -> None:
        self.url = _plain(db.url)
        self._db = db
        self._poll = poll_interval
        self._retention = retention
        self._owns_database = owns_database
        self._lock = threading.Lock()
        self._published = 0
        self._subscriptions: list[ThreadSubscription] = []

    # --- publishing -----------------------------------------------------------------

    def publish(self, topic: str, body: dict[str, Any]) -> str:
        """See :meth:`~podium.events.bus.protocol.EventBus.publish`."""
        check_name(topic, kind="topic")
        text = encode_body(body)
        with self._db.write() as session:
            row = BusMessageRow(topic=topic, body=text, published_at=_now())
            session.add(row)
            session.flush()
            message_id = row.id
            self._notify(session, topic)
        with self._lock:
            self._published += 1
            trim = self._published % _TRIM_EVERY == 0
        if trim:
            self._trim()
        return str(message_id)

    # --- consumer groups --------------------------------------------------------------

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
        with self._db.read() as session:
            if session.get(BusGroupRow, (topic, group)) is not None:
                return
        with self._db.write() as session:
            if session.get(BusGroupRow, (topic, group)) is not None:
                return
            cursor = 0
            if start == "latest":
                last = select(func.max(BusMessageRow.id)).where(BusMessageRow.topic == topic)
                cursor = session.scalar(last) or 0
            session.add(
                BusGroupRow(
                    topic=topic,
                    name=group,
                    cursor=cursor,
                    visibility_timeout=visibility_timeout,
                    max_deliveries=max_deliveries,
                    created_at=_now(),
                )
            )

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
        self.create_group(topic, group)
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            claimed = self._claim(topic, group, consumer, max(1, max_messages))
            remaining = deadline - time.monotonic()
            if claimed or remaining <= 0:
                return claimed
            time.sleep(min(self._poll, remaining))

    def ack(self, message: BusMessage) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.ack`."""
        with self._db.write() as session:
            self._relaxed(session)
            session.execute(_pending_of(message))

    def dead_letter(self, message: BusMessage, reason: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.dead_letter`."""
        text = encode_body(dead_letter_body(message, reason))
        with self._db.write() as session:
            session.execute(_pending_of(message))
            self._notify(session, dead_letter_topic(message.topic))
            session.add(
                BusMessageRow(
                    topic=dead_letter_topic(message.topic), body=text, published_at=_now()
                )
            )

    # --- broadcast ----------------------------------------------------------------------

    def subscribe(self, topic: str, handler: MessageHandler) -> BusSubscription:
        """See :meth:`~podium.events.bus.protocol.EventBus.subscribe`."""
        check_name(topic, kind="topic")
        with self._db.read() as session:
            last = session.scalar(
                select(func.max(BusMessageRow.id)).where(BusMessageRow.topic == topic)
            )
        cursor = [last or 0]
        wait, on_close = self._waiter()
        query = (
            select(BusMessageRow.id, BusMessageRow.body)
            .where(BusMessageRow.topic == topic)
            .order_by(BusMessageRow.id)
            .limit(_SUBSCRIPTION_BATCH)
        )

        def fetch() -> list[BusMessage]:
            with self._db.read() as session:
                rows = session.execute(query.where(BusMessageRow.id > cursor[0])).all()
            if not rows:
                wait()
                return []
            cursor[0] = rows[-1].id
            return [BusMessage(topic=topic, id=str(r.id), body=json.loads(r.body)) for r in rows]

        subscription = ThreadSubscription(
            f"podium-bus-{topic}"[:60], fetch, handler, on_close=on_close
        )
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    # --- housekeeping ------------------------------------------------------------------

    def delete_topic(self, topic: str) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.delete_topic`."""
        check_name(topic, kind="topic")
        with self._db.write() as session:
            session.execute(delete(BusPendingRow).where(BusPendingRow.topic == topic))
            session.execute(delete(BusGroupRow).where(BusGroupRow.topic == topic))
            session.execute(delete(BusMessageRow).where(BusMessageRow.topic == topic))

    def close(self) -> None:
        """See :meth:`~podium.events.bus.protocol.EventBus.close`."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()
        if self._owns_database:
            self._db.dispose()

    def _relaxed(self, session: Session) -> None:
        """On PostgreSQL, commit without waiting for the disk: losing a claim or an
        acknowledgement in a crash only means a redelivery, which at-least-once allows.
        (Publishing always waits: a returned id is a stored message.)"""
        if not self._db.is_sqlite:
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def _notify(self, session: Session, topic: str) -> None:
        """On PostgreSQL, wake the subscriptions when this transaction commits."""
        if not self._db.is_sqlite:
            session.execute(
                text("SELECT pg_notify(:channel, :topic)"), {"channel": _CHANNEL, "topic": topic}
            )

    def _waiter(self) -> tuple[Callable[[], None], Callable[[], None] | None]:
        """How an idle subscription waits: for a NOTIFY on PostgreSQL, else a short sleep."""
        if self._db.is_sqlite:
            return (lambda: time.sleep(self._poll)), None
        import psycopg  # the PostgreSQL driver, present whenever the database is PostgreSQL

        dsn = make_url(self._db.url).set(drivername="postgresql")
        conn = psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True)
        conn.execute(f"LISTEN {_CHANNEL}")

        def wait() -> None:
            for _ in conn.notifies(timeout=_NOTIFY_WAIT, stop_after=1):
                break

        return wait, conn.close

    def _claim(self, topic: str, group: str, consumer: str, limit: int) -> list[BusMessage]:
        now = _now()
        with self._db.read() as session:
            if not _has_work(session, topic, group, now):
                return []  # idle polls take no write lock (SQLite has only one)
        with self._db.write() as session:
            self._relaxed(session)
            settings = session.scalars(
                select(BusGroupRow)
                .where(BusGroupRow.topic == topic, BusGroupRow.name == group)
                .with_for_update()
            ).one()
            visible_at = now + timedelta(seconds=settings.visibility_timeout)
            claimed: list[tuple[int, int]] = []  # (message id, deliveries)
            expired = session.scalars(
                select(BusPendingRow)
                .where(
                    BusPendingRow.topic == topic,
                    BusPendingRow.group_name == group,
                    BusPendingRow.visible_at <= now,
                )
                .order_by(BusPendingRow.message_id)
                .limit(limit)
            ).all()
            bodies = _bodies(session, [p.message_id for p in expired])
            for pending in expired:
                body = bodies.get(pending.message_id)
                if body is None:  # trimmed away meanwhile: nothing left to deliver
                    session.delete(pending)
                elif pending.deliveries >= settings.max_deliveries:
                    gone = BusMessage(
                        topic, str(pending.message_id), body, pending.deliveries, group
                    )
                    reason = (
                        f"not acknowledged after {pending.deliveries} deliveries "
                        f"(visibility timeout {settings.visibility_timeout:g} s)"
                    )
                    self._notify(session, dead_letter_topic(topic))
                    session.add(
                        BusMessageRow(
                            topic=dead_letter_topic(topic),
                            body=encode_body(dead_letter_body(gone, reason)),
                            published_at=now,
                        )
                    )
                    session.delete(pending)
                else:
                    pending.deliveries += 1
                    pending.consumer = consumer
                    pending.visible_at = visible_at
                    claimed.append((pending.message_id, pending.deliveries))
            if len(claimed) < limit:
                fresh = session.execute(
                    select(BusMessageRow.id, BusMessageRow.body)
                    .where(BusMessageRow.topic == topic, BusMessageRow.id > settings.cursor)
                    .order_by(BusMessageRow.id)
                    .limit(limit - len(claimed))
                ).all()
                for row in fresh:
                    session.add(
                        BusPendingRow(
                            topic=topic,
                            group_name=group,
                            message_id=row.id,
                            consumer=consumer,
                            deliveries=1,
                            visible_at=visible_at,
                        )
                    )
                    bodies[row.id] = row.body
                    claimed.append((row.id, 1))
                if fresh:
                    settings.cursor = fresh[-1].id
        return [
            BusMessage(topic, str(mid), _decode(bodies[mid]), deliveries, group, consumer)
            for mid, deliveries in claimed
        ]

    def _trim(self) -> None:
        cutoff = _now() - self._retention
        with self._db.write() as session:
            old = select(BusMessageRow.id).where(BusMessageRow.published_at < cutoff)
            session.execute(delete(BusPendingRow).where(BusPendingRow.message_id.in_(old)))
            session.execute(delete(BusMessageRow).where(BusMessageRow.published_at < cutoff))


def _has_work(session: Session, topic: str, group: str, now: datetime) -> bool:
    cursor = (
        select(BusGroupRow.cursor)
        .where(BusGroupRow.topic == topic, BusGroupRow.name == group)
        .scalar_subquery()
    )
    fresh = select(BusMessageRow.id).where(BusMessageRow.topic == topic, BusMessageRow.id > cursor)
    due = select(BusPendingRow.message_id).where(
        BusPendingRow.topic == topic,
        BusPendingRow.group_name == group,
        BusPendingRow.visible_at <= now,
    )
    return session.scalar(fresh.limit(1)) is not None or session.scalar(due.limit(1)) is not None


def _bodies(session: Session, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(BusMessageRow.id, BusMessageRow.body).where(BusMessageRow.id.in_(ids))
    )
    return {row.id: _decode(row.body) for row in rows}


def _decode(body: Any) -> Any:
    return json.loads(body) if isinstance(body, str) else body


def _pending_of(message: BusMessage) -> Any:
    return delete(BusPendingRow).where(
        BusPendingRow.topic == message.topic,
        BusPendingRow.group_name == message.group,
        BusPendingRow.message_id == int(message.id),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _plain(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
