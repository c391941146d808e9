"""The inference log: written to monitoring.inference_log in batches, off the request path."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from podium.platform import Installation, Platform
from podium.serving.inference_log import (
    INFERENCE_LOG_TABLE,
    SCHEMA,
    InferenceLog,
    InferenceRecord,
    encode,
    read_json_lines,
    to_json_lines,
    to_table,
)
from tests.serving.conftest import FEATURES


def record(i: int) -> InferenceRecord:
    return InferenceRecord(
        request_id=f"r{i}",
        ts=datetime.now(UTC),
        deployment="churn",
        model="churn",
        version="1",
        served_by="primary",
        cached=False,
        latency_ms=1.5,
        features={"x": i},
        prediction=i % 2,
        probability=0.25,
        status="ok",
    )


def test_append_never_writes_and_close_flushes() -> None:
    written: list[pa.Table] = []
    log = InferenceLog(written.append, batch_size=1000, flush_seconds=60)
    for i in range(10):
        log.append(record(i))
    assert written == [] and log.pending == 10
    log.close()
    assert sum(t.num_rows for t in written) == 10
    assert written[0].schema == SCHEMA
    assert json.loads(written[0]["features"][3].as_py()) == {"x": 3}


def test_features_encoded_at_append_are_written_as_they_are() -> None:
    written: list[pa.Table] = []
    log = InferenceLog(written.append, batch_size=1000, flush_seconds=60)
    log.append(record(1)._replace(features=encode({"x": 1.5, "plan": "gold"}), prediction="yes"))
    log.close()
    assert json.loads(written[0]["features"][0].as_py()) == {"x": 1.5, "plan": "gold"}
    assert json.loads(written[0]["prediction"][0].as_py()) == "yes"


def test_json_lines_read_back_as_the_same_table() -> None:
    # What a replica parks (JSON lines) and what the platform commits (a table) agree.
    records = [
        record(1),
        record(2)._replace(ts=1_790_000_000.25, features=encode({"plan": "gold", "n": 2})),
        record(3)._replace(prediction="yes", probability=None, status="degraded"),
    ]
    lines = to_json_lines(records)
    assert lines.count(b"\n") == 3
    assert read_json_lines(lines).equals(to_table(records))


def test_a_full_batch_is_written_in_the_background() -> None:
    done = threading.Event()
    written: list[int] = []

    def write(table: pa.Table) -> None:
        written.append(table.num_rows)
        done.set()

    log = InferenceLog(write, batch_size=5, flush_seconds=60)
    for i in range(5):
        log.append(record(i))
    assert done.wait(5)
    assert written == [5]
    log.close()


def test_a_failed_write_keeps_the_records_for_the_next_round() -> None:
    calls: list[int] = []

    def write(table: pa.Table) -> None:
        calls.append(table.num_rows)
        if len(calls) == 1:
            raise OSError("lake unavailable")

    log = InferenceLog(write, batch_size=1000, flush_seconds=60)
    log.append(record(1))
    with pytest.raises(OSError):
        log.flush()
    assert log.pending == 1
    log.close()
    assert calls == [1, 1] and log.written == 1


def test_records_queued_during_a_write_wait_for_the_next_flush() -> None:
    # Under steady load a flush must end: one commit per flush, not one per sliver.
    written: list[int] = []

    def write(table: pa.Table) -> None:
        written.append(table.num_rows)
        log.append(record(100 + len(written)))  # a request answered while writing

    log = InferenceLog(write, batch_size=1000, flush_seconds=60)
    for i in range(3):
        log.append(record(i))
    assert log.flush() == 3
    assert written == [3] and log.pending == 1
    log.close()


def test_a_full_queue_drops_and_counts() -> None:
    log = InferenceLog(lambda table: None, max_queued=3, flush_seconds=60, batch_size=100)
    for i in range(5):
        log.append(record(i))
    assert (log.pending, log.dropped) == (3, 2)
    log.close()


def test_predictions_land_in_the_lake(churn_models: Platform, installation: Installation) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    first = churn_models.predict("churn", features=FEATURES)
    churn_models.predict("churn", features=FEATURES)  # a cache hit is logged too
    churn_models.predict("churn", instances=[FEATURES, {**FEATURES, "tenure_months": 5}])
    runtime = installation.runtime(churn_models.project)
    assert runtime.inference_log is not None
    runtime.inference_log.flush()
    rows: list[dict[str, Any]] = churn_models.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert len(rows) == 4
    by_id = {row["request_id"]: row for row in rows}
    logged = by_id[first["request_id"]]
    assert (logged["deployment"], logged["model"], logged["version"]) == ("churn", "churn", "1")
    assert (logged["served_by"], logged["cached"], logged["status"]) == ("primary", False, "ok")
    assert json.loads(logged["features"]) == FEATURES
    assert json.loads(logged["prediction"]) == first["prediction"]
    assert logged["probability"] == first["probability"]
    assert sum(row["cached"] for row in rows) >= 1
    assert any(row["request_id"].endswith("/1") for row in rows)
