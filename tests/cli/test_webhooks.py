"""``podium webhooks``: add, ls, test, deliveries, events, rm; embedded, on a server with
``--url``, and still as ``podium models webhooks``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podium.access.roles import Role
from tests.cli.assertions import Invoke
from tests.conftest import LiveServer
from tests.events.conftest import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(port=0).start()
    yield server
    server.stop()


@pytest.mark.parametrize("group", [("webhooks",), ("models", "webhooks")])
def test_webhooks_are_added_listed_and_removed(invoke: Invoke, group: tuple[str, ...]) -> None:
    added = invoke(*group, "add", "http://127.0.0.1:9/hook", "--allow-http")
    assert added.exit_code == 0, added.output
    webhook_id = added.stdout.split()[2]
    assert "whsec_" in added.stdout
    listed = invoke(*group, "ls")
    assert webhook_id in listed.stdout and "whsec_" not in listed.stdout
    assert invoke(*group, "deliveries").exit_code == 0
    assert invoke(*group, "rm", webhook_id).exit_code == 0
    assert webhook_id not in invoke(*group, "ls").stdout


def test_a_bad_url_is_one_error_line(invoke: Invoke) -> None:
    result = invoke("webhooks", "add", "ftp://example")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_events_of_every_area_can_be_chosen(invoke: Invoke) -> None:
    shown = invoke("webhooks", "events")
    assert all(t in shown.stdout for t in ("model.stage_changed", "alert.fired"))
    assert "features.materialized" in shown.stdout and "deployment.updated" in shown.stdout
    added = invoke("webhooks", "add", "https://127.0.0.1:9/h", "-e", "alert.fired")
    assert added.exit_code == 0, added.output
    result = invoke("webhooks", "add", "https://127.0.0.1:9/h", "-e", "alert.exploded")
    assert result.exit_code == 1
    assert "unknown event type 'alert.exploded'" in result.stderr
    assert "deployment.deleted" in result.stderr


def test_webhooks_on_a_server_with_a_test_event(
    invoke: Invoke, live_server: LiveServer, project_name: str, receiver: Receiver
) -> None:
    remote = ("--url", live_server.url, "--api-key", live_server.key(project_name, Role.ADMIN))
    added = invoke(
        "webhooks", "add", receiver.url, "-e", "deployment.updated", "--allow-http", *remote
    )
    assert added.exit_code == 0, added.output
    webhook_id = added.stdout.split()[2]
    listed = invoke("webhooks", "ls", "--json", *remote)
    assert webhook_id in listed.stdout and "deployment.updated" in listed.stdout
    tested = invoke("webhooks", "test", webhook_id, *remote)
    assert tested.exit_code == 0, tested.output
    assert "answered HTTP 200" in tested.stdout
    [got] = receiver.events_of(project_name)
    assert got.headers["X-Podium-Event"] == "webhook.test"
    assert invoke("webhooks", "rm", webhook_id, *remote).exit_code == 0
    # the server's project, not the embedded default one
    assert live_server.installation.platform(project_name).webhooks.list() == []


def test_a_failing_receiver_is_one_error(invoke: Invoke, receiver: Receiver) -> None:
    receiver.statuses = [503]
    webhook_id = invoke("webhooks", "add", receiver.url, "--allow-http").stdout.split()[2]
    result = invoke("webhooks", "test", webhook_id)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the test event to ") and "HTTP 503" in result.stderr


def test_a_reader_key_is_refused_by_the_server(
    invoke: Invoke, live_server: LiveServer, project_name: str
) -> None:
    reader = live_server.key(project_name, Role.READER)
    result = invoke("webhooks", "ls", "--url", live_server.url, "--api-key", reader)
    assert result.exit_code == 1 and "admin" in result.stderr
