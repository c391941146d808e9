"""The metadata database: migrations, SQLite settings, URL handling, outages."""

from __future__ import annotations

import multiprocessing
import socket
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from podium.errors import BackendUnavailableError, InvalidInputError
from podium.store.database import Database

EXPECTED_TABLES = {
    "projects",
    "api_keys",
    "audit_log",
    "experiments",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "run_artifacts",
    "run_inputs",
}


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    first = db.upgrade()
    assert first == db.upgrade() == db.revision() != ""
    assert set(inspect(db.engine).get_table_names()) >= EXPECTED_TABLES
    db.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 10_000
    db.dispose()


def test_revision_is_empty_before_the_first_upgrade(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert db.revision() == ""
    db.dispose()


def _upgrade(url: str) -> str:
    db = Database(url)
    try:
        return db.upgrade()
    finally:
        db.dispose()


def test_several_processes_can_upgrade_at_once(database_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        revisions = pool.map(_upgrade, [database_url] * 3)
    assert len(set(revisions)) == 1


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "not a url at all"])
def test_unsupported_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Database(url)
    assert info.value.remedy and "postgresql://" in info.value.remedy


def test_postgres_scheme_is_mapped_to_psycopg() -> None:
    db = Database("postgresql://postgres@127.0.0.1:1/none")
    assert db.url.startswith("postgresql+psycopg://")


def test_a_database_that_does_not_answer_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = Database(f"postgresql://postgres@127.0.0.1:{port}/podium?connect_timeout=2")
    with pytest.raises(BackendUnavailableError) as info:
        db.upgrade()
    assert "PODIUM_DATABASE_URL" in str(info.value.remedy)
