"""The metadata database contract suite: what :class:`Database` promises on every backend.

Run it against a database server by subclassing :class:`MetadataDatabaseContract` in a
test module under a name pytest collects, with a ``database_url`` fixture that yields the
URL of a fresh, empty database (one per test: the checks migrate it from nothing)::

    import pytest
    from podium.testing.metadata_database import MetadataDatabaseContract

    class TestMyPostgres(MetadataDatabaseContract):
        @pytest.fixture
        def database_url(self):
            url = create_an_empty_database()  # e.g. CREATE DATABASE on your server
            yield url
            drop_it(url)

The checks use the ``db`` fixture, a :class:`Database` on that URL already upgraded to
the newest migration. Each ``test_*`` method is one check, so a failure names the rule
that broke. The module needs nothing but podium (and the SQLAlchemy it installs); pytest
only runs it.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError as ConstraintViolation
from sqlalchemy.exc import StatementError

from podium.access.tables import ApiKeyRow, AuditRow, ProjectRow
from podium.errors import InvalidInputError
from podium.store.database import Database

__all__ = ["MetadataDatabaseContract"]

CORE_TABLES = {
    "alembic_version",
    "projects",
    "api_keys",
    "audit_log",
    "experiments",
    "runs",
    "params",
    "tags",
    "metrics",
    "latest_metrics",
    "run_artifacts",
    "run_inputs",
    "events_outbox",
    "registered_models",
    "model_versions",
}
"""Tables the migrations create (a sample across areas; the rest are theirs to test)."""

ODD_TEXT = [
    "ünïcödé 表 🙂",
    "quote\"d and apo'strophe and back\\slash",
    "semi;colon; DROP TABLE projects; --",
    "line\nbreak\ttab",
    "%s %(x)s ? :name $1",
    "",
]
"""Text that a careless query builder or driver mangles; it must come back unchanged."""


def _upgrade(url: str) -> str:
    """Upgrade the database at ``url`` in this process (a child process's entry point)."""
    db = Database(url)
    try:
        return db.upgrade()
    finally:
        db.dispose()


def _add_project(db: Database, name: str) -> int:
    with db.write() as session:
        row = ProjectRow(name=name)
        session.add(row)
        session.flush()
        return row.id


def _project_names(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.scalars(select(ProjectRow.name)))


class MetadataDatabaseContract:
    """Checks every metadata database passes; subclass with a ``database_url`` fixture."""

    @pytest.fixture
    def db(self, database_url: str) -> Iterator[Database]:
        """A :class:`Database` on ``database_url``, migrated to the newest revision."""
        db = Database(database_url)
        db.upgrade()
        yield db
        db.dispose()

    # --- migrations ---------------------------------------------------------------------

    def test_revision_is_empty_before_the_first_upgrade(self, database_url: str) -> None:
        db = Database(database_url)
        try:
            assert db.revision() == ""
        finally:
            db.dispose()

    def test_migrations_apply_from_empty_and_are_idempotent(self, database_url: str) -> None:
        db = Database(database_url)
        try:
            first = db.upgrade()
            assert first != ""
            assert db.upgrade() == db.revision() == first
            assert set(inspect(db.engine).get_table_names()) >= CORE_TABLES
        finally:
            db.dispose()
        again = Database(database_url)  # a new process-like view sees the same revision
        try:
            assert again.revision() == first
            assert again.upgrade() == first
        finally:
            again.dispose()

    def test_an_upgrade_keeps_the_rows(self, db: Database) -> None:
        _add_project(db, "kept")
        db.upgrade()
        assert _project_names(db) == ["kept"]

    def test_several_processes_can_upgrade_at_once(self, database_url: str) -> None:
        context = multiprocessing.get_context("spawn")
        with context.Pool(3) as pool:
            revisions = pool.map(_upgrade, [database_url] * 3)
        assert len(set(revisions)) == 1 and revisions[0] != ""

    # --- sessions -----------------------------------------------------------------------

    def test_a_write_commits_on_exit(self, db: Database, database_url: str) -> None:
        project_id = _add_project(db, "committed")
        with db.read() as session:
            assert session.get(ProjectRow, project_id) is not None
        other = Database(database_url)
        try:
            assert _project_names(other) == ["committed"]
        finally:
            other.dispose()

    def test_a_write_rolls_back_on_any_error(self, db: Database) -> None:
        class Boom(Exception):
            pass

        with pytest.raises(Boom), db.write() as session:
            session.add(ProjectRow(name="never"))
            session.flush()
            raise Boom
        assert _project_names(db) == []

    def test_a_read_commits_nothing(self, db: Database) -> None:
        with db.read() as session:
            session.add(ProjectRow(name="discarded"))
            session.flush()
        assert _project_names(db) == []

    def test_a_unique_violation_rolls_back_the_whole_write(self, db: Database) -> None:
        _add_project(db, "taken")
        with pytest.raises(ConstraintViolation), db.write() as session:
            session.add(ProjectRow(name="innocent bystander"))
            session.flush()
            session.add(ProjectRow(name="taken"))
            session.flush()
        assert _project_names(db) == ["taken"]
        _add_project(db, "next")  # the database is usable afterwards
        assert _project_names(db) == ["next", "taken"]

    def test_foreign_keys_are_enforced(self, db: Database) -> None:
        with pytest.raises(ConstraintViolation), db.write() as session:
            session.add(ApiKeyRow(id="k1", project_id=987_654, role="reader", secret_sha256=""))
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(ApiKeyRow)) == 0

    # --- concurrency --------------------------------------------------------------------

    def test_concurrent_writers_lose_no_rows(self, db: Database) -> None:
        writers, each = 6, 15
        failures: list[BaseException] = []
        start = threading.Barrier(writers)

        def work(writer: int) -> None:
            try:
                start.wait()
                for i in range(each):
                    _add_project(db, f"w{writer}-{i}")
            except BaseException as exc:  # reported by the main thread below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a writer hung"
        assert failures == []
        expected = sorted(f"w{w}-{i}" for w in range(writers) for i in range(each))
        assert _project_names(db) == expected

    def test_a_reader_never_sees_an_uncommitted_write(self, db: Database) -> None:
        written = threading.Event()
        release = threading.Event()

        def slow_writer() -> None:
            with db.write() as session:
                session.add(ProjectRow(name="pending"))
                session.flush()
                written.set()
                release.wait(timeout=30)

        thread = threading.Thread(target=slow_writer)
        thread.start()
        try:
            assert written.wait(timeout=30)
            assert _project_names(db) == []
        finally:
            release.set()
            thread.join(timeout=30)
        assert _project_names(db) == ["pending"]

    # --- values -------------------------------------------------------------------------

    def test_timestamps_come_back_timezone_aware_in_utc(self, db: Database) -> None:
        plus_five = timezone(timedelta(hours=5, minutes=30))
        moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=plus_five)
        with db.write() as session:
            row = ProjectRow(name="timed", created_at=moment)
            session.add(row)
            session.flush()
            project_id = row.id
        with db.read() as session:
            stored = session.get(ProjectRow, project_id)
            assert stored is not None
            assert stored.created_at == moment
            assert stored.created_at.utcoffset() == timedelta(0)
            assert stored.created_at.astimezone(UTC) == stored.created_at

    def test_a_default_timestamp_is_now_in_utc(self, db: Database) -> None:
        before = datetime.now(UTC) - timedelta(seconds=1)
        project_id = _add_project(db, "now")
        with db.read() as session:
            stored = session.get(ProjectRow, project_id)
            assert stored is not None
            assert stored.created_at.utcoffset() == timedelta(0)
            assert before <= stored.created_at <= datetime.now(UTC) + timedelta(seconds=1)

    def test_a_naive_timestamp_is_refused(self, db: Database) -> None:
        naive = datetime(2024, 1, 1)
        with pytest.raises((ValueError, StatementError), match="naive"), db.write() as session:
            session.add(ProjectRow(name="naive", created_at=naive))
        assert _project_names(db) == []

    def test_timestamps_order_across_zones(self, db: Database) -> None:
        base = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        zones = [timezone(timedelta(hours=h)) for h in (-8, 0, 9)]
        # The same order of instants, written in three different zones.
        for i, zone in enumerate(zones):
            with db.write() as session:
                moment = (base + timedelta(minutes=i)).astimezone(zone)
                session.add(ProjectRow(name=f"t{i}", created_at=moment))
        with db.read() as session:
            names = list(session.scalars(select(ProjectRow.name).order_by(ProjectRow.created_at)))
        assert names == ["t0", "t1", "t2"]

    def test_text_round_trips_unchanged(self, db: Database) -> None:
        ids = {}
        for i, text in enumerate(ODD_TEXT):
            with db.write() as session:
                row = ProjectRow(name=f"p{i}", description=text)
                session.add(row)
                session.flush()
                ids[row.id] = text
        with db.read() as session:
            for project_id, text in ids.items():
                stored = session.get(ProjectRow, project_id)
                assert stored is not None and stored.description == text
            found = session.scalars(
                select(ProjectRow.id).where(ProjectRow.description == ODD_TEXT[2])
            ).all()
            assert found == [next(k for k, v in ids.items() if v == ODD_TEXT[2])]

    def test_json_columns_round_trip(self, db: Database) -> None:
        detail = {
            "text": "ünïcödé 表 🙂 \"q\" \\ 'x'",
            "numbers": [0, -1, 2**53, 1.5, -0.25],
            "flags": [True, False, None],
            "nested": {"a": {"b": ["c", {"d": []}]}, "empty": {}},
            "ключ": "значение",
        }
        project_id = _add_project(db, "json")
        with db.write() as session:
            row = AuditRow(
                project_id=project_id, actor="a", action="b", outcome="ok", detail=detail
            )
            session.add(row)
            session.flush()
            audit_id = row.id
        with db.read() as session:
            stored = session.get(AuditRow, audit_id)
            assert stored is not None
            assert stored.detail == detail

    def test_a_value_the_database_cannot_hold_is_invalid_input(self, db: Database) -> None:
        # A backend may store a NUL in text or not; if it refuses, it says so clearly,
        # and nothing of the write is kept.
        try:
            project_id = _add_project(db, "nul\x00byte")
        except InvalidInputError as exc:
            assert exc.code == "invalid-input" and exc.remedy
            assert _project_names(db) == []
        else:
            with db.read() as session:
                stored = session.get(ProjectRow, project_id)
                assert stored is not None and stored.name == "nul\x00byte"
