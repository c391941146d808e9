"""The inference-log spool: park, commit, failures, racing and expired committers, tenancy."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from podium.errors import InvalidInputError
from podium.platform import Installation
from podium.serving.log.spool import InferenceSpool
from podium.serving.log.spool_tables import InferenceSpoolRow
from podium.serving.log.writer import (
    SCHEMA,
    InferenceLogWriter,
    InferenceRecord,
    record_keys,
    to_json_lines,
)
from podium.store.artifacts import ArtifactStore


def _batch(prefix: str, rows: int) -> bytes:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    return to_json_lines(
        [
            InferenceRecord(
                f"{prefix}-{i}",
                ts,
                "churn",
                "churn",
                "1",
                "primary",
                False,
                1.5,
                {"x": i},
                i % 2,
                0.5,
                "ok",
            )
            for i in range(rows)
        ]
    )


class Collector:
    """A ``write`` callable that keeps every table it is given."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self._lock = threading.Lock()

    def __call__(self, table: pa.Table) -> None:
        with self._lock:
            self.tables.append(table)

    @property
    def request_ids(self) -> list[str]:
        return [rid for t in self.tables for rid in t.column("request_id").to_pylist()]


def _spool(
    installation: Installation, project: str, store: ArtifactStore | None = None
) -> InferenceSpool:
    artifacts = store or installation.storage.child(f"spool/{project}")
    return InferenceSpool(installation.db, artifacts, installation.projects.ensure(project))


def _digests(installation: Installation, *projects: str) -> list[str]:
    """The digests parked for ``projects``, oldest first (the PostgreSQL DB is shared)."""
    ids = [installation.projects.ensure(name).id for name in projects]
    query = (
        select(InferenceSpoolRow.digest)
        .where(InferenceSpoolRow.project_id.in_(ids))
        .order_by(InferenceSpoolRow.id)
    )
    with installation.db.read() as session:
        return list(session.scalars(query))


@pytest.fixture
def store(installation: Installation, project_name: str) -> ArtifactStore:
    return installation.storage.child(f"spool/{project_name}")


@pytest.fixture
def spool(installation: Installation, project_name: str, store: ArtifactStore) -> InferenceSpool:
    return _spool(installation, project_name, store)


def test_commit_writes_every_parked_row_once_in_order_and_empties_the_spool(
    installation: Installation, spool: InferenceSpool, store: ArtifactStore, project_name: str
) -> None:
    for prefix, rows in (("a", 2), ("b", 3), ("c", 4)):
        spool.park(_batch(prefix, rows))
    digests = _digests(installation, project_name)
    assert len(digests) == 3 and all(store.exists(d) for d in digests)
    assert spool.pending() == 9

    write = Collector()
    assert spool.commit(write, holder="committer") == 9

    assert len(write.tables) == 1
    assert write.tables[0].schema == SCHEMA
    expected = [f"{p}-{i}" for p, n in (("a", 2), ("b", 3), ("c", 4)) for i in range(n)]
    assert write.request_ids == expected
    assert spool.pending() == 0
    assert _digests(installation, project_name) == []
    assert not any(store.exists(d) for d in digests)


def test_a_failing_write_keeps_everything_and_a_later_commit_succeeds(
    installation: Installation, spool: InferenceSpool, store: ArtifactStore, project_name: str
) -> None:
    spool.park(_batch("a", 3))
    spool.park(_batch("b", 2))

    def broken(table: pa.Table) -> None:
        raise OSError("the lake is down")

    with pytest.raises(OSError, match="lake is down"):
        spool.commit(broken, holder="committer")

    assert spool.pending() == 5
    project_id = installation.projects.ensure(project_name).id
    with installation.db.read() as session:
        rows = session.scalars(
            select(InferenceSpoolRow).where(InferenceSpoolRow.project_id == project_id)
        ).all()
    assert [(r.claimed_by, r.claimed_until) for r in rows] == [(None, None), (None, None)]
    assert all(store.exists(r.digest) for r in rows)

    write = Collector()
    assert spool.commit(write, holder="another") == 5
    assert write.request_ids == ["a-0", "a-1", "a-2", "b-0", "b-1"]
    assert spool.pending() == 0


def test_racing_committers_commit_every_row_exactly_once(spool: InferenceSpool) -> None:
    expected = []
    for b in range(30):
        spool.park(_batch(f"b{b}", 4))
        expected += [f"b{b}-{i}" for i in range(4)]
    write = Collector()

    def slow_write(table: pa.Table) -> None:
        time.sleep(0.01)  # so the other committer claims while this one writes
        write(table)

    start = threading.Barrier(2)
    counts: dict[str, int] = {}

    def commit(holder: str) -> None:
        start.wait()
        counts[holder] = spool.commit(slow_write, holder=holder, limit=3)

    threads = [threading.Thread(target=commit, args=(h,)) for h in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(write.request_ids) == sorted(expected)
    assert sum(counts.values()) == len(expected)
    assert spool.pending() == 0


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(
    installation: Installation, spool: InferenceSpool, project_name: str
) -> None:
    spool.park(_batch("a", 3))
    claimed, resume = threading.Event(), threading.Event()
    stalled = Collector()

    def stalled_write(table: pa.Table) -> None:
        claimed.set()
        resume.wait(timeout=30)
        stalled(table)

    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            spool.commit(stalled_write, holder="stalled", lease_seconds=0.5)
        )
    )
    thread.start()
    assert claimed.wait(timeout=30)

    live = Collector()
    assert spool.commit(live, holder="early") == 0  # the lease still runs
    assert live.tables == []

    time.sleep(0.6)
    takeover = Collector()
    assert spool.commit(takeover, holder="takeover") == 3
    assert takeover.request_ids == ["a-0", "a-1", "a-2"]
    assert spool.pending() == 0

    resume.set()
    thread.join(timeout=30)
    # The stalled committer did write (at least once), but no longer owned the rows.
    assert result == [3] and stalled.request_ids == ["a-0", "a-1", "a-2"]
    assert spool.pending() == 0 and _digests(installation, project_name) == []


