"""The lake storage contract suite: what a :class:`DataLake` must do on any storage URL.

The lake keeps Delta tables under a root URL (``file://`` or ``s3://``, with deltalake's
``storage_options``). Run the checks against a storage by subclassing
:class:`LakeStorageContract` in a test module under a name pytest collects, with a
``lake`` fixture that returns a lake on a fresh, empty root::

    import uuid
    import pytest
    from podium.data import DataLake
    from podium.testing.lake_storage import LakeStorageContract

    class TestMyObjectStoreLake(LakeStorageContract):
        @pytest.fixture
        def lake(self):
            options = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", ...}
            return DataLake(f"s3://bucket/{uuid.uuid4().hex}", storage_options=options)

The checks open more lakes on the same root (``DataLake(lake.root_url,
storage_options=lake.storage_options)``) to play other writers and readers. Each
``test_*`` method is one check, so a failure names the rule that broke. The module needs
nothing but podium (and the pyarrow it installs); pytest only runs it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from podium.data import DataLake, TableVersion
from podium.errors import InvalidInputError, NotFoundError

__all__ = ["LakeStorageContract"]

TABLE = "raw.customers"


def _customers(ids: list[int], plan: str = "basic") -> pa.Table:
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "plan": pa.array([plan] * len(ids), pa.string()),
            "spend": pa.array([float(i) / 4 for i in ids], pa.float64()),
        }
    )


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda row: row["customer_id"])


def _ids(table: pa.Table) -> list[int]:
    return sorted(table["customer_id"].to_pylist())


def _same_root(lake: DataLake) -> DataLake:
    """Another lake object on the same root: another writer or reader of the storage."""
    return DataLake(lake.root_url, storage_options=lake.storage_options)


class LakeStorageContract:
    """Checks every lake storage passes; subclass with a ``lake`` fixture."""

    # --- tables -------------------------------------------------------------------------

    def test_a_new_lake_has_no_tables(self, lake: DataLake) -> None:
        assert lake.tables() == []
        with pytest.raises(NotFoundError, match="write it first") as caught:
            lake.read(TABLE)
        assert caught.value.field == "name"

    def test_tables_lists_every_zone_sorted(self, lake: DataLake) -> None:
        for name in ("raw.orders", "curated.customers", "raw.customers", "features.z_1"):
            lake.write(name, _customers([1]))
        assert lake.tables() == [
            "curated.customers",
            "features.z_1",
            "raw.customers",
            "raw.orders",
        ]
        with pytest.raises(NotFoundError) as caught:
            lake.read("raw.missing")
        assert caught.value.remedy is not None and "raw.orders" in caught.value.remedy

    # --- writes -------------------------------------------------------------------------

    def test_append_creates_the_table_then_adds_rows(self, lake: DataLake) -> None:
        assert lake.write(TABLE, _customers([1, 2, 3])) == TableVersion(TABLE, 0, 3)
        second = lake.write(TABLE, _customers([4, 5]), mode="append")
        assert (second.version, second.rows_written, second.ref) == (1, 2, f"{TABLE}@1")
        assert _rows(lake.read(TABLE)) == _rows(_customers([1, 2, 3, 4, 5]))
        assert lake.read(TABLE).column_names == ["customer_id", "plan", "spend"]
        assert lake.version(TABLE) == 1
        assert lake.ref(TABLE) == f"{TABLE}@1"

    def test_overwrite_replaces_the_rows(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2, 3]))
        result = lake.write(TABLE, _customers([9], plan="pro"), mode="overwrite")
        assert result.version == 1
        assert _rows(lake.read(TABLE)) == _rows(_customers([9], plan="pro"))
        assert _ids(lake.read(TABLE, version=0)) == [1, 2, 3]

    def test_merge_upserts_on_keys(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2, 3]))
        result = lake.write(
            TABLE, _customers([2, 4], plan="gold"), mode="merge", keys=["customer_id"]
        )
        assert (result.version, result.rows_written) == (1, 2)
        plans = {row["customer_id"]: row["plan"] for row in lake.read(TABLE).to_pylist()}
        assert plans == {1: "basic", 2: "gold", 3: "basic", 4: "gold"}

    def test_merge_into_a_new_table_creates_it(self, lake: DataLake) -> None:
        result = lake.write(TABLE, _customers([1, 2]), mode="merge", keys=["customer_id"])
        assert result.version == 0
        assert _ids(lake.read(TABLE)) == [1, 2]

    def test_delete_and_restore(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2, 3]))
        assert lake.delete(TABLE, "customer_id = 2") == TableVersion(TABLE, 1, 1)
        assert _ids(lake.read(TABLE)) == [1, 3]
        restored = lake.restore(TABLE, 0)
        assert (restored.version, restored.rows_written) == (2, 3)
        assert _ids(lake.read(TABLE)) == [1, 2, 3]

    def test_a_partitioned_table_round_trips(self, lake: DataLake) -> None:
        lake.write(
            TABLE,
            pa.concat_tables([_customers([1, 2]), _customers([3], "pro")]),
            partition_by=["plan"],
        )
        lake.write(TABLE, _customers([4], plan="gold"))
        assert lake.table_info(TABLE).partition_columns == ["plan"]
        plans = {row["customer_id"]: row["plan"] for row in lake.read(TABLE).to_pylist()}
        assert plans == {1: "basic", 2: "basic", 3: "pro", 4: "gold"}

    def test_odd_values_round_trip(self, lake: DataLake) -> None:
        table = pa.table(
            {
                "id": pa.array([1, 2, 3, 4], pa.int64()),
                "text": ["ünïcödé 表 🙂", "quote\"d 'x' \\ ;--", "", None],
                "blob": pa.array([b"\x00\xff", b"", None, b"bytes"], pa.binary()),
                "when": pa.array(
                    [datetime(2024, 2, 29, 12, 0, 1, 123456, tzinfo=UTC)] * 3 + [None],
                    pa.timestamp("us", tz="UTC"),
                ),
                "score": [0.5, -0.0, float("inf"), None],
            }
        )
        lake.write("raw.odd", table)
        assert lake.read("raw.odd").sort_by("id").to_pylist() == table.to_pylist()

    def test_a_large_streamed_write_lands_whole(self, lake: DataLake) -> None:
        batches = 20
        per_batch = 10_000
        schema = _customers([]).schema

        def produce() -> Iterator[pa.RecordBatch]:
            for b in range(batches):
                first = b * per_batch
                yield from _customers(list(range(first, first + per_batch))).to_batches()

        lake.write(TABLE, pa.RecordBatchReader.from_batches(schema, produce()))
        read = lake.read(TABLE, columns=["customer_id"])
        assert read.num_rows == batches * per_batch
        assert _ids(read) == list(range(batches * per_batch))

    def test_a_failed_write_commits_nothing(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2, 3]))
        good = _customers([7, 8]).to_batches()[0]

        def batches() -> Iterator[pa.RecordBatch]:
            yield good
            yield good
            raise RuntimeError("source broke mid-write")

        reader = pa.RecordBatchReader.from_batches(good.schema, batches())
        with pytest.raises(Exception, match="source broke"):
            lake.write(TABLE, reader)
        assert lake.version(TABLE) == 0
        assert _ids(lake.read(TABLE)) == [1, 2, 3]
        assert len(lake.history(TABLE)) == 1

    # --- schema -------------------------------------------------------------------------

    def test_a_schema_mismatch_is_refused_and_commits_nothing(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2]))
        changed = pa.table({"customer_id": [3], "spend": ["not a number"], "region": ["eu"]})
        with pytest.raises(InvalidInputError) as caught:
            lake.write(TABLE, changed)
        message = str(caught.value)
        assert "missing column 'plan'" in message
        assert "extra column 'region'" in message
        assert "column 'spend' type changed" in message
        assert caught.value.field == "data"
        assert lake.version(TABLE) == 0

    def test_schema_mode_merge_adds_columns(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2]))
        wider = _customers([3]).append_column("region", pa.array(["eu"]))
        lake.write(TABLE, wider, schema_mode="merge")
        rows = {row["customer_id"]: row["region"] for row in lake.read(TABLE).to_pylist()}
        assert rows == {1: None, 2: None, 3: "eu"}
        assert lake.read(TABLE, version=0).column_names == ["customer_id", "plan", "spend"]

    def test_overwrite_with_schema_mode_overwrite_replaces_the_schema(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2]))
        other = pa.table({"key": ["a"], "value": [1.5]})
        lake.write(TABLE, other, mode="overwrite", schema_mode="overwrite")
        assert lake.read(TABLE).to_pylist() == [{"key": "a", "value": 1.5}]
        assert _ids(lake.read(TABLE, version=0)) == [1, 2]

    # --- time travel and history ----------------------------------------------------------

    def test_read_by_version(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2, 3]))
        lake.write(TABLE, _customers([4]))
        lake.delete(TABLE, "customer_id = 1")
        assert [_ids(lake.read(TABLE, version=v)) for v in (0, 1, 2)] == [
            [1, 2, 3],
            [1, 2, 3, 4],
            [2, 3, 4],
        ]
        with pytest.raises(InvalidInputError, match="versions 0 to 2") as caught:
            lake.read(TABLE, version=3)
        assert caught.value.field == "version"

    def test_read_as_of(self, lake: DataLake) -> None:
        moments = []
        for ids in ([1], [2], [3]):
            lake.write(TABLE, _customers(ids))
            time.sleep(0.02)
            moments.append(datetime.now(UTC))
            time.sleep(0.02)
        assert [_ids(lake.read(TABLE, as_of=moment)) for moment in moments] == [
            [1],
            [1, 2],
            [1, 2, 3],
        ]
        with pytest.raises(InvalidInputError) as caught:
            lake.read(TABLE, as_of=moments[0] - timedelta(days=1))
        assert caught.value.field == "as_of"

    def test_history_lists_every_commit(self, lake: DataLake) -> None:
        lake.write(TABLE, _customers([1, 2]), actor="alice")
        lake.write(TABLE, _customers([3]))
        lake.write(TABLE, _customers([2, 4]), mode="merge", keys=["customer_id"], actor="bob")
        lake.write(TABLE, _customers([5]), mode="overwrite")
        entries = lake.history(TABLE)
        assert [e.version for e in entries] == [0, 1, 2, 3]
        assert [e.operation for e in entries] == ["WRITE", "WRITE", "MERGE", "WRITE"]
        assert [e.actor for e in entries] == ["alice", None, "bob", None]
        assert entries[0].rows_added == 2
        assert (entries[2].rows_added, entries[2].rows_updated) == (1, 1)
        assert all(e.timestamp.utcoffset() == timedelta(0) for e in entries)
        stamps = [e.timestamp for e in entries]
        assert stamps == sorted(stamps) and stamps[-1] <= datetime.now(UTC) + timedelta(seconds=5)

    # --- more than one writer -------------------------------------------------------------

    def test_another_lake_on_the_same_root_sees_every_commit(self, lake: DataLake) -> None:
        other = _same_root(lake)
        assert lake.write(TABLE, _customers([1])).version == 0
        assert other.tables() == [TABLE]
        assert other.write(TABLE, _customers([2])).version == 1
        assert lake.write(TABLE, _customers([3])).version == 2  # catches up first
        assert _ids(other.read(TABLE)) == _ids(lake.read(TABLE)) == [1, 2, 3]
        assert [e.version for e in other.history(TABLE)] == [0, 1, 2]

    def test_concurrent_appends_lose_no_rows(self, lake: DataLake) -> None:
        # Each writer has a lake object of its own, so only the storage orders the commits.
        writers, appends, rows = 4, 3, 5
        failures: list[BaseException] = []
        versions: list[int] = []
        start = threading.Barrier(writers)

        def work(writer: int) -> None:
            mine = _same_root(lake)
            try:
                start.wait()
                for append in range(appends):
                    first = (writer * appends + append) * rows
                    result = mine.write(TABLE, _customers(list(range(first, first + rows))))
                    versions.append(result.version)
            except BaseException as exc:  # reported by the main thread below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not any(thread.is_alive() for thread in threads), "a writer hung"
        assert failures == []
        total = writers * appends
        assert sorted(versions) == list(range(total)), "every append got its own version"
        assert lake.version(TABLE) == total - 1
        assert _ids(lake.read(TABLE)) == list(range(total * rows)), "no row lost or doubled"
        for version in range(total):
            assert lake.read(TABLE, version=version).num_rows == (version + 1) * rows
        assert [entry.version for entry in lake.history(TABLE)] == list(range(total))
