"""Streaming appends: micro-batches bounded by rows and time, each one atomic commit."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest

from podium.data import DataLake, TableVersion
from podium.errors import InvalidInputError


def _batch(first: int, rows: int) -> pa.RecordBatch:
    return pa.record_batch({"event_id": pa.array(range(first, first + rows), pa.int64())})


def test_row_bound_splits_into_micro_batches(lake: DataLake) -> None:
    batches = [_batch(i * 10, 10) for i in range(7)]  # 70 rows
    seen: list[TableVersion] = []
    versions = lake.append_stream(
        "raw.events", batches, max_rows=25, max_seconds=60, on_commit=seen.append
    )
    assert [v.rows_written for v in versions] == [25, 25, 20]
    assert [v.version for v in versions] == [0, 1, 2]
    assert seen == versions
    ids = sorted(lake.read("raw.events")["event_id"].to_pylist())
    assert ids == list(range(70))


def test_accepts_tables_and_dataframes(lake: DataLake) -> None:
    batches = [
        pa.table({"event_id": pa.array([1, 2], pa.int64())}),
        pd.DataFrame({"event_id": [3]}),
        _batch(4, 1),
    ]
    versions = lake.append_stream("raw.events", batches, actor="ingest-job")
    assert [v.rows_written for v in versions] == [4]
    assert lake.history("raw.events")[-1].actor == "ingest-job"


def test_time_bound_commits_while_the_source_is_quiet(local_lake: DataLake) -> None:
    """The first rows are committed after max_seconds although the source sends nothing."""
    committed = threading.Event()

    def quiet_source() -> Iterator[pa.RecordBatch]:
        yield _batch(0, 3)
        assert committed.wait(timeout=10), "the buffered rows were never committed"
        yield _batch(3, 2)

    versions = local_lake.append_stream(
        "raw.events",
        quiet_source(),
        max_rows=1000,
        max_seconds=0.05,
        on_commit=lambda version: committed.set(),
    )
    assert [v.rows_written for v in versions] == [3, 2]


def test_readers_see_whole_micro_batches(local_lake: DataLake) -> None:
    lake = local_lake
    rows_per_commit = 50
    lake.write("raw.events", _batch(0, rows_per_commit))
    seen: list[int] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen.append(lake.read("raw.events").num_rows)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        batches = [_batch(1000 + i * 10, 10) for i in range(100)]
        versions = lake.append_stream("raw.events", batches, max_rows=rows_per_commit)
    finally:
        done.set()
        thread.join()
    assert len(versions) == 20
    assert seen, "the reader never read"
    assert all(rows % rows_per_commit == 0 for rows in seen), sorted(set(seen))
    assert lake.read("raw.events").num_rows == 21 * rows_per_commit


def test_failing_source_keeps_committed_micro_batches(lake: DataLake) -> None:
    def broken() -> Iterator[pa.RecordBatch]:
        yield _batch(0, 10)
        yield _batch(10, 5)
        raise RuntimeError("source broke")

    seen: list[TableVersion] = []
    with pytest.raises(RuntimeError, match="source broke"):
        lake.append_stream("raw.events", broken(), max_rows=10, on_commit=seen.append)
    assert [v.rows_written for v in seen] == [10]
    assert lake.read("raw.events").num_rows == 10


def test_schema_mismatch_in_stream_is_refused(lake: DataLake) -> None:
    lake.write("raw.events", _batch(0, 1))
    with pytest.raises(InvalidInputError, match="does not match the schema"):
        lake.append_stream("raw.events", [pa.record_batch({"other": [1]})])
    assert lake.version("raw.events") == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_rows": 0}, "max_rows"),
        ({"max_rows": 1.5}, "max_rows"),
        ({"max_seconds": 0}, "max_seconds"),
        ({"max_seconds": True}, "max_seconds"),
        ({"actor": ""}, "actor"),
    ],
)
def test_bad_stream_arguments(local_lake: DataLake, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        local_lake.append_stream("raw.events", [_batch(0, 1)], **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert local_lake.tables() == []