def test_projects_do_not_see_each_others_batches(
    installation: Installation, spool: InferenceSpool, project_name: str
) -> None:
    other = _spool(installation, f"{project_name}-b")
    spool.park(_batch("mine", 2))
    other.park(_batch("theirs", 3))
    assert (spool.pending(), other.pending()) == (2, 3)

    write = Collector()
    assert spool.commit(write, holder="committer") == 2
    assert write.request_ids == ["mine-0", "mine-1"]
    assert (spool.pending(), other.pending()) == (0, 3)


def test_a_blob_shared_by_two_rows_is_deleted_with_the_last_one(
    installation: Installation, project_name: str
) -> None:
    shared = installation.storage.child("spool/shared")
    mine = _spool(installation, project_name, shared)
    theirs = _spool(installation, f"{project_name}-b", shared)
    batch = _batch("same", 2)
    mine.park(batch)
    theirs.park(batch)
    (digest,) = set(_digests(installation, project_name, f"{project_name}-b"))

    assert mine.commit(Collector(), holder="committer") == 2
    assert shared.exists(digest)  # still parked for the other project
    assert theirs.commit(Collector(), holder="committer") == 2
    assert not shared.exists(digest)


def test_a_missing_blob_is_dropped_not_raised(
    installation: Installation, spool: InferenceSpool, store: ArtifactStore, project_name: str
) -> None:
    spool.park(_batch("lost", 2))
    spool.park(_batch("kept", 1))
    store.delete(_digests(installation, project_name)[0])

    write = Collector()
    assert spool.commit(write, holder="committer") == 1
    assert write.request_ids == ["kept-0"]
    assert spool.pending() == 0


def test_committing_an_empty_spool_returns_zero_without_writing(spool: InferenceSpool) -> None:
    def never(table: pa.Table) -> None:
        raise AssertionError("write must not be called")

    assert spool.commit(never, holder="committer") == 0
    spool.park(b"")
    assert spool.pending() == 0
    assert spool.commit(never, holder="committer") == 0


def test_one_commit_drains_more_than_limit_batches(spool: InferenceSpool) -> None:
    for b in range(7):
        spool.park(_batch(f"b{b}", 1))
    write = Collector()
    assert spool.commit(write, holder="committer", limit=3) == 7
    assert [t.num_rows for t in write.tables] == [3, 3, 1]
    assert spool.pending() == 0


def test_the_spool_is_an_inference_log_writer(spool: InferenceSpool) -> None:
    log = InferenceLogWriter(spool.park, flush_seconds=60, json_lines=True)
    for i in range(5):
        log.append(
            InferenceRecord(
                f"r-{i}",
                time.time(),
                "churn",
                "churn",
                "1",
                "primary",
                False,
                1.0,
                {"x": i},
                1,
                None,
                "ok",
            )
        )
    assert log.flush() == 5
    log.close()
    write = Collector()
    assert spool.commit(write, holder="committer") == 5
    assert write.request_ids == [f"r-{i}" for i in range(5)]


@pytest.mark.parametrize(("limit", "lease"), [(0, 300.0), (10, 0.0)])
def test_a_nonsense_limit_or_lease_is_refused(
    spool: InferenceSpool, limit: int, lease: float
) -> None:
    with pytest.raises(InvalidInputError) as info:
        spool.commit(Collector(), holder="committer", limit=limit, lease_seconds=lease)
    assert info.value.field in ("limit", "lease_seconds")


def test_a_replayed_batch_skips_rows_the_log_or_its_round_holds(spool: InferenceSpool) -> None:
    # A killed replica parked r-0..r-2, then its journal (still holding them and r-3) was
    # parked again by its successor; r-4 is in the log already from an earlier commit.
    log = Collector()
    spool.park(_batch("r", 3))
    spool.park(_batch("r", 5), replayed=True)

    def committed(table: pa.Table) -> set[str]:
        return {key for key in record_keys(table) if key.startswith("r-4\x00")}

    assert spool.commit(log, holder="a", committed=committed) == 4
    assert log.request_ids == ["r-0", "r-1", "r-2", "r-3"]  # each once, r-4 not again

    spool.park(_batch("r", 2), replayed=True)  # a later round: the log has them now
    written = set(log.request_ids)
    assert (
        spool.commit(
            log,
            holder="a",
            committed=lambda t: set(record_keys(t)) & {f"{rid}\x00primary" for rid in written},
        )
        == 0
    )
    assert spool.pending() == 0
