"""The metadata database contract on SQLite and PostgreSQL, plus what is backend-specific."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from podium.errors import BackendUnavailableError, InvalidInputError
from podium.store.database import Database
from podium.testing.metadata_database import MetadataDatabaseContract

# --- the contract (podium.testing.metadata_database), on every backend ---------------


class TestSQLiteDatabase(MetadataDatabaseContract):
    @pytest.fixture
    def database_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'podium.db'}"


class TestPostgresDatabase(MetadataDatabaseContract):
    @pytest.fixture
    def database_url(self, postgres_url: str) -> Iterator[str]:
        """A new, empty database on the test server for each check, dropped afterwards."""
        import psycopg

        admin = make_url(postgres_url).set(drivername="postgresql")
        dsn = admin.render_as_string(hide_password=False)
        name = f"podium_c_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(database=name).render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- SQLite -------------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (session.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 10_000
    db.dispose()


def test_sqlite_creates_the_folder_of_its_file(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new' / 'folder' / 'm.db'}")
    assert db.upgrade() != ""
    assert (tmp_path / "new" / "folder" / "m.db").is_file()
    db.dispose()


# --- URLs and outages ---------------------------------------------------------------


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
