"""Webhooks: a project's receiver URLs, and the log of deliveries to them.

A webhook gets every event of its project, or only those whose type is in its
``event_types`` (any of :data:`EVENT_TYPES`: registry, deployment, alert, feature and
table events). Its secret signs each body (see :mod:`podium.events.signing`); it is
returned once, by :meth:`Webhooks.create`, and never again.

:class:`Webhooks` is the contract ``p.webhooks`` keeps embedded (:class:`WebhookService`)
and against a server (:class:`podium.client.webhooks.HttpWebhooks`).
"""

from __future__ import annotations

import builtins
import json
import secrets
import time
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Role
from podium.errors import (
    BackendUnavailableError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.events.outbox import Event, validate_event_type
from podium.events.signing import SIGNATURE_HEADER, sign
from podium.events.tables import DeliveryRow, EventRow, WebhookRow
from podium.store.base import utcnow
from podium.store.database import Database
from podium.store.encryption import Keyring, open_secret, seal_secret

__all__ = [
    "EVENT_TYPES",
    "TEST_EVENT_TYPE",
    "Delivery",
    "EventType",
    "Webhook",
    "WebhookService",
    "WebhookTest",
    "Webhooks",
    "WebhooksUnavailable",
    "check_event_types",
]

EVENT_TYPES: dict[str, str] = {
    "model.version_registered": "a model version was registered",
    "model.alias_changed": "a model alias was set, moved or deleted",
    "model.policy_changed": "a model's approval policy changed",
    "model.transition_requested": "a stage transition was requested",
    "model.transition_approved": "a stage transition request was approved",
    "model.transition_rejected": "a stage transition request was rejected or cancelled",
    "model.stage_changed": "a model version moved to another stage",
    "deployment.updated": "a deployment was created, rolled out, promoted or rolled back",
    "deployment.deleted": "a deployment was deleted",
    "alert.fired": "an alert rule's condition held long enough: the alert fires",
    "alert.resolved": "a firing alert's condition no longer holds",
    "features.applied": "feature definitions (entities, views) were applied",
    "features.materialized": "a feature view was materialized into the online store",
    "features.pushed": "rows were pushed to a feature view (its source table and online store)",
    "schema.registered": "a new version of a schema subject was registered",
    "table.updated": "a lake table committed a new version (create, append, overwrite, merge, "
    "delete or restore)",
}
"""Every event type the platform records, with what it means: a webhook subscribes to
any of them (``tests/events/test_event_types.py`` keeps this list complete)."""

TEST_EVENT_TYPE = "webhook.test"
"""The type of the event :meth:`Webhooks.test` sends (never recorded, never subscribed)."""

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


class EventType(BaseModel):
    """An event type a webhook can subscribe to, and what it means."""

    model_config = ConfigDict(frozen=True)

    type: str
    description: str


class WebhookTest(BaseModel):
    """How a receiver answered the signed test event :meth:`Webhooks.test` sent it."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str
    url: str
    ok: bool
    status_code: int | None
    error: str
    duration_ms: float


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


def _check_url(url: object, *, allow_http: bool = False) -> str:
    remedy = "give an absolute https:// URL, e.g. https://ci.example.com/hooks"
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
    if parts.scheme == "http" and not allow_http:
        # Events and their signatures would cross the network in clear.
        raise InvalidInputError(
            f"the webhook url {url!r} is plain http://; webhooks are sent over https:// only",
            field="url",
            remedy="give an https:// URL, or allow plain http for this webhook "
            "(allow_http=True, `podium webhooks add --allow-http`; for every webhook: "
            "PODIUM_WEBHOOKS_ALLOW_HTTP=true on the server)",
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


def check_event_types(event_types: object) -> list[str]:
    """The sorted, distinct types of ``event_types``, each one of :data:`EVENT_TYPES`.

    ``None`` or ``[]`` means every event type, present and future.
    """
    remedy = "pass e.g. ['model.stage_changed'], or nothing for every event"
    if event_types is not None and not isinstance(event_types, list):
        raise InvalidInputError(
            f"event_types must be a list of event types; got {event_types!r} instead",
            field="event_types",
            remedy=remedy,
        )
    types = {validate_event_type(t, field="event_types") for t in event_types or []}
    unknown = sorted(types - EVENT_TYPES.keys())
    if unknown:
        raise InvalidInputError(
            f"unknown event type {unknown[0]!r}; the event types are {', '.join(EVENT_TYPES)}",
            field="event_types",
            remedy=remedy,
        )
    return sorted(types)


class Webhooks(Protocol):
    """A project's webhooks (``p.webhooks``): receivers of its events, signed and retried.

    Every method needs the admin role. The server (``podium up``) delivers the events;
    embedded, any process running an :class:`~podium.events.EventDispatcher` does.
    """

    def create(
        self,
        url: str,
        *,
        event_types: list[str] | None = None,
        secret: str | None = None,
        allow_http: bool = False,
    ) -> tuple[Webhook, str]:
        """Register ``url`` to receive the project's events; returns the webhook and its
        signing secret, which is shown only now.

        ``url`` must be ``https://``; a plain ``http://`` one is an InvalidInputError
        unless ``allow_http`` (or the server's ``PODIUM_WEBHOOKS_ALLOW_HTTP``) allows it.

        ``event_types`` limits it to some of :meth:`event_types` (``None``: every type);
        an unknown type is an InvalidInputError listing the valid ones. ``secret`` (16 to
        256 characters) is generated when omitted.
        """
        ...

    def list(self) -> builtins.list[Webhook]:
        """Every webhook of the project, oldest first (secrets are never shown)."""
        ...

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook and its delivery log; a missing one is a NotFoundError."""
        ...

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[Delivery]:
        """The latest deliveries (1 to 1000), newest first, of one webhook or of all."""
        ...

    def test(self, webhook_id: str) -> WebhookTest:
        """POST a signed ``webhook.test`` event to the webhook now and report how its
        receiver answered (nothing is recorded or retried)."""
        ...

    def event_types(self) -> builtins.list[EventType]:
        """Every event type a webhook can subscribe to, with what it means."""
        ...


def _webhook(row: WebhookRow, project: str, keyring: Keyring | None = None) -> Webhook:
    return Webhook(
        id=row.id,
        project=project,
        url=open_secret(keyring, row.url, what=f"the url of webhook {row.id}"),
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
    """The embedded :class:`Webhooks`: one project's webhooks in the metadata database.

    Built for one caller: ``role`` below admin is refused, and ``audit`` records every
    change (the API and CLI call it, so each change is recorded once). With a ``keyring``
    each webhook's URL (it may carry credentials) and signing secret are stored encrypted
    (:func:`~podium.store.encryption.seal_secret`); rows written in clear still read.
    """

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        role: Role = Role.ADMIN,
        actor: str = "",
        audit: Auditor | None = None,
        timeout: float = 10.0,
        allow_http: bool = False,
        keyring: Keyring | None = None,
    ) -> None:
        self._keyring = keyring
        self._db = db
        self._allow_http = allow_http
        self._project = project
        self._role = role
        self._actor = actor
        self._audit = audit or Auditor.disabled()
        self._timeout = timeout

    def create(
        self,
        url: str,
        *,
        event_types: list[str] | None = None,
        secret: str | None = None,
        allow_http: bool = False,
    ) -> tuple[Webhook, str]:
        self._require_admin("creating a webhook")
        _check_url(url, allow_http=allow_http or self._allow_http)
        types = check_event_types(event_types)
        secret = _check_secret(secret)
        with self._db.write() as session:
            row = WebhookRow(
                id=secrets.token_hex(8),
                project_id=self._project.id,
                url=seal_secret(self._keyring, url),
                secret=seal_secret(self._keyring, secret),
                event_types=types,
                active=True,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            self._audit.note(session, "webhooks.create", f"webhook:{row.id}")
            return _webhook(row, self._project.name, self._keyring), secret

    def list(self) -> list[Webhook]:
        self._require_admin("listing webhooks")
        with self._db.read() as session:
            rows = session.scalars(
                select(WebhookRow)
                .where(WebhookRow.project_id == self._project.id)
                .order_by(WebhookRow.created_at, WebhookRow.id)
            ).all()
        return [_webhook(row, self._project.name, self._keyring) for row in rows]

    def delete(self, webhook_id: str) -> None:
        self._require_admin("deleting a webhook")
        with self._db.write() as session:
            self._get(session, webhook_id)
            session.execute(delete(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id))
            session.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))
            self._audit.note(session, "webhooks.delete", f"webhook:{webhook_id}")

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[Delivery]:
        self._require_admin("reading webhook deliveries")
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

    def test(self, webhook_id: str) -> WebhookTest:
        self._require_admin("testing a webhook")
        with self._db.read() as session:
            row = self._get(session, webhook_id)
            url = open_secret(self._keyring, row.url, what=f"the url of webhook {row.id}")
            secret = open_secret(self._keyring, row.secret, what=f"the secret of webhook {row.id}")
        event = Event(
            id=0,
            project=self._project.name,
            type=TEST_EVENT_TYPE,
            subject=f"webhook:{webhook_id}",
            payload={"webhook_id": webhook_id, "message": "a test event from podium"},
            actor=self._actor,
            created_at=utcnow(),
        )
        body = json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "podium-webhooks",
            "X-Podium-Event": TEST_EVENT_TYPE,
            "X-Podium-Delivery": "test",
            SIGNATURE_HEADER: sign(secret, body),
        }
        status_code: int | None = None
        error = ""
        started = time.perf_counter()
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=self._timeout)
            status_code = response.status_code
            if not response.is_success:
                error = f"the receiver answered HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:1000]
        return WebhookTest(
            webhook_id=webhook_id,
            url=url,
            ok=not error,
            status_code=status_code,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def event_types(self) -> builtins.list[EventType]:
        return [EventType(type=name, description=text) for name, text in EVENT_TYPES.items()]

    def _require_admin(self, action: str) -> None:
        if self._role.rank < Role.ADMIN.rank:
            raise PermissionDeniedError(
                f"{action} needs the admin role; {self._actor or 'this caller'} has "
                f"{self._role.value}",
                remedy="ask an admin of the project for a key with the admin role",
            )

    def _get(self, session: Session, webhook_id: str) -> WebhookRow:
        row = session.get(WebhookRow, webhook_id) if isinstance(webhook_id, str) else None
        if row is None or row.project_id != self._project.id:
            raise NotFoundError(
                f"webhook {webhook_id!r} does not exist in project {self._project.name!r}",
                field="webhook_id",
                remedy="list the project's webhooks to find its id",
            )
        return row


class WebhooksUnavailable:
    """The :class:`Webhooks` of a platform built without them: every call says so."""

    def _fail(self) -> BackendUnavailableError:
        return BackendUnavailableError(
            "this platform was built without webhooks",
            remedy="get the platform from podium.connect(), which wires p.webhooks",
        )

    def create(
        self,
        url: str,
        *,
        event_types: list[str] | None = None,
        secret: str | None = None,
        allow_http: bool = False,
    ) -> tuple[Webhook, str]:
        raise self._fail()

    def list(self) -> builtins.list[Webhook]:
        raise self._fail()

    def delete(self, webhook_id: str) -> None:
        raise self._fail()

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[Delivery]:
        raise self._fail()

    def test(self, webhook_id: str) -> WebhookTest:
        raise self._fail()

    def event_types(self) -> builtins.list[EventType]:
        raise self._fail()
