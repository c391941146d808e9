"""The outbox: platform events written in the same transaction as the change they describe.

An area that changes state calls :func:`record_event` with the session of its own write
transaction, so the event commits or rolls back together with the change. The
:class:`~podium.events.dispatcher.EventDispatcher` later delivers committed events to the
in-process subscribers and to webhooks; since both steps are state in the database,
nothing is lost when a process dies in between. :func:`on_commit` tells a listener the
ids of a transaction's events as soon as it commits (the event bus announcer publishes
them at once, ADR 0023)::

    with db.write() as session:
        session.add(version_row)
        record_event(
            session,
            project_id=project.id,
            type="model.version_registered",
            subject="customer-churn/3",
            payload={"model": "customer-churn", "version": 3},
            actor=user,
        )
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.access.tables import ProjectRow
from podium.errors import InvalidInputError
from podium.events.tables import EventRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = [
    "EVENT_TYPE_PATTERN",
    "Event",
    "load_events",
    "on_commit",
    "record_event",
    "validate_event_type",
]

_RECORDED = "podium.events.recorded"
"""The ``session.info`` key of the events a transaction recorded, for :func:`on_commit`."""

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)


class Event(BaseModel):
    """A platform event as subscribers and webhook receivers see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    project: str
    type: str
    subject: str
    payload: dict[str, Any]
    actor: str
    created_at: datetime


def validate_event_type(value: object, *, field: str = "type") -> str:
    """``value`` if it is an event type such as ``model.version_registered``."""
    if not isinstance(value, str) or len(value) > 64 or not _EVENT_TYPE.match(value):
        raise InvalidInputError(
            f"an event type must match {EVENT_TYPE_PATTERN} in at most 64 characters; "
            f"got {value!r} instead",
            field=field,
            remedy="use '<area>.<what_happened>', e.g. 'model.version_registered'",
        )
    return value


def _check_text(value: object, *, field: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        shown = value[:80] + "..." if isinstance(value, str) else value
        raise InvalidInputError(
            f"the event {field!r} must be text of at most {limit} characters; "
            f"got {shown!r} instead",
            field=field,
            remedy=f"shorten the {field} and put details into the payload",
        )
    return value


def record_event(
    session: Session,
    *,
    project_id: int,
    type: str,
    subject: str,
    payload: dict[str, Any],
    actor: str,
) -> None:
    """Add an event to the outbox inside the caller's open write transaction.

    Nothing is flushed or committed here: the event becomes visible exactly when, and
    only if, the caller's transaction commits.
    """
    validate_event_type(type)
    _check_text(subject, field="subject", limit=256)
    _check_text(actor, field="actor", limit=128)
    if not isinstance(payload, dict):
        raise InvalidInputError(
            f"the event payload must be a JSON object; got {payload.__class__.__name__} instead",
            field="payload",
            remedy="pass a dict of JSON values",
        )
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the event payload is not JSON-serialisable: {exc}",
            field="payload",
            remedy="convert datetimes to ISO strings and numpy values to Python numbers",
        ) from exc
    row = EventRow(
        project_id=project_id,
        type=type,
        subject=subject,
        payload=payload,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(row)
    session.info.setdefault(_RECORDED, []).append(row)


def on_commit(db: Database, listener: Callable[[list[int]], None]) -> Callable[[], None]:
    """Call ``listener(ids)`` with the outbox ids of each transaction on ``db`` that
    recorded events, right after it commits (in the committing thread; keep it quick).

    Returns a function that stops listening. A rolled-back transaction calls nothing.
    """

    def committed(session: Session) -> None:
        rows = session.info.get(_RECORDED)
        if not rows or not _is_on(session, db):
            return
        del session.info[_RECORDED]
        listener([row.id for row in rows])

    def rolled_back(session: Session) -> None:
        if _is_on(session, db):
            session.info.pop(_RECORDED, None)

    sqlalchemy_event.listen(Session, "after_commit", committed)
    sqlalchemy_event.listen(Session, "after_rollback", rolled_back)

    def stop() -> None:
        sqlalchemy_event.remove(Session, "after_commit", committed)
        sqlalchemy_event.remove(Session, "after_rollback", rolled_back)

    return stop


def load_events(db: Database, ids: Sequence[int]) -> list[Event]:
    """The committed events with these outbox ids, in id order (missing ids are skipped)."""
    if not ids:
        return []
    with db.read() as session:
        rows = session.execute(
            select(EventRow, ProjectRow.name)
            .join(ProjectRow, ProjectRow.id == EventRow.project_id)
            .where(EventRow.id.in_(list(ids)))
            .order_by(EventRow.id)
        ).all()
    return [
        Event(
            id=row.id,
            project=project,
            type=row.type,
            subject=row.subject,
            payload=row.payload,
            actor=row.actor,
            created_at=row.created_at,
        )
        for row, project in rows
    ]


def _is_on(session: Session, db: Database) -> bool:
    """Whether ``session`` works on ``db`` (its write sessions bind to an option engine
    that shares the engine's pool)."""
    bind = session.bind
    return bind is not None and getattr(bind, "pool", None) is db.engine.pool
