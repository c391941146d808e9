"""First start of a server: one admin key, shown once, saved readable by its owner only."""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from podium.access.roles import Role
from podium.api.server import bootstrap_admin_key, write_credentials
from podium.config import Settings
from podium.platform import Installation


@pytest.fixture
def fresh(database_url: str, tmp_path: Path) -> Iterator[Installation]:
    """An installation on an empty database (the shared PostgreSQL one has keys already)."""
    if database_url.startswith("sqlite"):
        inst = Installation(Settings(home=tmp_path / "fresh", database_url=database_url))
        yield inst
        inst.close()
        return
    import psycopg  # the postgres extra; only this branch needs it

    server = make_url(database_url).set(drivername="postgresql")
    name = f"podium_fresh_{uuid.uuid4().hex[:10]}"
    admin_dsn = server.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    inst = Installation(Settings(home=tmp_path / "fresh", database_url=url))
    try:
        yield inst
    finally:
        inst.close()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_first_start_creates_one_admin_key(fresh: Installation) -> None:
    installation = fresh
    secret = bootstrap_admin_key(installation)
    assert secret is not None
    principal = installation.keys.authenticate(secret)
    assert principal.role is Role.ADMIN
    assert principal.project == installation.settings.project
    assert bootstrap_admin_key(installation) is None  # keys exist: nothing new is made
    assert len(installation.keys.list(installation.settings.project)) == 1


def test_credentials_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "credentials"
    write_credentials(path, url="http://127.0.0.1:8000", api_key="pdm_a_b", project="default")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "url": "http://127.0.0.1:8000",
        "api_key": "pdm_a_b",
        "project": "default",
    }


def test_an_existing_wider_credentials_file_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("old")
    path.chmod(0o644)
    write_credentials(path, url="http://h:1", api_key="pdm_c_d", project="p")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["api_key"] == "pdm_c_d"
