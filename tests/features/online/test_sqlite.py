"""What is particular to the SQLite online store: files, processes, locks and threads."""

from __future__ import annotations

import gc
import sqlite3
import threading
from pathlib import Path

import pytest

from podium.errors import BackendUnavailableError
from podium.features.online import SQLiteOnlineStore

T0 = 1_700_000_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> SQLiteOnlineStore:
    return SQLiteOnlineStore(tmp_path / "state" / "online.db")


def test_the_file_uses_wal_and_lists_its_tables(store: SQLiteOnlineStore) -> None:
    store.write("churn/stats/v1", ["k"], [T0], ["{}"])
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        rows = raw.execute("SELECT name, sql_table FROM podium_online_tables").fetchall()
    assert [name for name, _ in rows] == ["churn/stats/v1"]
    assert rows[0][1].startswith("ft_")
    store.drop("churn/stats/v1")
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT count(*) FROM podium_online_tables").fetchone() == (0,)
    store.close()


def test_two_stores_on_one_file_see_each_other(store: SQLiteOnlineStore) -> None:
    other = SQLiteOnlineStore(store.path)
    try:
        store.write("t", ["k"], [T0], ['"first"'])
        assert other.read("t", ["k"]) == [(T0, '"first"')]
        other.drop("t")
        assert store.read("t", ["k"]) == [None]
        assert store.write("t", ["k"], [T0 - 1], ['"after drop"']) == 1
        assert other.read("t", ["k"]) == [(T0 - 1, '"after drop"')]
        assert other.write("t", ["k"], [T0 - 2], ['"late"']) == 0
    finally:
        other.close()
        store.close()


def test_a_long_foreign_write_lock_is_backend_unavailable_but_reads_go_on(
    tmp_path: Path,
) -> None:
    store = SQLiteOnlineStore(tmp_path / "online.db", busy_timeout=0.05)
    store.write("t", ["k"], [T0], ['"v"'])
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            store.write("t", ["k"], [T0 + 1], ['"w"'])
        assert "locked" in str(caught.value)
        assert "busy_timeout" in (caught.value.remedy or "")
        assert store.read("t", ["k"]) == [(T0, '"v"')]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.write("t", ["k"], [T0 + 1], ['"w"']) == 1
    store.close()


def test_a_path_that_cannot_be_created_is_backend_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(BackendUnavailableError) as caught:
        SQLiteOnlineStore(tmp_path / "a-file" / "online.db")
    assert str(tmp_path / "a-file") in str(caught.value)
    assert "PODIUM_ONLINE_STORE_URL" in (caught.value.remedy or "")


def test_each_thread_has_its_own_connection_closed_when_the_thread_ends(
    store: SQLiteOnlineStore,
) -> None:
    store.write("t", ["k"], [T0], ['"v"'])
    seen: list[int] = []
    all_alive = threading.Barrier(4, timeout=10)

    def read() -> None:
        assert store.read("t", ["k"]) == [(T0, '"v"')]
        seen.append(id(store._connection()))
        all_alive.wait()  # so no thread ends, and frees its connection, before all read

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 4
    assert id(store._connection()) not in seen
    gc.collect()
    assert len(store._holders) == 1  # only this thread's connection is left open
    store.close()
