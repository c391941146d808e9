"""``p.webhooks``: the same contract embedded and against a real server, with a real
receiver on loopback, for every event type of the platform."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import podium
from podium.access.roles import Role
from podium.client.webhooks import HttpWebhooks
from podium.errors import (
    BackendUnavailableError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.events import EventDispatcher, verify_signature
from podium.events.webhooks import (
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    Webhooks,
    WebhookService,
    WebhooksUnavailable,
)
from podium.platform import Installation, Platform
from tests.conftest import LiveServer
from tests.events.conftest import Receiver, drain

Connect = Callable[[Role], Platform]


@pytest.fixture(params=["embedded", "remote"])
def connect(
    request: pytest.FixtureRequest, installation: Installation, project_name: str
) -> Iterator[Connect]:
    """A platform of the test's project with a role: embedded, or over a live server."""
    opened: list[Platform] = []

    def make(role: Role) -> Platform:
        if request.param == "embedded":
            installation.projects.ensure(project_name)
            return installation.platform(project_name, user="local:test", role=role)
        server: LiveServer = request.getfixturevalue("live_server")
        remote = podium.connect(server.url, api_key=server.key(project_name, role))
        opened.append(remote)
        return remote

    yield make
    for platform in opened:
        platform.close()


def test_both_sides_are_the_webhooks_protocol(connect: Connect) -> None:
    webhooks = connect(Role.ADMIN).webhooks
    assert isinstance(webhooks, (WebhookService, HttpWebhooks))
    typed: Webhooks = webhooks  # mypy checks that each side implements the protocol
    assert typed is webhooks


def test_create_list_test_deliveries_delete(connect: Connect, receiver: Receiver) -> None:
    p = connect(Role.ADMIN)
    hook, secret = p.webhooks.create(
        receiver.url, event_types=["alert.fired", "alert.fired"], allow_http=True
    )
    assert hook.event_types == ["alert.fired"] and hook.project == p.project
    assert [w.id for w in p.webhooks.list()] == [hook.id]

    tested = p.webhooks.test(hook.id)
    assert (tested.ok, tested.status_code, tested.error, tested.url) == (True, 200, "", hook.url)
    [got] = receiver.events_of(p.project)
    assert got.headers["X-Podium-Event"] == TEST_EVENT_TYPE
    assert verify_signature(secret, got.body, got.headers["X-Podium-Signature"])
    assert got.event["payload"]["webhook_id"] == hook.id

    assert p.webhooks.deliveries(hook.id) == [] and p.webhooks.deliveries(limit=5) == []
    p.webhooks.delete(hook.id)
    assert p.webhooks.list() == []
    with pytest.raises(NotFoundError):
        p.webhooks.delete(hook.id)
    with pytest.raises(NotFoundError):
        p.webhooks.test(hook.id)


def test_a_receiver_that_fails_is_reported_not_raised(connect: Connect, receiver: Receiver) -> None:
    p = connect(Role.ADMIN)
    receiver.statuses = [500]
    hook, _ = p.webhooks.create(receiver.url, allow_http=True)
    tested = p.webhooks.test(hook.id)
    assert (tested.ok, tested.status_code) == (False, 500)
    assert "HTTP 500" in tested.error


def test_every_event_type_is_offered_and_an_unknown_one_lists_them(connect: Connect) -> None:
    p = connect(Role.ADMIN)
    assert {t.type: t.description for t in p.webhooks.event_types()} == EVENT_TYPES
    hook, _ = p.webhooks.create("https://ci.example.com/hook", event_types=list(EVENT_TYPES))
    assert hook.event_types == sorted(EVENT_TYPES)
    with pytest.raises(InvalidInputError) as info:
        p.webhooks.create("https://ci.example.com/hook", event_types=["model.exploded"])
    assert info.value.field == "event_types"
    assert "'model.exploded'" in info.value.message
    assert all(name in info.value.message for name in EVENT_TYPES)


def test_webhooks_need_the_admin_role(connect: Connect) -> None:
    for role in (Role.READER, Role.WRITER):
        webhooks = connect(role).webhooks
        with pytest.raises(PermissionDeniedError):
            webhooks.list()
        with pytest.raises(PermissionDeniedError):
            webhooks.create("https://ci.example.com/hook")


def test_an_event_of_another_area_reaches_a_webhook(
    connect: Connect, installation: Installation, receiver: Receiver
) -> None:
    """Webhooks are not only for the registry: a feature definition applied goes out."""
    p = connect(Role.ADMIN)
    _, secret = p.webhooks.create(receiver.url, event_types=["features.applied"], allow_http=True)
    p.features.apply([podium.Entity("customer", join_keys=["customer_id"])])
    dispatcher = EventDispatcher(
        installation.db, timeout=2.0, base_delay=0.001, keyring=installation.keyring
    )
    try:
        drain(dispatcher, lambda: len(receiver.events_of(p.project)) == 1)
    finally:
        dispatcher.stop()
    [got] = receiver.events_of(p.project)
    assert got.event["type"] == "features.applied"
    assert verify_signature(secret, got.body, got.headers["X-Podium-Signature"])
    [delivery] = p.webhooks.deliveries()
    assert (delivery.event_type, delivery.status) == ("features.applied", "delivered")


def test_a_platform_built_without_webhooks_says_so() -> None:
    with pytest.raises(BackendUnavailableError, match="without webhooks"):
        WebhooksUnavailable().list()


_RECORDED = re.compile(
    r"""["']((?:model|deployment|alert|features|data|monitoring|table|schema|pipeline|batch)\.[a-z_]+)["']"""
)


def test_the_catalogue_names_every_event_type_the_code_records() -> None:
    """A new ``record_event`` type must be added to EVENT_TYPES, or webhooks refuse it."""
    source = Path(podium.__file__).parent
    recorded: set[str] = set()
    for path in source.rglob("*.py"):
        text = path.read_text()
        if "record_event" in text and path.parent.name != "events":  # not the outbox itself
            recorded |= {
                name
                for name in _RECORDED.findall(text)
                if re.search(rf"(type=|_event\(session, )[^\n]*[\"']{re.escape(name)}[\"']", text)
            }
    assert recorded, "no event type found: the scan is broken"
    assert recorded <= set(EVENT_TYPES)
