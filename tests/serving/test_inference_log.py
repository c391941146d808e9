"""The inference log: written to monitoring.inference_log in batches, off the request path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.config import Settings
from podium.platform import Installation, Platform
from podium.serving.log.writer import (
    INFERENCE_LOG_TABLE,
    SCHEMA,
    InferenceLogWriter,
    InferenceRecord,
    encode,
    read_json_lines,
    to_json_lines,
    to_table,
)
from tests.serving.conftest import FEATURES, churn_frame


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
    log = InferenceLogWriter(written.append, batch_size=1000, flush_seconds=60)
    for i in range(10):
        log.append(record(i))
    assert written == [] and log.pending == 10
    log.close()
    assert sum(t.num_rows for t in written) == 10
    assert written[0].schema == SCHEMA
    assert json.loads(written[0]["features"][3].as_py()) == {"x": 3}


def test_features_encoded_at_append_are_written_as_they_are() -> None:
    written: list[pa.Table] = []
    log = InferenceLogWriter(written.append, batch_size=1000, flush_seconds=60)
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

    log = InferenceLogWriter(write, batch_size=5, flush_seconds=60)
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

    log = InferenceLogWriter(write, batch_size=1000, flush_seconds=60)
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

    log = InferenceLogWriter(write, batch_size=1000, flush_seconds=60)
    for i in range(3):
        log.append(record(i))
    assert log.flush() == 3
    assert written == [3] and log.pending == 1
    log.close()


def test_a_full_queue_drops_and_counts() -> None:
    log = InferenceLogWriter(lambda table: None, max_queued=3, flush_seconds=60, batch_size=100)
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


_PREDICT_AND_EXIT = textwrap.dedent(
    """
    import sys

    import podium
    from tests.serving.conftest import FEATURES, churn_frame
    from sklearn.linear_model import LogisticRegression

    p = podium.connect(project="shop")
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    p.registry.register("churn", model, input_example=frame[:5])
    p.deployments.create("churn", model="churn/1")
    for months in range(int(sys.argv[1])):
        answer = p.predict("churn", features={**FEATURES, "tenure_months": months})
        print(answer["request_id"])
    # No p.close(): the records are still in the buffer when the interpreter exits.
    """
)


def test_a_script_that_exits_without_closing_keeps_every_prediction(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PODIUM_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", _PREDICT_AND_EXIT, "38"],
        env=env, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    assert len(ids) == 38
    installation = Installation(Settings(home=tmp_path / "home", project="shop"))
    try:
        platform = installation.platform("shop", user="local:test")
        logged = platform.data.read(INFERENCE_LOG_TABLE).to_pylist()
    finally:
        installation.close()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)


def test_leaving_a_connection_block_writes_the_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with podium.connect(project="shop", home=home) as p:
        frame, labels = churn_frame()
        model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
        p.registry.register("churn", model, input_example=frame[:5])
        p.deployments.create("churn", model="churn/1")
        ids = [p.predict("churn", features=FEATURES)["request_id"] for _ in range(3)]
    with podium.connect(project="shop", home=home) as p:
        logged = p.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)
