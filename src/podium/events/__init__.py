"""Platform events: the outbox, its dispatcher, webhooks and their signatures.

Areas call :func:`record_event` inside their own write transaction; an
:class:`EventDispatcher` delivers committed events to in-process subscribers and to the
project's webhooks (HMAC-SHA256-signed, retried with exponential backoff); receivers
check bodies with :func:`verify_signature`.
"""

from __future__ import annotations

from podium.events.dispatcher import EventDispatcher, Subscriber
from podium.events.outbox import Event, record_event
from podium.events.signing import SIGNATURE_HEADER, sign, verify_signature
from podium.events.webhooks import (
    Delivery,
    EventType,
    Webhook,
    Webhooks,
    WebhookService,
    WebhookTest,
)

__all__ = [
    "SIGNATURE_HEADER",
    "Delivery",
    "Event",
    "EventDispatcher",
    "EventType",
    "Subscriber",
    "Webhook",
    "WebhookService",
    "WebhookTest",
    "Webhooks",
    "record_event",
    "sign",
    "verify_signature",
]
