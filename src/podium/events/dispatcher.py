"""The dispatcher: delivers outbox events to in-process subscribers and to webhooks.

Each :meth:`EventDispatcher.dispatch_once` does two things, both as state in the
metadata database:

1. **Fan-out.** In one write transaction it claims undispatched outbox events, adds a
   ``pending`` delivery for every active webhook of the event's project that wants the
   event's type, and marks the events dispatched. After the commit, the in-process
   subscribers get each event (the platform event stream of this process).
2. **Delivery.** It claims due deliveries (``pending``, or ``failed`` and due for a retry)
   by counting the attempt and leasing the row (``next_attempt_at`` moves past the time
   the whole batch's requests may take), POSTs the signed event, and records the outcome: 2xx is
   ``delivered``; anything else is ``failed`` with the status code or error and an
   exponential backoff, or ``gave_up`` after ``max_attempts``.

Subscribers are also how events reach the event bus when the process that committed them
did not publish them (ADR 0023): ``dispatcher.subscribe(installation.announcer.catch_up)``
publishes on ``podium.events`` every event no announcer of this process published already.

Claims are transactions: on SQLite ``BEGIN IMMEDIATE`` serialises them; on PostgreSQL
``SELECT ... FOR UPDATE SKIP LOCKED`` lets several servers share the work. So two
dispatchers never send the same attempt twice, and a dispatcher that dies mid-request
leaves a lease that expires, after which any dispatcher (say, the restarted server)
retries the delivery: none is lost.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from podium.access.tables import ProjectRow
from podium.events.outbox import Event
from podium.events.signing import SIGNATURE_HEADER, sign
from podium.events.tables import DeliveryRow, EventRow, WebhookRow
from podium.store.database import Database
from podium.store.encryption import Keyring, open_secret
from podium.store.periodic import Periodic

__all__ = ["EventDispatcher", "Subscriber"]

Subscriber = Callable[[Event], None]

_log = logging.getLogger(__name__)
_MAX_DELAY = 600.0
_EVENT_BATCH = 100
_DELIVERY_BATCH = 32
_SENDERS = 8  # concurrent requests, so one slow receiver does not hold up the rest
_LEASE_MARGIN = 30.0
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class _Claim:
    """A delivery this dispatcher owns until its outcome is recorded."""

    delivery_id: int
    attempt: int
    url: str
    secret: str
    event: Event


class EventDispatcher:
    """Fan outbox events out to subscribers and webhooks, with retries; see the module."""

    def __init__(
        self,
        db: Database,
        *,
        timeout: float = 5.0,
        max_attempts: int = 8,
        base_delay: float = 0.5,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self._db = db
        self._keyring = keyring  # opens webhook URLs and secrets stored encrypted
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._clock = clock
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": "podium-webhooks"},
        )
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        # At once when started, again at once while there was work, else every 0.5 s; a
        # failed round (an outage) is logged and retried: the state stays in the database.
        self._loop = Periodic(
            "podium-events", _POLL_SECONDS, self.dispatch_once, wait_first=False, drain=True
        )

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event this dispatcher dispatches.

        Returns a function that unsubscribes. A callback that raises is logged and does
        not stop the others.
        """
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def dispatch_once(self) -> int:
        """One round of fan-out and delivery; the number of events plus attempts handled."""
        events = self._fan_out()
        self._notify(events)
        claims = self._claim_deliveries()
        if len(claims) == 1:
            self._deliver(claims[0])
        elif claims:
            with ThreadPoolExecutor(_SENDERS, thread_name_prefix="podium-webhook") as pool:
                list(pool.map(self._deliver, claims))
        return len(events) + len(claims)

    def start(self) -> None:
        """Run :meth:`dispatch_once` in a background thread every half second."""
        self._loop.start()

    def stop(self, *, timeout: float | None = None) -> None:
        """Stop the background thread (waiting for its current round) and close HTTP."""
        self._loop.stop(timeout=timeout)
        self._http.close()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _fan_out(self) -> list[Event]:
        now = self._now()
        pending = select(EventRow.id).where(EventRow.dispatched_at.is_(None)).limit(1)
        with self._db.read() as session:
            if session.scalar(pending) is None:
                return []  # idle rounds take no write lock (SQLite has only one)
        with self._db.write() as session:
            rows = session.scalars(
                select(EventRow)
                .where(EventRow.dispatched_at.is_(None))
                .order_by(EventRow.id)
                .limit(_EVENT_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            project_ids = {row.project_id for row in rows}
            names = _project_names(session, project_ids)
            hooks = session.scalars(
                select(WebhookRow).where(
                    WebhookRow.project_id.in_(project_ids), WebhookRow.active.is_(True)
                )
            ).all()
            for row in rows:
                for hook in hooks:
                    wanted = not hook.event_types or row.type in hook.event_types
                    if hook.project_id == row.project_id and wanted:
                        session.add(
                            DeliveryRow(
                                webhook_id=hook.id,
                                event_id=row.id,
                                attempt=0,
                                status="pending",
                                error="",
                                next_attempt_at=now,
                                created_at=now,
                            )
                        )
                row.dispatched_at = now
            return [_event(row, names[row.project_id]) for row in rows]

    def _notify(self, events: list[Event]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # one broken subscriber must not starve the others
                    _log.exception("event subscriber %r failed on event %s", callback, event.id)

    def _claim_deliveries(self) -> list[_Claim]:
        now = self._now()
        # Held until every claimed request of the batch has had its full timeout.
        rounds = -(-_DELIVERY_BATCH // _SENDERS)
        lease = now + timedelta(seconds=self._timeout * rounds + _LEASE_MARGIN)
        due = (
            or_(DeliveryRow.status == "pending", DeliveryRow.status == "failed"),
            DeliveryRow.next_attempt_at <= now,
        )
        with self._db.read() as session:
            if session.scalar(select(DeliveryRow.id).where(*due).limit(1)) is None:
                return []
        with self._db.write() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .where(*due)
                .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
                .limit(_DELIVERY_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return []
            hooks = {
                hook.id: hook
                for hook in session.scalars(
                    select(WebhookRow).where(WebhookRow.id.in_({r.webhook_id for r in rows}))
                )
            }
            events = {
                event.id: event
                for event in session.scalars(
                    select(EventRow).where(EventRow.id.in_({r.event_id for r in rows}))
                )
            }
            names = _project_names(session, {e.project_id for e in events.values()})
            claims = []
            for row in rows:
                row.attempt += 1
                row.next_attempt_at = lease
                hook, event = hooks[row.webhook_id], events[row.event_id]
                claims.append(
                    _Claim(
                        delivery_id=row.id,
                        attempt=row.attempt,
                        url=open_secret(self._keyring, hook.url, what=f"webhook {hook.id}"),
                        secret=open_secret(
                            self._keyring, hook.secret, what=f"the secret of webhook {hook.id}"
                        ),
                        event=_event(event, names[event.project_id]),
                    )
                )
            return claims

    def _deliver(self, claim: _Claim) -> None:
        body = _body(claim.event)
        headers = {
            "Content-Type": "application/json",
            "X-Podium-Event": claim.event.type,
            "X-Podium-Delivery": str(claim.delivery_id),
            SIGNATURE_HEADER: sign(claim.secret, body),
        }
        status_code: int | None = None
        error = ""
        try:
            response = self._http.post(claim.url, content=body, headers=headers)
            status_code = response.status_code
            if not response.is_success:
                error = f"the receiver answered HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:1000]
        self._record(claim, status_code=status_code, error=error)

    def _record(self, claim: _Claim, *, status_code: int | None, error: str) -> None:
        now = self._now()
        with self._db.write() as session:
            row = session.get(DeliveryRow, claim.delivery_id)
            if row is None or row.attempt != claim.attempt:
                return  # webhook deleted meanwhile, or our lease expired and was re-claimed
            row.status_code = status_code
            row.error = error
            if not error:
                row.status = "delivered"
                row.delivered_at = now
            elif claim.attempt >= self._max_attempts:
                row.status = "gave_up"
            else:
                row.status = "failed"
                delay = min(self._base_delay * 2 ** (claim.attempt - 1), _MAX_DELAY)
                row.next_attempt_at = now + timedelta(seconds=delay)


def _project_names(session: Session, ids: set[int]) -> dict[int, str]:
    query = select(ProjectRow.id, ProjectRow.name).where(ProjectRow.id.in_(ids))
    return {project_id: name for project_id, name in session.execute(query)}


def _event(row: EventRow, project: str) -> Event:
    return Event(
        id=row.id,
        project=project,
        type=row.type,
        subject=row.subject,
        payload=row.payload,
        actor=row.actor,
        created_at=row.created_at,
    )


def _body(event: Event) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()
