"""Webhook registration: validation, listing, deletion, and tenancy."""

from __future__ import annotations

import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.events import WebhookService
from podium.platform import Installation


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "file:///etc/passwd", "example.com/hook", "http://", "", 42],
)
def test_a_bad_url_is_refused(webhooks: WebhookService, url: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        webhooks.create(url)  # type: ignore[arg-type]
    assert info.value.field == "url"
    assert "http" in (info.value.remedy or "")


def test_bad_event_types_and_secrets_are_refused(webhooks: WebhookService) -> None:
    with pytest.raises(InvalidInputError) as info:
        webhooks.create("https://ci.example.com/hook", event_types=["Bad Type"])
    assert info.value.field == "event_types"
    with pytest.raises(InvalidInputError) as info:
        webhooks.create("https://ci.example.com/hook", event_types="model.stage_changed")  # type: ignore[arg-type]
    assert info.value.field == "event_types"
    with pytest.raises(InvalidInputError) as info:
        webhooks.create("https://ci.example.com/hook", secret="short")
    assert info.value.field == "secret"


def test_create_shows_the_secret_once_and_list_never(webhooks: WebhookService) -> None:
    hook, secret = webhooks.create("https://ci.example.com/hook")
    assert len(secret) >= 32
    assert hook.event_types == [] and hook.active
    listed = webhooks.list()
    assert [h.id for h in listed] == [hook.id]
    assert secret not in listed[0].model_dump_json()
    _, given = webhooks.create("https://ci.example.com/other", secret="my-own-secret-123")
    assert given == "my-own-secret-123"


def test_delete_removes_the_webhook_and_unknown_ids_are_404(webhooks: WebhookService) -> None:
    hook, _ = webhooks.create("https://ci.example.com/hook")
    webhooks.delete(hook.id)
    assert webhooks.list() == []
    with pytest.raises(NotFoundError):
        webhooks.delete(hook.id)
    with pytest.raises(NotFoundError):
        webhooks.deliveries(hook.id)
    with pytest.raises(InvalidInputError):
        webhooks.deliveries(limit=0)


def test_another_projects_webhook_is_invisible(
    installation: Installation, webhooks: WebhookService, project_name: str
) -> None:
    other = WebhookService(installation.db, installation.projects.ensure(project_name + "-b"))
    hook, _ = other.create("https://ci.example.com/hook")
    assert webhooks.list() == []
    with pytest.raises(NotFoundError):
        webhooks.delete(hook.id)
    with pytest.raises(NotFoundError):
        webhooks.deliveries(hook.id)
    assert [h.id for h in other.list()] == [hook.id]
