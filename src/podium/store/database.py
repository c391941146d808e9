"""The metadata database: engine, sessions, and migrations, on SQLite or PostgreSQL.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing
with "database is locked" half-way through. PostgreSQL is selected by a
``postgresql://`` URL and uses psycopg 3.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from podium.errors import (
    BackendUnavailableError,
    InvalidInputError,
    MissingDependencyError,
    StorageFullError,
)

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["Database"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_SQLITE_BUSY_MS = 30_000


class Database:
    """One metadata database; hand it to the services, call :meth:`upgrade` once at start."""

    def __init__(self, url: str) -> None:
        self.url = _normalise_url(url)
        self.engine = _create_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(
            self.engine.execution_options(podium_write=True), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it does is committed."""
        with _translate_outage(self.url), self._reads() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on exit, rolled back on any error."""
        with _translate_outage(self.url), self._writes() as session, session.begin():
            yield session

    def upgrade(self) -> str:
        """Apply pending migrations (idempotent; safe to call from several processes)."""
        head = _head_revision()
        if self.revision() == head:
            return head
        config = _alembic_config()
        with (
            _sqlite_file_lock(self.engine),
            _translate_outage(self.url),
            self.engine.connect() as conn,
        ):
            conn.execution_options(podium_write=True)  # SQLite: BEGIN IMMEDIATE serialises
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_lock(728102)"))
            try:
                config.attributes["connection"] = conn
                from alembic import command  # only when migrating: Alembic costs ~12 MB

                command.upgrade(config, "head")
                conn.commit()
            finally:
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_unlock(728102)"))
                    conn.commit()
        return self.revision()

    def revision(self) -> str:
        """The migration revision the database is at ("" before the first upgrade)."""
        with _translate_outage(self.url), self.engine.connect() as conn:
            try:
                row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            except (OperationalError, ProgrammingError):  # no alembic_version table yet
                conn.rollback()
                return ""
        return str(row[0]) if row else ""

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@functools.cache
def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return head or ""


def _normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise InvalidInputError(
            f"the database URL {url!r} cannot be parsed",
            field="PODIUM_DATABASE_URL",
            remedy="use sqlite:///path/podium.db or postgresql://user@host:5432/db",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInputError(
            f"the database backend {parsed.get_backend_name()!r} is not supported",
            field="PODIUM_DATABASE_URL",
            remedy="use sqlite:///path/podium.db or postgresql://user@host:5432/db",
        )
    return parsed.render_as_string(hide_password=False)


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401  (only to name the extra when missing)
        except ImportError as exc:
            raise MissingDependencyError("psycopg", extra="postgres") from exc
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool if not parsed.database else None)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("podium_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.migrate.lock`` (SQLite files, POSIX only).

    ``BEGIN IMMEDIATE`` alone let two processes migrating a new file at once both create
    the same table now and then; a lock file beside the database serialises them whole.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: BEGIN IMMEDIATE is all there is
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _translate_outage(url: str) -> Iterator[None]:
    try:
        yield
    except DataError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        raise InvalidInputError(
            f"the database refused a value: {message.splitlines()[0]}",
            remedy="check the values for NUL characters, overlong text or out-of-range numbers",
        ) from exc
    except OperationalError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        if "locked" in message or "no such table" in message or "syntax" in message:
            raise
        if "disk is full" in message or "No space left" in message:
            raise StorageFullError(
                f"the metadata database cannot grow: {message.splitlines()[0]}",
                remedy="free disk space where the database lives (PODIUM_HOME or "
                "PODIUM_DATABASE_URL), then retry",
            ) from exc
        if "connection" in message.lower() or "could not" in message.lower():
            raise BackendUnavailableError(
                f"the metadata database does not answer: {message.splitlines()[0]}",
                remedy=f"check that it runs and that PODIUM_DATABASE_URL is right "
                f"({make_url(url).render_as_string(hide_password=True)})",
            ) from exc
        raise
