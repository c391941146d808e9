"""Webhooks: a project's receiver URLs, and the log of deliveries to them.

A webhook gets every event of its project, or only those whose type is in its
``event_types``. Its secret signs each body (see :mod:`podium.events.signing`); it is
returned once, by :meth:`WebhookService.create`, and never again.
"""

from __future__ import annotations

import builtins
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.errors import InvalidInputError, NotFoundError
from podium.events.outbox import validate_event_type
from podium.events.tables import DeliveryRow, EventRow, WebhookRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["Delivery", "Webhook", "WebhookService"]

_MIN_SECRET = 16
_MAX_SECRET = 256
_MAX_LIMIT = 1000


class Webhook(BaseModel):
    """A registered receiver; the secret is deliberately not part of it."""

    model_config = ConfigDict(frozen=True)

    id: str
    project: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


class Delivery(BaseModel):
    """One event sent (or still to be sent) to one webhook."""

    model_config = ConfigDict(frozen=True)

    id: int
    webhook_id: str
    event_id: int
    event_type: str
    attempt: int
    status: str  # "pending" | "delivered" | "failed" | "gave_up"
    status_code: int | None
    error: str
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


def _check_url(url: object) -> str:
    remedy = "give an absolute http:// or https:// URL, e.g. https://ci.example.com/hooks"
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidInputError(
            f"the webhook url must be text of at most 2048 characters; got {url!r} instead",
            field="url",
            remedy=remedy,
        )
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an invalid IPv6 literal or port
        ok = False
    if not ok:
        raise InvalidInputError(
            f"the webhook url must be an http(s) URL with a host; got {url!r} instead",
            field="url",
            remedy=remedy,
        )
    return url


def _check_secret(secret: object) -> str:
    if secret is None:
        return "whsec_" + secrets.token_urlsafe(32)
    if not isinstance(secret, str) or not _MIN_SECRET <= len(secret) <= _MAX_SECRET:
        shown = f"{len(secret)} characters" if isinstance(secret, str) else repr(secret)
        raise InvalidInputError(
            f"a webhook secret must be {_MIN_SECRET} to {_MAX_SECRET} characters; "
            f"got {shown} instead",
            field="secret",
            remedy="omit the secret to have a strong one generated",
        )
    return secret


def _webhook(row: WebhookRow, project: str) -> Webhook:
    return Webhook(
        id=row.id,
        project=project,
        url=row.url,
        event_types=list(row.event_types),
        active=row.active,
        created_at=row.created_at,
    )


def _delivery(row: DeliveryRow, event_type: str) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=event_type,
        attempt=row.attempt,
        status=row.status,
        status_code=row.status_code,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class WebhookService:
    """Create, list and delete one project's webhooks, and read their delivery log."""

    def __init__(self, db: Database, project: Project) -> None:
        self._db = db
        self._project = project

    def create(
        self, url: str, *, event_types: list[str] | None = None, secret: str | None = None
    ) -> tuple[Webhook, str]:
        """Register ``url``; returns the webhook and its secret, which is shown only now.

        ``event_types`` limits the webhook to those types; ``None`` or ``[]`` means all.
        """
        _check_url(url)
        if event_types is not None and not isinstance(event_types, list):
            raise InvalidInputError(
                f"event_types must be a list of event types; got {event_types!r} instead",
                field="event_types",
                remedy="pass e.g. ['model.stage_changed'], or nothing for every event",
            )
        types = sorted({validate_event_type(t, field="event_types") for t in event_types or []})
        secret = _check_secret(secret)
        with self._db.write() as session:
            row = WebhookRow(
                id=secrets.token_hex(8),
                project_id=self._project.id,
                url=url,
                secret=secret,
                event_types=types,
                active=True,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _webhook(row, self._project.name), secret

    def list(self) -> list[Webhook]:
        """Every webhook of the project, oldest first."""
        with self._db.read() as session:
            rows = session.scalars(
                select(WebhookRow)
                .where(WebhookRow.project_id == self._project.id)
                .order_by(WebhookRow.created_at, WebhookRow.id)
            ).all()
        return [_webhook(row, self._project.name) for row in rows]

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log; undelivered events are dropped for it."""
        with self._db.write() as session:
            self._get(session, webhook_id)
            session.execute(delete(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id))
            session.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[Delivery]:
        """The latest deliveries, newest first, of one webhook or of all of the project's."""
        if not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise InvalidInputError(
                f"limit must be an integer from 1 to {_MAX_LIMIT}; got {limit!r} instead",
                field="limit",
                remedy="page through older deliveries with a smaller limit",
            )
        query = (
            select(DeliveryRow, EventRow.type)
            .join(WebhookRow, WebhookRow.id == DeliveryRow.webhook_id)
            .join(EventRow, EventRow.id == DeliveryRow.event_id)
            .where(WebhookRow.project_id == self._project.id)
            .order_by(DeliveryRow.id.desc())
            .limit(limit)
        )
        with self._db.read() as session:
            if webhook_id is not None:
                self._get(session, webhook_id)
                query = query.where(DeliveryRow.webhook_id == webhook_id)
            rows = session.execute(query).all()
        return [_delivery(row, event_type) for row, event_type in rows]

    def _get(self, session: Session, webhook_id: str) -> WebhookRow:
        row = session.get(WebhookRow, webhook_id) if isinstance(webhook_id, str) else None
        if row is None or row.project_id != self._project.id:
            raise NotFoundError(
                f"webhook {webhook_id!r} does not exist in project {self._project.name!r}",
                field="webhook_id",
                remedy="list the project's webhooks to find its id",
            )
        return row
