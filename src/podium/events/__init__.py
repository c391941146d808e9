"""Platform events: the outbox, its dispatcher, webhooks and their signatures.

Areas call :func:`record_event` inside their own write transaction; an
:class:`EventDispatcher` delivers committed events to in-process subscribers and to the
project's webhooks (HMAC-SHA256-signed, retried with exponential backoff); receivers
check bodies with :func:`verify_signature`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
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

# Imported on first use: `podium webhooks ls` needs no dispatcher (ADR 0015).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EventDispatcher": "podium.events.dispatcher",
        "Subscriber": "podium.events.dispatcher",
        "Event": "podium.events.outbox",
        "record_event": "podium.events.outbox",
        "SIGNATURE_HEADER": "podium.events.signing",
        "sign": "podium.events.signing",
        "verify_signature": "podium.events.signing",
        "Delivery": "podium.events.webhooks",
        "EventType": "podium.events.webhooks",
        "Webhook": "podium.events.webhooks",
        "Webhooks": "podium.events.webhooks",
        "WebhookService": "podium.events.webhooks",
        "WebhookTest": "podium.events.webhooks",
    },
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
