"""The inference log's journal: records of a process that dies before its flush are
replayed by its successor, once (ADR 0046)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

import podium
from podium.serving.log.journal import InferenceJournal, adopt_orphans
from podium.serving.log.writer import (
    INFERENCE_LOG_TABLE,
    SCHEMA,
    InferenceLogWriter,
    logged_keys,
    read_json_lines,
    record_keys,
    replay_journals,
    to_json_lines,
    to_table,
)
from tests.serving.conftest import FEATURES, churn_frame
from tests.serving.test_inference_log import record


def _segments(root: Path) -> list[Path]:
    """Segments holding records (the open one is empty right after a flush)."""
    return sorted(p for p in root.rglob("*.jsonl") if p.stat().st_size)


def _ids(tables: list[pa.Table]) -> list[str]:
    return [i for t in tables for i in t.column("request_id").to_pylist()]


def test_each_record_is_journaled_before_append_returns(tmp_path: Path) -> None:
    written: list[pa.Table] = []
    log = InferenceLogWriter(
        written.append, flush_seconds=60, journal=InferenceJournal(tmp_path / "j")
    )
    for i in range(5):
        log.append(record(i))
    lines = b"".join(p.read_bytes() for p in _segments(tmp_path))
    assert read_json_lines(lines).column("request_id").to_pylist() == [f"r{i}" for i in range(5)]
    assert written == []
    assert log.flush() == 5
    assert _segments(tmp_path) == []  # committed: the sealed segment is gone
    assert _ids(written) == [f"r{i}" for i in range(5)]
    assert written[0].schema == SCHEMA  # a writer of tables still gets tables
    log.close()
    assert list((tmp_path / "j").iterdir()) == []  # a clean close removes its folder


def test_a_failed_write_keeps_the_journal_until_a_later_flush_succeeds(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(table: pa.Table) -> None:
        calls.append(table.num_rows)
        if len(calls) == 1:
            raise OSError("the lake is away")

    log = InferenceLogWriter(flaky, flush_seconds=60, journal=InferenceJournal(tmp_path / "j"))
    for i in range(3):
        log.append(record(i))
    with pytest.raises(OSError):
        log.flush()
    assert len(_segments(tmp_path)) == 1
    log.append(record(3))
    assert log.flush() == 4
    assert _segments(tmp_path) == []
    log.close()


def test_a_live_journal_is_never_adopted(tmp_path: Path) -> None:
    journal = InferenceJournal(tmp_path / "j")
    journal.append(to_json_lines([record(1)]))
    replayed: list[bytes] = []
    assert adopt_orphans(tmp_path / "j", replayed.append) == 0
    assert replayed == []
    journal.close(committed=False)  # its process is done: now it is an orphan
    assert adopt_orphans(tmp_path / "j", replayed.append) == 1
    assert list((tmp_path / "j").iterdir()) == []


_KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from podium.serving.log.journal import InferenceJournal
    from podium.serving.log.writer import InferenceLogWriter
    from tests.serving.test_inference_log import record

    committed = []
    log = InferenceLogWriter(
        committed.append, flush_seconds=3600, journal=InferenceJournal(Path(sys.argv[1]))
    )
    for i in range(40):
        log.append(record(i))
        if i == 9:
            log.flush()  # the first ten are committed, and their segment deleted
    print(len(committed), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_killed_process_records_are_replayed_once_by_the_next(tmp_path: Path) -> None:
    root = tmp_path / "j"
    done = subprocess.run(
        [sys.executable, "-c", _KILLED, str(root)],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == ["1"]
    assert len(_segments(root)) == 1

    # Say the process died between committing r10..r14 and deleting their segment: the
    # log holds them already, so the replay writes only r15..r39.
    already = set(record_keys(read_json_lines(_segments(root)[0].read_bytes()))[:5])
    written: list[pa.Table] = []
    count = replay_journals(root, written.append, lambda t: set(record_keys(t)) & already)
    assert count == 25
    assert _ids(written) == [f"r{i}" for i in range(15, 40)]
    assert _segments(root) == []
    assert replay_journals(root, written.append, lambda t: set()) == 0  # once only


def test_a_torn_last_line_is_skipped_and_the_rest_replayed(tmp_path: Path) -> None:
    journal = InferenceJournal(tmp_path / "j")
    journal.append(to_json_lines([record(1), record(2)]))
    journal.append(b'["r3", 17')  # a write cut short: no newline
    journal.close(committed=False)
    written: list[pa.Table] = []
    assert replay_journals(tmp_path / "j", written.append, lambda t: set()) == 2
    assert _ids(written) == ["r1", "r2"]


def test_a_replay_that_fails_leaves_the_journal_for_the_next_attempt(tmp_path: Path) -> None:
    journal = InferenceJournal(tmp_path / "j")
    journal.append(to_json_lines([record(1)]))
    journal.close(committed=False)

    def broken(table: pa.Table) -> None:
        raise OSError("the lake is away")

    with pytest.raises(OSError):
        replay_journals(tmp_path / "j", broken, lambda t: set())
    written: list[pa.Table] = []
    assert replay_journals(tmp_path / "j", written.append, lambda t: set()) == 1
    assert _ids(written) == ["r1"]


def test_segments_are_private_to_the_owner(tmp_path: Path) -> None:
    journal = InferenceJournal(tmp_path / "j")
    journal.append(to_json_lines([record(1)]))
    assert (journal.folder.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in _segments(tmp_path))
    journal.close(committed=True)
    assert not journal.folder.exists()
    assert os.listdir(tmp_path / "j") == []


def test_a_home_where_no_journal_can_be_made_still_serves_and_logs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "journal").write_text("a file where the journal folder would go")
    with podium.connect(project="shop", home=home) as p:
        frame, labels = churn_frame()
        model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
        p.registry.register("churn", model, input_example=frame[:5])
        p.deployments.create("churn", model="churn/1")
        ids = [p.predict("churn", features=FEATURES)["request_id"] for _ in range(2)]
    with podium.connect(project="shop", home=home) as p:
        logged = p.data.read(INFERENCE_LOG_TABLE).to_pylist()
    assert sorted(row["request_id"] for row in logged) == sorted(ids)


def test_logged_keys_names_the_records_the_lake_holds_already(tmp_path: Path) -> None:
    rows = to_table([record(i) for i in range(5)])
    with podium.connect(project="shop", home=tmp_path / "home") as p:
        assert logged_keys(p.data, rows) == set()  # no log yet
        p.data.write(INFERENCE_LOG_TABLE, rows.slice(0, 3), mode="append")
        assert logged_keys(p.data, rows) == {f"r{i}\x00primary" for i in range(3)}
