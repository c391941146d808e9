"""The embedded online store: one SQLite file (WAL), one connection per thread.

Each online table is a SQLite table ``ft_<sha256 of the name>``, which makes every table
name safe whatever characters it holds, with a unique index on the entity key. (A rowid
table plus a narrow index takes bulk upserts in random key order several times faster than
a ``WITHOUT ROWID`` table, whose wide rows split pages; reads cost the same.)
``podium_online_tables`` maps the hashed names back to the table names, for people
inspecting the file with ``sqlite3``.

Reads are plain autocommit ``SELECT``\\ s: under WAL they see one committed snapshot and
never wait for a writer, so serving threads read while materialization writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from podium.errors import BackendUnavailableError
from podium.features.online.protocol import check_keys, check_rows, check_table

__all__ = ["SQLiteOnlineStore"]

_READ_CHUNK = 500
"""Keys per ``IN (...)`` query: far below SQLite's variable limit, big enough to amortise."""

_CATALOG = "podium_online_tables"
_MMAP_BYTES = 1 << 30


class _Connection:
    """Holds one thread's connection; when the thread ends, the holder and connection go."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class SQLiteOnlineStore:
    """An online store in the SQLite file at ``path`` (created with its folder if needed).

    Safe to share between threads: each thread gets its own connection, closed when the
    thread ends or the store is closed.

    Args:
        path: the database file, e.g. ``$PODIUM_HOME/online.db``.
        busy_timeout: seconds a write waits for another writer (another thread or
            process) before :class:`~podium.errors.BackendUnavailableError`.

    Attributes:
        path: the absolute path of the database file.

    Raises:
        BackendUnavailableError: the file or its folder cannot be created or opened.
    """

    def __init__(self, path: Path | str, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self._busy_ms = int(busy_timeout * 1000)
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        self._names: dict[str, str] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unavailable(exc) from exc
        with self._translate():
            self._connection().execute(
                f"CREATE TABLE IF NOT EXISTS {_CATALOG} "
                "(name TEXT PRIMARY KEY, sql_table TEXT NOT NULL) WITHOUT ROWID"
            )

    @property
    def url(self) -> str:
        """``sqlite:///`` and the absolute path of the file."""
        return f"sqlite:///{self.path}"

    def __repr__(self) -> str:
        return f"SQLiteOnlineStore({str(self.path)!r})"

    def write(
        self,
        table: str,
        keys: Sequence[str],
        event_ts_us: Sequence[int],
        payloads: Sequence[str],
    ) -> int:
        """Upsert rows in one transaction; older rows than the stored ones are skipped.

        See :meth:`podium.features.online.OnlineStore.write`.
        """
        n = check_rows(table, keys, event_ts_us, payloads)
        if n == 0:
            return 0
        # Inserting in key order touches each index page once, not once per row: a third
        # faster for keys in random order. The sort is stable, so rows of one key keep
        # their order and the last of equal times still wins.
        order = sorted(range(n), key=keys.__getitem__)
        rows = [(keys[i], event_ts_us[i], payloads[i]) for i in order]
        name = self._sql_name(table)
        conn = self._connection()
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_create_sql(name))
                conn.execute(
                    f"INSERT OR IGNORE INTO {_CATALOG} (name, sql_table) VALUES (?, ?)",
                    (table, name),
                )
                written = conn.executemany(_upsert_sql(name), rows).rowcount
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return written

    def read(self, table: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        """``(event_ts_us, payload)`` per key, in order; ``None`` where absent."""
        name = self._sql_name(table)
        check_keys(keys)
        conn = self._connection()
        try:
            if len(keys) == 1:
                row: tuple[int, str] | None = conn.execute(_select_one_sql(name), keys).fetchone()
                return [row]
            found: dict[str, tuple[int, str]] = {}
            for start in range(0, len(keys), _READ_CHUNK):
                chunk = keys[start : start + _READ_CHUNK]
                for key, ts, payload in conn.execute(_select_many_sql(name, len(chunk)), chunk):
                    found[key] = (ts, payload)
            return [found.get(key) for key in keys]
        except sqlite3.OperationalError as exc:
            if _is_missing_table(exc):
                return [None] * len(keys)
            raise self._unavailable(exc) from exc
        except sqlite3.ProgrammingError as exc:
            raise self._unavailable(exc) from exc

    def drop(self, table: str) -> None:
        """Drop ``table``; dropping an unknown table is no error."""
        name = self._sql_name(table)
        conn = self._connection()
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
                conn.execute(f"DELETE FROM {_CATALOG} WHERE name = ?", (table,))
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def count(self, table: str) -> int:
        """How many keys ``table`` holds (0 if it was never written)."""
        name = self._sql_name(table)
        conn = self._connection()
        try:
            return int(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
        except sqlite3.OperationalError as exc:
            if _is_missing_table(exc):
                return 0
            raise self._unavailable(exc) from exc
        except sqlite3.ProgrammingError as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        """Close every thread's connection; later calls raise BackendUnavailableError."""
        with self._lock:
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        for holder in holders:
            holder.conn.close()

    def _sql_name(self, table: str) -> str:
        name = self._names.get(table) if isinstance(table, str) else None
        if name is None:
            digest = hashlib.sha256(check_table(table).encode("utf-8", "surrogatepass"))
            name = self._names[table] = f"ft_{digest.hexdigest()[:32]}"
        return name

    def _connection(self) -> sqlite3.Connection:
        holder: _Connection | None = getattr(self._local, "holder", None)
        if holder is not None and not self._closed:
            return holder.conn
        with self._lock:
            if self._closed:
                raise BackendUnavailableError(
                    f"the online store at {self.url} is closed",
                    remedy="open a new one with podium.features.online.open_online_store",
                )
            try:
                conn = sqlite3.connect(
                    self.path,
                    isolation_level=None,  # autocommit; writes issue BEGIN IMMEDIATE
                    check_same_thread=False,  # only close() touches another thread's one
                    cached_statements=512,
                )
                conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
                conn.execute("PRAGMA journal_mode = WAL")
                # NORMAL under WAL stays consistent on power loss and may only lose the
                # last commits, which the next materialization rewrites anyway.
                conn.execute("PRAGMA synchronous = NORMAL")
                # Reads map pages from the OS cache, shared by every thread's connection,
                # instead of copying them into each connection's own small page cache.
                conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            holder = _Connection(conn)
            weakref.finalize(holder, conn.close)
            self._holders.add(holder)
            self._local.holder = holder
        return conn

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.OperationalError, sqlite3.ProgrammingError) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> BackendUnavailableError:
        message = str(exc)
        if "locked" in message or "busy" in message:
            remedy = (
                "another process or thread holds a long write on the file; retry, or "
                "raise busy_timeout"
            )
        else:
            remedy = (
                f"check that {self.path} is a writable SQLite file on a local disk, or set "
                "PODIUM_ONLINE_STORE_URL to another sqlite:///path or a redis:// URL"
            )
        return BackendUnavailableError(
            f"the online store at {self.url} cannot be used: {message}", remedy=remedy
        )


def _is_missing_table(exc: sqlite3.OperationalError) -> bool:
    return str(exc).startswith("no such table")


@lru_cache(maxsize=1024)
def _create_sql(name: str) -> str:
    return (
        f'CREATE TABLE IF NOT EXISTS "{name}" '
        "(key TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, payload TEXT NOT NULL)"
    )


@lru_cache(maxsize=1024)
def _upsert_sql(name: str) -> str:
    return (
        f'INSERT INTO "{name}" (key, ts, payload) VALUES (?, ?, ?) '
        "ON CONFLICT (key) DO UPDATE SET ts = excluded.ts, payload = excluded.payload "
        f'WHERE excluded.ts >= "{name}".ts'
    )


@lru_cache(maxsize=1024)
def _select_one_sql(name: str) -> str:
    return f'SELECT ts, payload FROM "{name}" WHERE key = ?'


@lru_cache(maxsize=4096)
def _select_many_sql(name: str, n: int) -> str:
    return f'SELECT key, ts, payload FROM "{name}" WHERE key IN ({", ".join("?" * n)})'
