"""The first admin key: servers starting at once on one fresh PostgreSQL database neither
crash nor make two keys."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from podium.access.roles import Role
from podium.api.server import bootstrap_admin_key
from podium.config import Settings
from podium.platform import Installation
from tests.conftest import postgres_database

SERVERS = 4


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A database of its own: the worker's shared one may hold keys of other tests."""
    with postgres_database("podium_boot") as url:
        yield url


def test_servers_starting_at_once_make_exactly_one_admin_key(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    servers = [
        Installation(Settings(home=tmp_path / f"home-{i}", database_url=fresh_postgres_url))
        for i in range(SERVERS)
    ]
    start = threading.Barrier(SERVERS, timeout=30)

    def boot(installation: Installation) -> str | None:
        start.wait()
        return bootstrap_admin_key(installation)

    try:
        with ThreadPoolExecutor(SERVERS) as pool:
            secrets = list(pool.map(boot, servers))  # re-raises what any of them raised
        made = [secret for secret in secrets if secret is not None]
        assert len(made) == 1
        keys = servers[0].keys.list(servers[0].settings.project)
        assert [(k.name, k.role) for k in keys] == [("bootstrap admin", Role.ADMIN)]
        assert servers[1].keys.authenticate(made[0]).project == "default"
        assert bootstrap_admin_key(servers[2]) is None
    finally:
        for installation in servers:
            installation.close()
