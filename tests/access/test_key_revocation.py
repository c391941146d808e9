"""A key revoked (or rotated with no overlap) elsewhere stops working on a server within 5 s.

The server and the operator's command line are two processes with their own key caches
on one metadata database: here two installations, the server's behind a real socket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from podium.access.keys import CACHE_SECONDS
from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.prediction_front import PredictionFront
from podium.config import Settings
from podium.platform import Installation
from tests.conftest import loopback_server

REACH_SECONDS = 5.0  # what issue 18 promises


@pytest.fixture
def operator(settings: Settings) -> Iterator[Installation]:
    """The command line's installation: the same database, a cache of its own."""
    inst = Installation(settings, migrate=False)
    yield inst
    inst.close()


def _until_refused(client: httpx.Client, secret: str) -> float:
    """Seconds until ``secret`` gets 401 (fails past the promised time)."""
    started = time.monotonic()
    while True:
        status = client.get("/v1/whoami", headers={"authorization": f"Bearer {secret}"})
        if status.status_code == 401:
            return time.monotonic() - started
        assert status.status_code == 200, status.text
        assert time.monotonic() - started < REACH_SECONDS, "a revoked key still works"
        time.sleep(0.1)


def test_a_key_revoked_by_another_process_stops_working_on_a_running_server(
    installation: Installation, operator: Installation, project_name: str
) -> None:
    installation.projects.create(project_name)
    key, secret = operator.keys.create(project_name, Role.READER)
    _, survivor = operator.keys.create(project_name, Role.READER)
    with loopback_server(create_app(installation)) as url, httpx.Client(base_url=url) as client:
        for _ in range(3):  # cached on the server now
            assert client.get(
                "/v1/whoami", headers={"authorization": f"Bearer {secret}"}
            ).is_success
        operator.keys.revoke(project_name, key.id)
        _until_refused(client, secret)
        answer = client.get("/v1/whoami", headers={"authorization": f"Bearer {survivor}"})
        assert answer.status_code == 200


def test_rotation_without_overlap_elsewhere_stops_the_old_secret_on_a_running_server(
    installation: Installation, operator: Installation, project_name: str
) -> None:
    installation.projects.create(project_name)
    key, old = operator.keys.create(project_name, Role.READER)
    with loopback_server(create_app(installation)) as url, httpx.Client(base_url=url) as client:
        assert client.get("/v1/whoami", headers={"authorization": f"Bearer {old}"}).is_success
        _, new = operator.keys.rotate(project_name, key.id, overlap=timedelta(0))
        _until_refused(client, old)
        assert client.get("/v1/whoami", headers={"authorization": f"Bearer {new}"}).is_success


def test_the_bound_holds_on_the_prediction_fast_path_of_replicas() -> None:
    # PredictionFront remembers a key for remember_seconds on top of the key cache.
    front_default = PredictionFront.__init__.__kwdefaults__["remember_seconds"]  # type: ignore[index]
    assert CACHE_SECONDS + front_default < REACH_SECONDS


def test_settings_choose_where_rate_limits_are_counted(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).resolved_rate_limit_url is None
    on_bus = Settings(home=tmp_path, events_url="redis://bus:6379/0")
    assert on_bus.resolved_rate_limit_url == "redis://bus:6379/0"
    assert Settings(home=tmp_path, events_url="nats://bus:4222").resolved_rate_limit_url is None
    own = Settings(home=tmp_path, events_url="redis://bus/0", rate_limit_url="redis://rl/1")
    assert own.resolved_rate_limit_url == "redis://rl/1"
