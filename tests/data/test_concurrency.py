"""Concurrent appenders in separate processes lose no rows; every version stays readable."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from podium.data import DataLake

WRITERS = 4
BATCHES = 5
ROWS_PER_BATCH = 10


def _append_batches(root_url: str, writer: int) -> list[int]:
    lake = DataLake(root_url)
    versions = []
    for batch in range(BATCHES):
        first = (writer * BATCHES + batch) * ROWS_PER_BATCH
        rows = pa.table(
            {
                "row_id": pa.array(range(first, first + ROWS_PER_BATCH), pa.int64()),
                "writer": pa.array([writer] * ROWS_PER_BATCH, pa.int64()),
            }
        )
        versions.append(lake.write("raw.events", rows).version)
    return versions


def test_four_processes_appending(tmp_path: Path) -> None:
    root_url = (tmp_path / "lake").as_uri()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WRITERS) as pool:
        results = pool.starmap(_append_batches, [(root_url, w) for w in range(WRITERS)])
    lake = DataLake(root_url)
    total = WRITERS * BATCHES
    committed = sorted(v for versions in results for v in versions)
    assert committed == list(range(total)), "every append got its own version"
    assert lake.version("raw.events") == total - 1
    ids = sorted(lake.read("raw.events")["row_id"].to_pylist())
    assert ids == list(range(total * ROWS_PER_BATCH)), "no row lost or duplicated"
    for version in range(total):
        assert lake.read("raw.events", version=version).num_rows == (version + 1) * ROWS_PER_BATCH
    assert [entry.version for entry in lake.history("raw.events")] == list(range(total))


def _write_then_hang(root_url: str, marker: str) -> None:
    """Stream a write whose source stalls after two batches, telling the parent when."""
    schema = pa.schema([("row_id", pa.int64()), ("writer", pa.int64())])
    batch = pa.record_batch([pa.array(range(1000)), pa.array([9] * 1000)], schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        yield batch
        yield batch
        Path(marker).touch()
        time.sleep(60)
        yield batch

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    DataLake(root_url).write("raw.events", reader)


def test_killed_writer_leaves_previous_version(tmp_path: Path) -> None:
    root_url = (tmp_path / "lake").as_uri()
    lake = DataLake(root_url)
    lake.write("raw.events", pa.table({"row_id": [1], "writer": [0]}))
    marker = tmp_path / "writing"
    process = multiprocessing.get_context("spawn").Process(
        target=_write_then_hang, args=(root_url, str(marker))
    )
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the writer never started writing"
    finally:
        process.kill()
        process.join()
    assert lake.version("raw.events") == 0
    assert lake.read("raw.events").num_rows == 1
    lake.write("raw.events", pa.table({"row_id": [2], "writer": [0]}))
    assert lake.read("raw.events").num_rows == 2
