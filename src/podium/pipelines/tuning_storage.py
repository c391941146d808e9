"""Where Optuna keeps the studies of ``p.tune``, apart from podium's own tables.

Optuna's tables include an ``alembic_version`` of its own, which would collide with
podium's (and ``studies``/``trials`` would sit among podium's tables), so they never
share a schema: embedded on SQLite they live in a separate file next to the metadata
database (``podium.optuna.db`` under ``PODIUM_HOME`` by default); on PostgreSQL in the
schema ``podium_optuna`` of the same database. Against a server the storage is the
client's: in memory, unless a database URL is given. Optuna itself is handed in by the
caller (:mod:`podium.pipelines.tuning` imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

if TYPE_CHECKING:
    from types import ModuleType

    from optuna.storages import BaseStorage

__all__ = ["TuningStorage"]

_SCHEMA = "podium_optuna"


@dataclass(frozen=True)
class TuningStorage:
    """Where Optuna keeps studies: a SQLAlchemy URL (and PostgreSQL schema), or memory."""

    url: str | None = None
    schema: str | None = None

    @classmethod
    def beside(cls, database_url: str) -> TuningStorage:
        """The storage of an installation whose metadata database is ``database_url``:
        a separate SQLite file next to it, or the ``podium_optuna`` schema in PostgreSQL."""
        if database_url.startswith("postgresql"):
            return cls(database_url, schema=_SCHEMA)
        prefix, _, path = database_url.partition(":///")
        if prefix.startswith("sqlite") and path and path != ":memory:":
            stem = path[: -len(".db")] if path.endswith(".db") else path
            return cls(f"sqlite:///{stem}.optuna.db")
        return cls()

    def open(self, optuna: ModuleType, *, existing: bool = False) -> BaseStorage:
        """Open the storage (creating its tables, and schema, on first use).

        ``existing``: the tables are known to be there and current (a worker process of a
        study its parent opened), so Optuna's creation and version checks are skipped.
        """
        if self.url is None:
            return cast("BaseStorage", optuna.storages.InMemoryStorage())
        engine_kwargs: dict[str, Any] = {}
        sqlite = self.url.startswith("sqlite")
        if self.schema is not None:
            if not existing:
                _create_schema(self.url, self.schema)
            engine_kwargs["connect_args"] = {"options": f"-csearch_path={self.schema}"}
            engine_kwargs["pool_pre_ping"] = True  # a server may drop idle connections
        elif sqlite:
            engine_kwargs["connect_args"] = {"timeout": 60}  # trials of several processes
        storage = optuna.storages.RDBStorage(
            self.url,
            engine_kwargs=engine_kwargs,
            skip_compatibility_check=existing,
            skip_table_creation=existing,
        )
        if sqlite:
            _like_podium(storage.engine)
        return cast("BaseStorage", storage)


def _like_podium(engine: Engine) -> None:
    """The SQLite settings of podium's own database (``podium.store.database``): WAL, so
    readers never wait for the writer, and ``synchronous=NORMAL``, so a commit does not
    wait for the disk (a crash of the machine may lose the last trials, never corrupt the
    file). Optuna's default rollback journal syncs several times per write."""

    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    event.listen(engine, "connect", configure)
    engine.dispose()  # connections opened before (creating the tables) reconnect with them


def _create_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except (IntegrityError, ProgrammingError):  # created concurrently by another process
        pass
    finally:
        engine.dispose()
