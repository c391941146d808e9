"""``/v1/webhooks``: a project's webhook receivers and their delivery log (admins only).

A webhook's secret is in the answer to its creation and nowhere else. The routes are the
remote side of ``p.webhooks`` (:class:`podium.events.webhooks.Webhooks`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from podium.access.roles import Principal
from podium.api.bodies import RequestBody
from podium.api.deps import Admin, platform_of, set_audit_target
from podium.events.webhooks import Delivery, EventType, Webhook, Webhooks, WebhookTest

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["webhooks"])


class WebhookIn(RequestBody):
    url: str
    event_types: list[str] = Field(default_factory=list)
    secret: str | None = None
    allow_http: bool = Field(
        default=False, description="accept a plain http:// url (events travel in clear)"
    )


class WebhookCreated(BaseModel):
    """The new webhook and its secret, which is shown this once."""

    webhook: Webhook
    secret: str


def _webhooks(request: Request, who: Principal) -> Webhooks:
    return platform_of(request, who).webhooks


@router.post("/webhooks", status_code=201)
def create_webhook(body: WebhookIn, request: Request, who: Admin) -> WebhookCreated:
    webhook, secret = _webhooks(request, who).create(
        body.url, event_types=body.event_types, secret=body.secret, allow_http=body.allow_http
    )
    set_audit_target(request, f"/v1/webhooks/{webhook.id}")
    return WebhookCreated(webhook=webhook, secret=secret)


@router.get("/webhooks")
def list_webhooks(request: Request, who: Admin) -> list[Webhook]:
    return _webhooks(request, who).list()


@router.get("/webhooks/event-types")
def list_event_types(request: Request, who: Admin) -> list[EventType]:
    """Every event type a webhook can subscribe to."""
    return _webhooks(request, who).event_types()


@router.get("/webhooks/deliveries")
def list_all_deliveries(
    request: Request, who: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Delivery]:
    """The latest deliveries of every webhook of the project, newest first."""
    return _webhooks(request, who).deliveries(None, limit=limit)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, request: Request, who: Admin) -> Response:
    _webhooks(request, who).delete(webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test")
def test_webhook(webhook_id: str, request: Request, who: Admin) -> WebhookTest:
    """POST a signed ``webhook.test`` event to the webhook now; how its receiver answered."""
    set_audit_target(request, f"/v1/webhooks/{webhook_id}")
    return _webhooks(request, who).test(webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    request: Request,
    who: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Delivery]:
    return _webhooks(request, who).deliveries(webhook_id, limit=limit)
