"""Webhooks over HTTP: the same interface as the embedded WebhookService (``p.webhooks``)."""

from __future__ import annotations

import builtins

from pydantic import TypeAdapter

from podium.client.http import ApiClient, url_path
from podium.events.webhooks import Delivery, EventType, Webhook, WebhookTest

__all__ = ["HttpWebhooks"]

_WEBHOOKS = TypeAdapter(list[Webhook])
_DELIVERIES = TypeAdapter(list[Delivery])
_EVENT_TYPES = TypeAdapter(list[EventType])


def _path(webhook_id: str, suffix: str = "") -> str:
    return url_path("/v1/webhooks/{}", webhook_id) + suffix


class HttpWebhooks:
    """A project's webhooks on a podium server (the key needs the admin role)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def create(
        self,
        url: str,
        *,
        event_types: list[str] | None = None,
        secret: str | None = None,
        allow_http: bool = False,
    ) -> tuple[Webhook, str]:
        body: dict[str, object] = {
            "url": url,
            "event_types": event_types or [],
            "secret": secret,
        }
        if allow_http:  # only when asked: an older server knows no such member
            body["allow_http"] = True
        made = self._api.json("POST", "/v1/webhooks", json=body)
        return Webhook.model_validate(made["webhook"]), str(made["secret"])

    def list(self) -> builtins.list[Webhook]:
        return _WEBHOOKS.validate_python(self._api.json("GET", "/v1/webhooks"))

    def delete(self, webhook_id: str) -> None:
        self._api.request("DELETE", _path(webhook_id))

    def deliveries(
        self, webhook_id: str | None = None, *, limit: int = 100
    ) -> builtins.list[Delivery]:
        path = "/v1/webhooks/deliveries" if webhook_id is None else _path(webhook_id, "/deliveries")
        found = self._api.json("GET", path, params={"limit": limit})
        return _DELIVERIES.validate_python(found)

    def test(self, webhook_id: str) -> WebhookTest:
        return WebhookTest.model_validate(self._api.json("POST", _path(webhook_id, "/test")))

    def event_types(self) -> builtins.list[EventType]:
        return _EVENT_TYPES.validate_python(self._api.json("GET", "/v1/webhooks/event-types"))
