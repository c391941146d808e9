"""Delivery to real HTTP receivers on loopback: signed, filtered, retried, never lost."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from podium.access.projects import Project
from podium.events import Delivery, EventDispatcher, WebhookService, record_event, verify_signature
from podium.platform import Installation
from tests.conftest import free_port
from tests.events.conftest import Receiver, drain

Make = Callable[..., EventDispatcher]
_NOT_YET = Delivery(
    id=0,
    webhook_id="",
    event_id=0,
    event_type="",
    attempt=0,
    status="none",
    status_code=None,
    error="",
    next_attempt_at=datetime.now(UTC),
    created_at=datetime.now(UTC),
    delivered_at=None,
)


def _emit(
    installation: Installation, project: Project, type: str = "model.stage_changed", n: int = 1
) -> None:
    with installation.db.write() as session:
        for i in range(n):
            record_event(
                session,
                project_id=project.id,
                type=type,
                subject=f"churn/{i + 1}",
                payload={"version": i + 1, "stage": "production"},
                actor="alice",
            )


def _latest(webhooks: WebhookService, hook_id: str) -> Delivery:
    """The webhook's newest delivery, or a placeholder before the fan-out made one."""
    found = webhooks.deliveries(hook_id, limit=1)
    return found[0] if found else _NOT_YET


