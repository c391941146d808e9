"""The outbox: platform events written in the same transaction as the change they describe.

An area that changes state calls :func:`record_event` with the session of its own write
transaction, so the event commits or rolls back together with the change. The
:class:`~podium.events.dispatcher.EventDispatcher` later delivers committed events to the
in-process subscribers and to webhooks; since both steps are state in the database,
nothing is lost when a process dies in between::

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
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from podium.errors import InvalidInputError
from podium.events.tables import EventRow
from podium.store.base import utcnow

__all__ = ["EVENT_TYPE_PATTERN", "Event", "record_event", "validate_event_type"]

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
    session.add(
        EventRow(
            project_id=project_id,
            type=type,
            subject=subject,
            payload=payload,
            actor=actor,
            created_at=utcnow(),
        )
    )