def test_a_receiver_gets_signed_events(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, secret = webhooks.create(receiver.url)
    _emit(installation, project)
    drain(make_dispatcher(), lambda: len(receiver.events_of(project.name)) == 1)
    [got] = receiver.events_of(project.name)
    assert verify_signature(secret, got.body, got.headers["X-Podium-Signature"])
    assert not verify_signature("another-secret-123", got.body, got.headers["X-Podium-Signature"])
    assert got.headers["X-Podium-Event"] == "model.stage_changed"
    assert got.headers["Content-Type"] == "application/json"
    event = got.event
    assert set(event) == {"id", "type", "subject", "payload", "actor", "project", "created_at"}
    assert (event["subject"], event["actor"], event["payload"]["version"]) == (
        "churn/1",
        "alice",
        1,
    )
    [delivery] = webhooks.deliveries(hook.id)
    assert got.headers["X-Podium-Delivery"] == str(delivery.id)
    assert (delivery.status, delivery.status_code, delivery.attempt) == ("delivered", 200, 1)
    assert delivery.delivered_at is not None and delivery.event_type == "model.stage_changed"


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, _ = webhooks.create(receiver.url)
    receiver.statuses = [500, 500]
    _emit(installation, project)
    dispatcher = make_dispatcher()
    drain(dispatcher, lambda: _latest(webhooks, hook.id).attempt == 1)
    [failed] = webhooks.deliveries(hook.id)
    assert (failed.status, failed.status_code) == ("failed", 500)
    assert "500" in failed.error and failed.next_attempt_at > failed.created_at
    drain(dispatcher, lambda: _latest(webhooks, hook.id).status == "delivered")
    [delivered] = webhooks.deliveries(hook.id)
    assert (delivered.attempt, delivered.status_code, delivered.error) == (3, 200, "")
    assert len(receiver.events_of(project.name)) == 3
    assert len({r.body for r in receiver.events_of(project.name)}) == 1  # same event each time


def test_a_receiver_down_until_after_a_restart_still_gets_every_event(
    installation: Installation, project: Project, webhooks: WebhookService, make_dispatcher: Make
) -> None:
    port = free_port()  # nothing listens here yet
    hook, secret = webhooks.create(f"http://127.0.0.1:{port}/hook")
    _emit(installation, project, n=3)
    first = make_dispatcher()
    drain(
        first,
        lambda: len(ds := webhooks.deliveries(hook.id)) == 3 and all(d.attempt >= 2 for d in ds),
    )
    deliveries = webhooks.deliveries(hook.id)
    assert len(deliveries) == 3
    assert {d.status for d in deliveries} == {"failed"}
    assert all(d.status_code is None and "Connect" in d.error for d in deliveries)
    first.stop()  # the server "dies"

    receiver = Receiver(port=port).start()
    try:
        restarted = make_dispatcher()  # a new process on the same database
        drain(restarted, lambda: len(receiver.events_of(project.name)) == 3)
        assert sorted(r.event["subject"] for r in receiver.events_of(project.name)) == [
            "churn/1",
            "churn/2",
            "churn/3",
        ]
        for got in receiver.events_of(project.name):
            assert verify_signature(secret, got.body, got.headers["X-Podium-Signature"])
        assert {d.status for d in webhooks.deliveries(hook.id)} == {"delivered"}
    finally:
        receiver.stop()


def test_webhooks_get_only_the_event_types_they_asked_for(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    only_alerts, _ = webhooks.create(receiver.url + "/alerts", event_types=["alert.fired"])
    everything, _ = webhooks.create(receiver.url + "/all")
    _emit(installation, project, type="model.stage_changed")
    _emit(installation, project, type="alert.fired")
    drain(make_dispatcher(), lambda: len(receiver.events_of(project.name)) == 3)
    by_path = Counter((r.path, r.event["type"]) for r in receiver.events_of(project.name))
    assert by_path == {
        ("/hook/alerts", "alert.fired"): 1,
        ("/hook/all", "alert.fired"): 1,
        ("/hook/all", "model.stage_changed"): 1,
    }
    assert [d.event_type for d in webhooks.deliveries(only_alerts.id)] == ["alert.fired"]
    assert len(webhooks.deliveries(everything.id)) == 2


def test_a_delivery_gives_up_after_max_attempts(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, _ = webhooks.create(receiver.url)
    receiver.statuses = [503] * 10
    _emit(installation, project)
    dispatcher = make_dispatcher(max_attempts=3)
    drain(dispatcher, lambda: _latest(webhooks, hook.id).status == "gave_up")
    for _ in range(5):
        dispatcher.dispatch_once()
    [delivery] = webhooks.deliveries(hook.id)
    assert (delivery.attempt, delivery.status_code) == (3, 503)
    assert len(receiver.events_of(project.name)) == 3


def test_two_dispatchers_deliver_each_event_exactly_once(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, _ = webhooks.create(receiver.url)
    _emit(installation, project, n=30)
    dispatchers = [make_dispatcher(), make_dispatcher()]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(dispatcher: EventDispatcher) -> None:
        try:
            barrier.wait(timeout=10)
            drain(dispatcher, lambda: len(receiver.events_of(project.name)) >= 30)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for dispatcher in dispatchers:
        dispatcher.dispatch_once()
    ids = Counter(r.event["id"] for r in receiver.events_of(project.name))
    assert len(ids) == 30 and set(ids.values()) == {1}
    assert {d.status for d in webhooks.deliveries(hook.id)} == {"delivered"}


def test_a_webhook_never_receives_another_projects_events(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    other = installation.projects.ensure(project.name + "-b")
    other_hooks = WebhookService(installation.db, other, allow_http=True)
    webhooks.create(receiver.url + "/a")
    other_hooks.create(receiver.url + "/b")
    _emit(installation, project, type="model.stage_changed")
    _emit(installation, other, type="alert.fired")
    drain(
        make_dispatcher(),
        lambda: len(receiver.events_of(project.name) + receiver.events_of(other.name)) == 2,
    )
    assert [(r.path, r.event["type"]) for r in receiver.events_of(project.name)] == [
        ("/hook/a", "model.stage_changed")
    ]
    assert [(r.path, r.event["type"]) for r in receiver.events_of(other.name)] == [
        ("/hook/b", "alert.fired")
    ]
    assert [d.event_type for d in other_hooks.deliveries()] == ["alert.fired"]


def test_the_background_thread_delivers_without_being_driven(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    webhooks.create(receiver.url)
    dispatcher = make_dispatcher()
    dispatcher.start()
    _emit(installation, project)
    deadline = threading.Event()
    for _ in range(100):
        if receiver.events_of(project.name):
            break
        deadline.wait(0.05)
    dispatcher.stop()
    assert len(receiver.events_of(project.name)) == 1


class _DyingTransport(httpx.BaseTransport):
    """The process dies while the request is in flight."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise SystemExit("killed mid-request")


def test_a_delivery_claimed_by_a_process_that_died_is_retried_after_its_lease(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, _ = webhooks.create(receiver.url)
    _emit(installation, project)
    dying = make_dispatcher(transport=_DyingTransport())
    with pytest.raises(SystemExit):
        drain(dying, lambda: False)
    leased = _latest(webhooks, hook.id)
    assert (leased.status, leased.attempt) == ("pending", 1)
    make_dispatcher().dispatch_once()  # the lease still holds: nobody double-sends
    assert receiver.events_of(project.name) == []
    later = make_dispatcher(clock=lambda: time.time() + 120)  # restarted, lease expired
    drain(later, lambda: len(receiver.events_of(project.name)) == 1)
    assert (_latest(webhooks, hook.id).status, _latest(webhooks, hook.id).attempt) == (
        "delivered",
        2,
    )


def test_retries_back_off_exponentially(
    installation: Installation,
    project: Project,
    webhooks: WebhookService,
    receiver: Receiver,
    make_dispatcher: Make,
) -> None:
    hook, _ = webhooks.create(receiver.url)
    receiver.statuses = [500, 500]
    _emit(installation, project)
    start = time.time()
    now = [start]
    dispatcher = make_dispatcher(clock=lambda: now[0], base_delay=10.0)

    def attempts() -> int:
        dispatcher.dispatch_once()
        return len(receiver.events_of(project.name))

    assert attempts() == 1
    first = _latest(webhooks, hook.id)
    assert first.next_attempt_at.timestamp() == pytest.approx(start + 10, abs=0.01)
    now[0] = start + 9.9
    assert attempts() == 1
    now[0] = start + 10
    assert attempts() == 2
    assert _latest(webhooks, hook.id).next_attempt_at.timestamp() == pytest.approx(
        start + 30, abs=0.01
    )
    now[0] = start + 29.9
    assert attempts() == 2
    now[0] = start + 30
    assert attempts() == 3
    assert _latest(webhooks, hook.id).status == "delivered"
